// The module C API's value functions, through tests/modules/apitest.c.
import * as assert from './assert.js';
import * as api from 'apitest';

assert.equal(api.echo('x'), 'x');
const o = {};
assert.equal(api.echo(o), o);
const types = [[undefined, 'undefined'], [null, 'null'], [true, 'boolean'], [1.5, 'number'],
  [10n, 'bigint'], ['s', 'string'], [Symbol('x'), 'symbol'], [() => 1, 'function'], [[1], 'array'],
  [new ArrayBuffer(1), 'arraybuffer'], [new Uint16Array(1), 'typedarray'],
  [new DataView(new ArrayBuffer(2)), 'typedarray'], [{}, 'object'], [new Map(), 'object']];
for (const [v, t] of types) assert.equal(api.typeOf(v), t, `typeOf ${String(t)}`);

assert.equal(api.add(0.1, 0.2), 0.1 + 0.2);
assert.equal(api.int64(2 ** 53), 2n ** 53n);
assert.equal(api.int64(-5), -5n);
assert.equal(api.int64(2n ** 62n), 2n ** 62n);
assert.throws(() => api.int64(1.5), TypeError);
assert.throws(() => api.int64(2 ** 64), TypeError);
// The ends of the range, and numbers outside it (checked before any
// conversion: SAN=undefined fails on a double out of int64's range cast).
assert.equal(api.int64(-(2 ** 63)), -(2n ** 63n));
assert.throws(() => api.int64(2 ** 63), TypeError);
assert.throws(() => api.int64(-(2 ** 64)), TypeError);
for (const v of [NaN, Infinity, -Infinity]) assert.throws(() => api.int64(v), TypeError);
assert.throws(() => api.int64(2n ** 64n), TypeError);
assert.equal(api.upper('héllo wörld'), 'HéLLO WöRLD');
assert.equal(api.upper(''), '');

assert.deepEqual(api.makeObject(), { n: 1, s: 'two', arr: [1, 2, 3], nested: { ok: true, nothing: null, undef: undefined } });
assert.equal(api.getProp({ a: 7 }, 'a'), 7);
assert.equal(api.getProp({}, 'a'), undefined);
const err = assert.throws(() => api.getProp({ get a() { throw new Error('getter'); } }, 'a'));
assert.equal(err.message, 'getter');
assert.equal(api.getIndex([5, 6], 1), 6);

assert.deepEqual(api.toUtf8('hello', 3), ['he', 5]);
assert.deepEqual(api.toUtf8(12, 10), ['12', 2]);
assert.deepEqual(api.toUtf8('€', 10), ['€', 3]);
assert.equal(api.toBool(''), false);
assert.equal(api.toBool('x'), true);
assert.equal(api.toNumber(3), 3);
assert.ok(Number.isNaN(api.toNumber('3')));
assert.equal(api.data(), 'the data pointer');
