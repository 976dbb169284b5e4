// Big messages to a helper and back, checked byte for byte by checksum, in
// bounded time: a 64 MiB Uint8Array, a 200 MiB one (reassembly was
// quadratic: 64 MiB took 37 s, 128 MiB never arrived), an object holding
// 64 MiB, and a 40 MiB string. The helper's replies are objects (the
// general path), the Uint8Arrays going out are sent from their own bytes.
import * as assert from './assert.js';
import { fork } from 'helper';

const echo = `${import.meta.dirname}/fixtures/helper-echo.js`;
const MiB = 1 << 20;

// xorshift32 over the whole buffer, and an FNV-like sum to check it by.
function fill(bytes, seed) {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
  let x = seed;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    words[i] = x;
  }
  for (let i = words.length * 4; i < bytes.length; i++) bytes[i] = i;
  return bytes;
}
function checksum(bytes) {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i], 0x01000193);
  for (let i = words.length * 4; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

const h = fork(echo);
const ended = new Promise((resolve) => { h.onExit = (...a) => resolve(a); });
const replies = [];
let waiting = null;
h.onMessage = (m) => { replies.push(m); if (waiting !== null) waiting(); };
async function roundTrip(value, what) {
  const t0 = Date.now();
  const n = replies.length;
  assert.equal(h.send(value), 0);
  while (replies.length === n) await new Promise((resolve) => { waiting = resolve; });
  waiting = null;
  const ms = Date.now() - t0;
  assert.ok(ms < 20000, `${what}: ${ms} ms`);
  return replies[n].echo;
}

for (const [size, seed] of [[64 * MiB, 1], [200 * MiB + 3, 2]]) {
  const data = fill(new Uint8Array(size), seed);
  const sum = checksum(data);
  const back = await roundTrip(data, `${size} bytes`);
  assert.ok(back instanceof Uint8Array && back.length === size, `${size} bytes came back as ${back.length}`);
  assert.equal(back.byteOffset, 0);
  assert.equal(back.buffer.byteLength, size, 'a buffer of its own');
  assert.equal(checksum(back), sum, `${size} bytes: checksum`);
}

const data = fill(new Uint8Array(64 * MiB), 3);
const back = await roundTrip({ name: 'object', data }, 'an object of 64 MiB');
assert.equal(back.name, 'object');
assert.equal(checksum(back.data), checksum(data));

const text = 'dv8 helper \u00e9\u4e2d '.repeat(40 * MiB / 16);
assert.equal(await roundTrip(text, 'a 40 MiB string'), text);

h.send('bye');
assert.deepEqual(await ended, [0, null, 0, null]);
