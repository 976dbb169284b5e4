// A listener that stops listening part way through a batch of messages
// (onMessage = null inside onMessage) loses nothing: the rest of the batch
// waits in the channel and comes, in order, once onMessage is set again.
// Both ways: the parent stops listening to its thread, and a thread to
// its parent.
import * as assert from './assert.js';
import { spawn } from 'thread';

const t = spawn(async () => {
  const { parent } = await import('thread');
  for (let i = 0; i < 100; i++) parent.send(i); // one batch
  const got = [];
  await new Promise((resolve) => {
    const listen = (m) => {
      got.push(m);
      if (got.length === 100) {
        parent.onMessage = null;
        resolve();
      } else if (got.length % 25 === 0) { // stop, then listen again later
        parent.onMessage = null;
        setTimeout(() => { parent.onMessage = listen; }, 5);
      }
    };
    parent.onMessage = listen;
  });
  return got;
});
const got = [];
let allArrived;
const arrived = new Promise((resolve) => { allArrived = resolve; });
const listen = (m) => {
  got.push(m);
  if (got.length === 100) allArrived();
  if (got.length === 10 || got.length === 55) {
    t.onMessage = null;
    setTimeout(() => { t.onMessage = listen; }, 5);
  }
};
t.onMessage = listen;
for (let i = 0; i < 100; i++) t.send(i);
const { code, result, error } = await t.join();
// The thread may end while this side is between two listeners (the 5 ms
// pause): what it sent is still delivered once onMessage is set again.
await Promise.race([arrived, new Promise((resolve) => setTimeout(resolve, 5000))]);
assert.equal(error, null);
assert.equal(code, 0);
const all = Array.from({ length: 100 }, (_, i) => i);
assert.deepEqual(got, all, 'the parent got every message, in order');
assert.deepEqual(result, all, 'the thread got every message, in order');

// The thread ends while the parent's listener is paused with some of its
// messages undelivered: they still come, in order, and the exit after
// them (the pause outlasts the thread for sure).
{
  const u = spawn(async () => {
    const { parent } = await import('thread');
    for (let i = 0; i < 50; i++) parent.send(i);
    return 'done';
  });
  const seen = [];
  let exitedAfter = -1;
  const ended = new Promise((resolve) => {
    u.onExit = (code, result) => {
      exitedAfter = seen.length;
      resolve({ code, result });
    };
  });
  const take = (m) => {
    seen.push(m);
    if (seen.length === 20) {
      u.onMessage = null;
      setTimeout(() => { u.onMessage = take; }, 300);
    }
  };
  u.onMessage = take;
  const { code, result } = await ended;
  assert.equal(code, 0);
  assert.equal(result, 'done');
  assert.deepEqual(seen, Array.from({ length: 50 }, (_, i) => i), 'every message of a thread that ended during the pause');
  assert.equal(exitedAfter, 50, 'the exit came after the messages');
}
