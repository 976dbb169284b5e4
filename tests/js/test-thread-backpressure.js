// A full channel says so: with the thread busy and a 64 KiB queue, sends
// fail with EFULL at the bound (plus the one batch the sender may hold:
// 16 KiB), onDrain fires once the thread empties the queue, and every
// message accepted arrives.
import * as assert from './assert.js';
import { spawn, EFULL } from 'thread';

const thread = spawn(async () => {
  const { parent } = await import('thread');
  const until = Date.now() + 300;
  while (Date.now() < until); // busy: nothing is read meanwhile
  let got = 0;
  let sum = 0;
  return new Promise((resolve) => {
    parent.onMessage = (m) => {
      if (m === 'end') {
        parent.onMessage = null;
        resolve({ got, sum });
        return;
      }
      got++;
      sum += m.n;
    };
  });
}, { queueLimit: 65536 });

const payload = 'x'.repeat(1000);
let accepted = 0;
let sum = 0;
let rc;
while ((rc = thread.send({ n: accepted, payload })) === 0) {
  sum += accepted;
  accepted++;
}
assert.equal(rc, EFULL);
// About 64 KiB of ~1 KiB messages, plus at most one held 16 KiB batch.
assert.ok(accepted >= 50 && accepted <= 64 + 17, `accepted ${accepted} before EFULL`);
assert.equal(thread.send({ n: -1, payload }), EFULL, 'still full');
await new Promise((resolve) => { thread.onDrain = resolve; });
assert.equal(thread.send('end'), 0, 'room again after drain');
const result = await new Promise((resolve) => {
  thread.onExit = (code, value, error) => resolve({ code, value, error });
});
assert.equal(result.error, null);
assert.equal(result.code, 0);
assert.deepEqual(result.value, { got: accepted, sum });

// A thread that ends while the channel is full: what it was told was
// accepted (including a batch held back for room) still arrives; the held
// batch keeps the thread alive until it has gone.
const producer = spawn(async () => {
  const { parent, EFULL } = await import('thread');
  let accepted = 0;
  while (parent.send({ n: accepted }) !== EFULL) accepted++;
  return accepted;
}, { queueLimit: 8192 });
await new Promise((resolve) => setTimeout(resolve, 200)); // the producer fills up
let received = 0;
let inOrder = true;
producer.onMessage = (m) => { if (m.n !== received) inOrder = false; received++; };
const end = await producer.join();
assert.equal(end.code, 0);
assert.ok(end.result > 100, `accepted ${end.result}`);
assert.equal(received, end.result, 'every accepted message arrived');
assert.ok(inOrder);
