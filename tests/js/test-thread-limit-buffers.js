// heapLimitMb counts ArrayBuffers and typed arrays with the JS heap: a
// thread limited to 32 MiB that keeps allocating buffers ends with the
// RangeError naming its limit, the process's memory staying bounded, and
// the parent goes on. Buffers let go of are found by the garbage collector
// before anything is refused: a thread that allocates and drops many times
// its limit never ends of it.
import * as assert from './assert.js';
import * as fs from 'fs';
import { spawn } from 'thread';

const peakMiB = () => Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
const startMiB = dv8.memoryUsage().rss / 1048576;

// Each keeps what it allocates (written, so that the pages are real), at
// most 256 MiB of it: without the limit the thread would return 'kept all'.
const keepers = {
  ArrayBuffer: () => { const b = new ArrayBuffer(1 << 20); new Uint8Array(b).fill(1); return b; },
  Uint8Array: () => new Uint8Array(1 << 20).fill(2),
  Float64Array: () => new Float64Array(1 << 17).fill(3),
  slice: () => new Uint8Array(1 << 20).fill(4).buffer.slice(0),
};
for (const [name, make] of Object.entries(keepers)) {
  const t0 = performance.now();
  const r = await spawn(new Function(`
    const keep = [];
    for (let i = 0; i < 256; i++) keep.push((${make})());
    return 'kept all';`), { heapLimitMb: 32 }).join();
  assert.equal(r.code, 1, `${name}: ${r.result}`);
  assert.ok(r.error instanceof RangeError, `${name}: ${r.error}`);
  assert.ok(/^thread heap limit of 32 MiB reached \(ArrayBuffers: [\d.]+ MiB held, [\d.]+ MiB more asked for; JS heap: [\d.]+ MiB\)$/.test(r.error.message),
    `${name}: ${r.error.message}`);
  const held = Number(/ArrayBuffers: ([\d.]+) MiB/.exec(r.error.message)[1]);
  assert.ok(held > 24 && held <= 32, `${name}: ${held} MiB held`);
  assert.ok(performance.now() - t0 < 10000, `${name} took ${performance.now() - t0} ms`);
}

// A buffer bigger than the whole limit, caught or not: the thread ends.
let r = await spawn(() => {
  try { return new ArrayBuffer(64 << 20).byteLength; } catch (err) { return `caught ${err}`; }
}, { heapLimitMb: 32 }).join();
assert.equal(r.code, 1, r.result);
assert.ok(/^thread heap limit of 32 MiB reached \(ArrayBuffers: [\d.]+ MiB held, 64\.0 MiB more asked for/.test(r.error.message), r.error.message);

// The JS heap counts: with 12 MiB of it live, buffers stop sooner.
r = await spawn(() => {
  const heap = Array.from({ length: 12 }, () => new Array(1 << 17).fill(1.5)); // 12 MiB of doubles
  const keep = [];
  for (let i = 0; i < 256; i++) keep.push(new Uint8Array(1 << 20).fill(1));
  return heap.length;
}, { heapLimitMb: 32 }).join();
assert.equal(r.code, 1);
const [, held, heap] = /ArrayBuffers: ([\d.]+) MiB held.*JS heap: ([\d.]+) MiB/.exec(r.error.message).map(Number);
assert.ok(heap >= 12 && held <= 32 - 12, r.error.message);

// No false alarm: many times the limit allocated and dropped, in buffers
// small and big (two of the biggest never fit at once: each needs the
// garbage collector to have freed the one before; made in a function of
// their own, as a buffer a function's frame still refers to is alive).
r = await spawn(() => {
  let sum = 0;
  for (let i = 0; i < 1500; i++) sum += new Uint8Array(1 << 20).fill(1)[7];
  for (let i = 0; i < 200; i++) sum += new ArrayBuffer(12 << 20).byteLength > 0 ? 1 : 0;
  const big = () => new Uint8Array(20 << 20).fill(1)[9];
  for (let i = 0; i < 60; i++) sum += big();
  const kept = [];
  for (let i = 0; i < 20; i++) kept.push(new ArrayBuffer(1 << 20)); // 20 MiB held, under the limit
  return sum + kept.length;
}, { heapLimitMb: 32 }).join();
assert.equal(r.code, 0, r.error && r.error.message);
assert.equal(r.result, 1500 + 200 + 60 + 20);

// The process stayed bounded throughout, and the parent goes on.
const peak = peakMiB();
assert.ok(peak - startMiB < 120, `peak RSS ${peak.toFixed(0)} MiB, ${startMiB.toFixed(0)} MiB at the start`);
if (!dv8.env.SAN) assert.ok(peak < 200, `peak RSS ${peak.toFixed(0)} MiB`);
r = await spawn((x) => x * 2, { args: [21] }).join();
assert.equal(r.result, 42);
