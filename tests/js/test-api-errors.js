// System errors have one shape: .code is the name, .errno the number, and
// the message names the code, its description and what failed.
import * as assert from './assert.js';
import * as api from 'apitest';

const e = api.sysError(-2);
assert.ok(e instanceof Error);
assert.equal(e.code, 'ENOENT');
assert.equal(e.errno, -2);
assert.equal(e.message, 'ENOENT: no such file or directory, while testing');
const t = assert.throws(() => api.throwSys(-111));
assert.equal(t.code, 'ECONNREFUSED');
assert.equal(api.errName(-30003), 'EABI');
assert.equal(api.errName(-4095), 'EOF');
assert.equal(api.errName(-99999), 'UNKNOWN');
assert.equal(api.strerror(-13), 'permission denied');

const r = assert.throws(() => api.throwRange(), RangeError);
assert.equal(r.message, 'out of range: far');
const thrown = { any: 'value' };
assert.equal(assert.throws(() => api.throwValue(thrown)), thrown);
assert.equal(assert.throws(() => api.throwValue(api.sysError(-9))).code, 'EBADF');
// A buffer too large to allocate is a RangeError, not a crash.
const big = assert.throws(() => api.newBuffer(2 ** 46), RangeError);
assert.ok(/cannot allocate an ArrayBuffer of \d+ bytes/.test(big.message), big.message);
