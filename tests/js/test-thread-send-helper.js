// A Helper in a thread message is refused, naming where it is: it carries
// its channel's state in this context's JS, which crosses a reload (in the
// state) but not a thread. Nothing is sent, and the helper goes on here.
import * as assert from './assert.js';
import { fork } from 'helper';
import { spawn } from 'thread';

const h = fork(new URL('./fixtures/helper-echo.js', import.meta.url).pathname);
const t = spawn(async () => {
  const { parent } = await import('thread');
  const got = [];
  await new Promise((resolve) => {
    parent.onMessage = (m) => {
      got.push(m);
      if (m === 'done') { parent.onMessage = null; resolve(); } // unlistened: the thread may end
    };
  });
  return got;
});
const err = assert.throws(() => t.send({ list: [1, h] }), /^value\.list\[1\]: a Helper cannot move to another thread$/);
assert.equal(err.name, 'SerdesError');
t.send('done');
const { result, error } = await t.join();
assert.equal(error, null);
assert.deepEqual(result, ['done'], 'nothing of the refused message was sent');
// The helper still answers here.
const echoed = new Promise((resolve) => { h.onMessage = resolve; });
h.send('still here');
const reply = await echoed;
assert.ok(JSON.stringify(reply).includes('still here'), JSON.stringify(reply));
const ended = new Promise((resolve) => { h.onExit = (code) => resolve(code); });
h.send('bye');
assert.equal(await ended, 0);
