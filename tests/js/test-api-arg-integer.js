// arg_integer: a number that is not an integer in range (NaN, Infinity, a
// fraction, past the bounds) is a RangeError, anything else a TypeError,
// each naming the function and the argument; integers in range come
// through exactly.
import * as assert from './assert.js';
import * as api from 'apitest';

for (const bad of [NaN, Infinity, -Infinity, -0.5, 1.5, 2 ** 63, -(2 ** 64)]) {
  const e = assert.throws(() => api.integer(bad), RangeError, `integer(${bad})`);
  assert.ok(e.message.startsWith('integer: argument 1 must be an integer from '), e.message);
  assert.ok(e.message.endsWith(`(got ${bad})`), e.message);
}
for (const bad of [undefined, null, '1', 1n, {}, [1], true]) {
  const e = assert.throws(() => api.integer(bad), TypeError, `integer(${String(bad)})`);
  assert.ok(e.message.startsWith('integer: argument 1 must be an integer (got '), e.message);
}
assert.throws(() => api.integer(), /^integer: argument 1 must be an integer \(got undefined\)$/);

// In range, the edges included; -0 is 0.
assert.equal(api.integer(0), 0);
assert.equal(api.integer(-0), 0);
assert.equal(api.integer(-7), -7);
assert.equal(api.integer(2 ** 53 - 1), 2 ** 53 - 1);
assert.equal(api.integer(-(2 ** 62)), -(2 ** 62));
assert.equal(api.integer(10, 0, 10), 10);
assert.equal(api.integer(0, 0, 10), 0);
assert.throws(() => api.integer(11, 0, 10), /^integer: argument 1 must be an integer from 0 to 10 \(got 11\)$/);
assert.throws(() => api.integer(-1, 0, 10), /^integer: argument 1 must be an integer from 0 to 10 \(got -1\)$/);
assert.throws(() => api.integer(9.5, 0, 10), RangeError);

// Functions of the module that take integers check them the same way.
assert.throws(() => api.fill(new Uint8Array(2), NaN), /^fill: argument 2 must be an integer from 0 to 255 \(got NaN\)$/);
assert.throws(() => api.getIndex([1], -1), RangeError);
assert.throws(() => api.newBuffer(1.5), RangeError);
assert.throws(() => api.u8(new ArrayBuffer(4), 0, NaN), RangeError);
assert.throws(() => api.errName(NaN), RangeError);
assert.throws(() => api.callLater(() => {}, NaN), /^callLater: argument 2 must be an integer/);
