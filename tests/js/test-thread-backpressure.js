// A full channel says so: with the thread busy and a 64 KiB queue, sends
// fail with EFULL at the bound (nothing is queued beyond it), onDrain fires
// once the thread empties the queue, and every message accepted arrives.
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
// About 64 KiB of ~1 KiB messages: the bound holds.
assert.ok(accepted >= 50 && accepted <= 64, `accepted ${accepted} before EFULL`);
assert.equal(thread.send({ n: -1, payload }), EFULL, 'still full');
await new Promise((resolve) => { thread.onDrain = resolve; });
assert.equal(thread.send('end'), 0, 'room again after drain');
const result = await new Promise((resolve) => {
  thread.onExit = (code, value, error) => resolve({ code, value, error });
});
assert.equal(result.error, null);
assert.equal(result.code, 0);
assert.deepEqual(result.value, { got: accepted, sum });
