// A buffer moved to another thread (send with transfer) counts against the
// receiver's memory limit once it arrives, and no longer against the
// sender's: a thread limited to 32 MiB moves out ten times that and goes
// on; a thread limited to 32 MiB that keeps 64 MiB moved in ends of its
// limit, and its parent goes on.
import * as assert from './assert.js';
import { spawn, ECLOSED } from 'thread';

const out = spawn(async () => {
  const { parent } = await import('thread');
  for (let i = 0; i < 40; i++) {
    const b = new ArrayBuffer(8 << 20);
    new Uint8Array(b).fill(i);
    while (parent.send(i, { transfer: [b] }) !== 0) await new Promise((resolve) => setTimeout(resolve, 1));
    if (b.byteLength !== 0) throw new Error('the buffer did not move');
  }
  return 'moved 320 MiB';
}, { heapLimitMb: 32 });
let got = 0;
out.onMessage = (i) => { assert.equal(i, got); got++; };
let r = await out.join();
assert.equal(r.code, 0, r.error && r.error.message);
assert.equal(r.result, 'moved 320 MiB');
assert.equal(got, 40);

const into = spawn(async () => {
  const { parent } = await import('thread');
  const keep = [];
  parent.onMessage = (buffer) => { keep.push(buffer); };
}, { heapLimitMb: 32 });
// The thread may end of its limit (at the fourth) before the last sends:
// those are ECLOSED.
let accepted = 0;
for (let i = 0; i < 8; i++) {
  const b = new ArrayBuffer(8 << 20);
  const rc = into.send({ i, b }, { transfer: [b] });
  if (rc === 0 && accepted === i) accepted++;
  else assert.equal(rc, ECLOSED);
}
assert.ok(accepted >= 4, `${accepted} sends accepted`);
// Without the limit the thread would keep them and run on.
const guard = setTimeout(() => { throw new Error('the thread kept 64 MiB under a limit of 32'); }, 10000);
r = await into.join();
clearTimeout(guard);
assert.equal(r.code, 1);
assert.ok(r.error instanceof RangeError);
assert.ok(/^thread heap limit of 32 MiB reached \(ArrayBuffers: 2[0-9]\.\d MiB held, 8\.0 MiB more asked for/.test(r.error.message), r.error.message);

// The parent (no limit) goes on, and can still move buffers.
const echo = spawn(async () => {
  const { parent } = await import('thread');
  parent.onMessage = (b) => { parent.send(b.byteLength); parent.onMessage = null; };
}, { heapLimitMb: 32 });
const b = new ArrayBuffer(16 << 20);
echo.send(b, { transfer: [b] });
const len = await new Promise((resolve) => { echo.onMessage = resolve; });
assert.equal(len, 16 << 20);
assert.equal((await echo.join()).code, 0);
