// The formatter behind console.log (dv8.inspect) shows values readably, as
// node's util.inspect does for common values.
import * as assert from './assert.js';

const i = dv8.inspect;
assert.equal(i({ a: 1, b: 'x' }), "{ a: 1, b: 'x' }");
assert.equal(i([1, 2, 3]), '[ 1, 2, 3 ]');
assert.equal(i(new Map([['a', 1]])), "Map(1) { 'a' => 1 }");
assert.equal(i(new Set([1, 2])), 'Set(2) { 1, 2 }');
assert.equal(i(null), 'null');
assert.equal(i(undefined), 'undefined');
assert.equal(i(-0), '-0');
assert.equal(i(12n), '12n');
assert.equal(i('str'), "'str'");
assert.equal(i(Symbol('s')), 'Symbol(s)');
assert.equal(i(function named() {}), '[Function: named]');
assert.equal(i(class K {}), '[class K]');
assert.equal(i({ a: { b: { c: { d: 1 } } } }), '{ a: { b: { c: [Object] } } }');
const cyc = { name: 'c' };
cyc.self = cyc;
assert.equal(i(cyc), "<ref *1> { name: 'c', self: [Circular *1] }");
const err = new TypeError('bad');
assert.ok(i(err).startsWith('TypeError: bad\n    at '), i(err));
assert.equal(i(new Uint8Array([1, 2])), 'Uint8Array(2) [ 1, 2 ]');
assert.equal(i(Promise.resolve(4)), 'Promise { 4 }');
assert.equal(i(new Promise(() => {})), 'Promise { <pending> }');
assert.equal(i(new Date(0)), '1970-01-01T00:00:00.000Z');
assert.equal(i(/re/g), '/re/g');
