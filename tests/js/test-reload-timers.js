// Timers cross a reload as Timeouts: one in unload()'s state arrives in
// load(state) as a Timeout and, bound with timeout.reload(callback), goes
// on with its schedule under the new code (the time it had left, its
// repeat); the old code's callbacks never run again. A timer the state
// does not hold, or one the new code does not bind, is cleared as before.
// A Timeout that has fired cannot be put in the state: that reload fails,
// saying where, and the old code goes on.
import * as assert from './assert.js';

let interval;
let oneShot;
let fired;
let old = true;
let tryFired = true;

export function load(state) {
  const guard = setTimeout(() => { throw new Error('the test stopped early'); }, 8000);
  if (state === undefined) return start(guard);
  old = false;
  clearTimeout(guard);
  const started = Date.now();
  for (const name of ['interval', 'oneShot', 'dropped'])
    assert.equal(typeof state[name].reload, 'function', `state.${name} is a Timeout`);
  let ticks = 0;
  const carried = state.interval.reload((tag) => {
    assert.equal(tag, 'new');
    ticks++;
  }, 'new');
  assert.equal(carried, state.interval);
  const dropped = state.dropped; // not bound: cleared when the new code takes over
  state.oneShot.reload(() => {
    const waited = Date.now() - started;
    // It had about 300 ms left of its 400 when the state was taken.
    assert.ok(waited >= 150 && waited < 390, `the one-shot kept its schedule: ${waited} ms`);
    assert.ok(ticks >= 3, `the interval goes on: ${ticks} ticks`);
    assert.throws(() => dropped.reload(() => {}), /has fired or been cleared/);
    assert.throws(() => carried.reload('x'), TypeError);
    assert.equal(dv8.reloadStats().failures, 1);
    clearInterval(carried);
    setTimeout(() => {
      assert.throws(() => state.oneShot.reload(() => {}), /has fired or been cleared/);
      assert.throws(() => carried.reload(() => {}), /has fired or been cleared/);
    }, 0);
  });
}

export function unload() {
  if (tryFired) return { fired };
  return { interval, oneShot, dropped: setInterval(() => { throw new Error('dropped ran'); }, 5) };
}

function start(guard) {
  interval = setInterval((tag) => {
    assert.ok(old, 'an old callback ran after the reload');
    assert.equal(tag, 'old');
  }, 30, 'old');
  oneShot = setTimeout(() => { throw new Error('the old one-shot ran'); }, 400);
  fired = setTimeout(() => {}, 1);
  setTimeout(() => {
    dv8.reload(); // fails: state.fired has fired
    setTimeout(() => {
      assert.ok(old, 'the old code goes on');
      assert.equal(dv8.reloadStats().failures, 1);
      tryFired = false;
      clearTimeout(guard);
      dv8.reload();
    }, 50);
  }, 50);
}
