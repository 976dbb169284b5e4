// Calling JS from C: synchronously inside a JS call (exceptions propagate to
// the caller) and later from a libuv callback through a kept reference.
import * as assert from './assert.js';
import * as api from 'apitest';

assert.equal(api.callNow((a, b) => a + b, 2, 3), 5);
const recv = { k: 9, f() { return this.k; } };
assert.equal(api.callNow.call(recv, recv.f), 9, 'this is passed through');
const err = assert.throws(() => api.callNow(() => { throw new SyntaxError('inner'); }), SyntaxError);
assert.equal(err.message, 'inner');

const got = await new Promise((resolve) => {
  const id = api.callLater(resolve, 5, { payload: [1, 2] });
  assert.equal(api.handleType(id), 'apitest-later', 'registered in the handle table');
});
assert.deepEqual(got, { payload: [1, 2] });

// Microtasks queued by a callback from libuv run before the next event.
const order = [];
await new Promise((resolve) => {
  api.callLater(() => {
    Promise.resolve().then(() => order.push('microtask'));
    order.push('callback');
  }, 1);
  setTimeout(() => { order.push('timer'); resolve(); }, 20);
});
assert.deepEqual(order, ['callback', 'microtask', 'timer']);
