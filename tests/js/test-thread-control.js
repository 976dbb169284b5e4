// Control: join() settles with the thread's end (also when asked after
// it); a signal reaches the thread ahead of queued messages and is not
// held back by a full queue; threads signal their parent too; unref()
// lets the process end without waiting for a thread.
import * as assert from './assert.js';
import { spawn, EFULL, ECLOSED } from 'thread';

let r = await spawn((x) => x + 1, { args: [1] }).join();
assert.deepEqual(r, { code: 0, result: 2, error: null });

// A busy thread with a full queue still gets the signal, first, even
// ahead of messages the parent accepted but holds back (a full channel).
const t = spawn(async () => {
  const { parent } = await import('thread');
  const seen = [];
  parent.onSignal = (name) => seen.push(`signal:${name}`);
  const until = Date.now() + 200;
  while (Date.now() < until); // messages and the signal pile up
  parent.signal('hello-parent');
  return new Promise((resolve) => {
    parent.onMessage = (m) => {
      seen.push(m);
      if (m === 'end') { parent.onMessage = null; resolve(seen); }
    };
  });
}, { queueLimit: 1024 });
let sent = 0;
while (t.send(`m${sent}`) === 0) sent++;
assert.equal(t.send('one more'), EFULL);
assert.equal(t.signal('stop'), 0, 'a signal is not bounded');
const fromThread = [];
t.onSignal = (name) => fromThread.push(name);
await new Promise((resolve) => { t.onDrain = resolve; });
assert.equal(t.send('end'), 0);
r = await t.join();
assert.equal(r.code, 0);
assert.equal(r.result[0], 'signal:stop', `signal first: ${r.result.slice(0, 3)}`);
assert.deepEqual(r.result.slice(1), [...Array.from({ length: sent }, (_, i) => `m${i}`), 'end']);
assert.deepEqual(fromThread, ['hello-parent']);
assert.equal(t.signal('late'), ECLOSED);
assert.deepEqual(await t.join(), r, 'join after the end');
assert.throws(() => t.signal(1), TypeError);

// Messages wait in the channel until a side listens: the thread sets
// onMessage only after a timer, the parent only after a while (but before
// the thread ends: at its end, what its parent never listened for is
// dropped with the channel); none lost.
const late = spawn(async () => {
  const { parent } = await import('thread');
  await new Promise((resolve) => setTimeout(resolve, 100));
  const got = [];
  for (let i = 0; i < 5; i++) parent.send(`up${i}`);
  return new Promise((resolve) => {
    parent.onMessage = (m) => {
      got.push(m);
      if (m === 'finish') { parent.onMessage = null; resolve(got); }
    };
  });
});
for (let i = 0; i < 5; i++) assert.equal(late.send(`down${i}`), 0);
await new Promise((resolve) => setTimeout(resolve, 300));
const up = [];
late.onMessage = (m) => up.push(m);
assert.equal(late.send('finish'), 0);
r = await late.join();
assert.deepEqual(r.result, ['down0', 'down1', 'down2', 'down3', 'down4', 'finish']);
assert.deepEqual(up, ['up0', 'up1', 'up2', 'up3', 'up4']);

// A thread's dv8.exit(n) ends the thread with code n, not the process.
const exiter = spawn(() => { dv8.exit(7); return 'never'; });
r = await exiter.join();
assert.equal(r.code, 7);
assert.equal(r.result, undefined);
assert.equal(exiter.exitCode, 7);
