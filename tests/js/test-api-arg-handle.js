// arg_handle: an id is an integer from 1 to 2^53 - 1; any other number
// (NaN, Infinity, a fraction, 0 or negative, past 2^53 - 1) is a RangeError
// and anything else a TypeError, each naming the function and the argument.
// An id no open handle has is no error: the function says so (undefined).
import * as assert from './assert.js';
import * as api from 'apitest';

const range = /^handleType: argument 1 must be a handle id from 1 to 9007199254740991 \(got .*\)$/;
for (const bad of [NaN, Infinity, -Infinity, -0.5, 1.5, 0, -1, -(2 ** 53), 2 ** 53, 2 ** 64]) {
  const e = assert.throws(() => api.handleType(bad), RangeError, `handleType(${bad})`);
  assert.ok(range.test(e.message), e.message);
}
for (const bad of [undefined, null, '1', 1n, {}, [1]]) {
  const e = assert.throws(() => api.handleType(bad), TypeError, `handleType(${String(bad)})`);
  assert.ok(/^handleType: argument 1 must be a handle id \(got \w+\)$/.test(e.message), e.message);
}

// Ids in range that no open handle has.
assert.equal(api.handleType(1e15), undefined);
assert.equal(api.handleType(2 ** 53 - 1), undefined);

await new Promise((resolve) => {
  const id = api.callLater(resolve, 1);
  assert.equal(api.handleType(id), 'apitest-later');
});
