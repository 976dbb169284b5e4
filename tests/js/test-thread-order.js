// 1,000,000 sequenced messages to a thread arrive in order, none lost; the
// sender honours back-pressure (EFULL, then onDrain) whenever it outruns
// the thread, so memory stays bounded; the thread's replies come back in
// order too.
import * as assert from './assert.js';
import { spawn, EFULL } from 'thread';

const N = 1000000;
const thread = spawn(async (n) => {
  const { parent } = await import('thread');
  return new Promise((resolve) => {
  let expected = 0;
  let bad = -1;
  parent.onMessage = (m) => {
    if (m.seq !== expected && bad < 0) bad = expected;
    expected++;
    if (expected % 100000 === 0) parent.send({ seen: expected });
    if (expected === n) {
      parent.onMessage = null;
      resolve({ expected, bad });
    }
  };
  });
}, { args: [N] });

const replies = [];
thread.onMessage = (m) => replies.push(m.seen);
const exit = new Promise((resolve) => {
  thread.onExit = (code, result, error) => resolve({ code, result, error });
});

let seq = 0;
let full = 0;
let maxRss = 0;
await new Promise((resolve) => {
  const pump = () => {
    while (seq < N) {
      const rc = thread.send({ seq, name: 'message' });
      if (rc === EFULL) {
        full++;
        maxRss = Math.max(maxRss, dv8.memoryUsage().rss);
        return; // onDrain calls pump again
      }
      assert.equal(rc, 0);
      seq++;
    }
    resolve();
  };
  thread.onDrain = pump;
  pump();
});
const { code, result, error } = await exit;
assert.equal(error, null);
assert.equal(code, 0);
assert.deepEqual(result, { expected: N, bad: -1 });
assert.deepEqual(replies, [100000, 200000, 300000, 400000, 500000, 600000, 700000, 800000, 900000, 1000000]);
assert.ok(maxRss < 200 * 1024 * 1024, `RSS while full: ${maxRss}`);
