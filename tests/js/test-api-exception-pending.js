// exception_pending (ABI 3) says whether one of the module's API calls left
// an exception pending: true after a getter threw through dv8->get; false
// after a get or a call whose JS threw and caught inside (even when what
// threw was a native function); false at the start of every call.
import * as assert from './assert.js';
import * as api from 'apitest';

const boom = new Error('from the getter');
const throwing = { get x() { throw boom; } };
assert.equal(assert.throws(() => api.pendingAfterGet(throwing, 'x')), boom);
assert.equal(api.lastPending(), true, 'after a getter threw');
assert.equal(api.pendingAtStart(), false, 'a new call starts with nothing pending');

assert.equal(api.pendingAfterGet({ x: 1 }, 'x'), 1);
assert.equal(api.lastPending(), false, 'after a get that worked');

// The getter calls a native function that throws, and catches it.
const catching = {
  get x() {
    try { api.throwType(); } catch { return 'caught'; }
    return 'not thrown';
  },
};
assert.equal(api.pendingAfterGet(catching, 'x'), 'caught');
assert.equal(api.lastPending(), false, 'after a get whose getter caught a native throw');

assert.equal(api.pendingAfterCall(() => {
  try { throw new Error('inside'); } catch { return 1; }
}), 1);
assert.equal(api.lastPending(), false, 'after a call that threw and caught inside');
assert.equal(api.pendingAfterCall(() => {
  try { api.throwRange(); } catch { return 2; }
}), 2);
assert.equal(api.lastPending(), false, 'after a call that caught a native throw');

const err = assert.throws(() => api.pendingAfterCall(() => api.throwType()), TypeError);
assert.equal(err.message, 'bad thing number 42');
assert.equal(api.lastPending(), true, 'after a call that threw');
assert.equal(api.pendingAtStart(), false);

// From a libuv callback (callLater's timer), a call starts clean too.
const seen = await new Promise((resolve) => {
  try { api.throwType(); } catch {}
  api.callLater(() => resolve(api.pendingAtStart()), 1);
});
assert.equal(seen, false, 'a call from a libuv callback starts with nothing pending');
