// serdes refuses what it cannot carry with an error naming the path of the
// bad value; cycles and depth give clear errors (never a stack overflow);
// bad arguments throw TypeError.
import * as assert from './assert.js';
import { encode, decode, encodeInto, SerdesError, DEFAULT_DEPTH, MAX_DEPTH } from 'serdes';

const refuse = (value, re, options) => {
  const err = assert.throws(() => encode(value, options), SerdesError);
  assert.ok(re.test(err.message), `message ${JSON.stringify(err.message)} does not match ${re}`);
  assert.equal(err.code, 'ESERDES');
  return err;
};

const state = { users: [{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd', onData() {} }] };
const err = refuse(state, /^state\.users\[3\]\.onData: cannot serialize a function$/, { name: 'state' });
assert.equal(err.path, 'state.users[3].onData');
refuse({ s: Symbol('x') }, /^value\.s: cannot serialize a symbol$/);
refuse({ w: new WeakMap() }, /^value\.w: cannot serialize a WeakMap$/);
refuse({ w: new WeakSet() }, /^value\.w: cannot serialize a WeakSet$/);
refuse({ r: new WeakRef({}) }, /^value\.r: cannot serialize a WeakRef$/);
refuse({ p: Promise.resolve() }, /^value\.p: cannot serialize a Promise$/);
refuse({ list: [1, new Proxy({}, {})] }, /^value\.list\[1\]: cannot serialize a Proxy$/);
refuse({ list: [new Proxy([], {})] }, /^value\.list\[0\]: cannot serialize a Proxy$/);
refuse({ m: new Proxy(new Map(), {}) }, /^value\.m: cannot serialize a Proxy$/);
// The list of walked objects is reused between encodes: a Proxy is found
// after a bigger encode and a smaller one, at the first and last place.
const many = (n, at) => Array.from({ length: n }, (_, i) => (i === at ? new Proxy({}, {}) : { i }));
assert.equal(decode(encode(many(3000, -1))).length, 3000);
refuse({ a: {}, b: {}, c: new Proxy({}, {}) }, /^value\.c: cannot serialize a Proxy$/); // 4 objects: fixed arguments
refuse(many(5, 4), /^value\[4\]: cannot serialize a Proxy$/);
refuse(many(3000, 0), /^value\[0\]: cannot serialize a Proxy$/);
refuse(many(20000, 19999), /^value\[19999\]: cannot serialize a Proxy$/);
assert.equal(decode(encode(many(2, -1))).length, 2);
refuse(new Map([['k', () => 1]]), /^value\.get\("k"\): cannot serialize a function$/);
refuse(new Map([[Symbol.iterator, 1]]), /^value\.keys\(\)\[0\]: cannot serialize a symbol$/);
refuse(new Set([1, 2, () => 1]), /^value\.values\(\)\[2\]: cannot serialize a function$/);
refuse({ 'odd key': [() => 1] }, /^value\["odd key"\]\[0\]: cannot serialize a function$/);
refuse(() => 1, /^value: cannot serialize a function$/);
const withCause = new Error('x', { cause: { f() {} } });
refuse(withCause, /^value\.cause\.f: cannot serialize a function$/);

// Cycles: a clear error with both ends of the cycle.
const a = { b: { c: {} } };
a.b.c.back = a.b;
refuse(a, /^state\.b\.c\.back: cyclic reference to state\.b \(cycles cannot be serialized\)$/, { name: 'state' });
const self = [];
self.push(self);
refuse(self, /^value\[0\]: cyclic reference to value /);
const m = new Map();
m.set('me', m);
refuse(m, /^value\.get\("me"\): cyclic reference to value /);
// Shared references (no cycle) are written once per place.
const shared = { x: 1 };
const back = decode(encode([shared, shared]));
assert.deepEqual(back, [{ x: 1 }, { x: 1 }]);
assert.ok(back[0] !== back[1]);

// Depth: DEFAULT_DEPTH (32, what msgpack-c's reader accepts) levels of
// arrays and maps encode and decode; one more is an error on both sides.
const nest = (n) => { let v = 0; for (let i = 0; i < n; i++) v = i % 2 ? [v] : { v }; return v; };
assert.equal(DEFAULT_DEPTH, 32);
assert.deepEqual(decode(encode(nest(32))), nest(32));
refuse(nest(33), /nesting deeper than 32$/);
const deepBytes = (n) => { const u = new Uint8Array(n + 1).fill(0x91); u[n] = 0; return u; };
assert.deepEqual(decode(deepBytes(32)), JSON.parse('['.repeat(32) + '0' + ']'.repeat(32)));
assert.throws(() => decode(deepBytes(33)), /nesting deeper than 32 at byte 32$/);
// Maps, Sets and Errors count as the arrays and maps they are made of.
let mapNest = 0;
for (let i = 0; i < 32; i++) mapNest = new Map([[i, mapNest]]);
assert.deepEqual(decode(encode(mapNest)), mapNest);
refuse(new Set([mapNest]), /nesting deeper than 32$/);
// maxDepth raises (or lowers) the limit, on both sides.
assert.deepEqual(decode(encode(nest(1000), { maxDepth: 1000 }), 0, undefined, { maxDepth: 1000 }), nest(1000));
refuse(nest(3), /^value\.v\[0\]: nesting deeper than 2$/, { maxDepth: 2 });
assert.throws(() => decode(deepBytes(1000)), /nesting deeper than 32/);
assert.throws(() => encode(1, { maxDepth: 0 }), RangeError);
assert.throws(() => encode(1, { maxDepth: MAX_DEPTH + 1 }), RangeError);
// A very deep value with the highest limit: an error, not a crash.
let deepest = 0;
for (let i = 0; i < 200000; i++) deepest = [deepest];
refuse(deepest, /nesting deeper than 1000$/, { maxDepth: MAX_DEPTH });
// Even from deep inside the caller's own recursion: an error, not a crash.
const recurse = (n) => (n === 0 ? encode(nest(1000), { maxDepth: MAX_DEPTH }) : recurse(n - 1));
for (const n of [1000, 3000, 6000]) {
  try { recurse(n); } catch (e) { assert.ok(e instanceof SerdesError || /call stack/.test(e.message), String(e)); }
}
assert.throws(() => decode(deepBytes(200000), 0, undefined, { maxDepth: MAX_DEPTH }), SerdesError);

// Wrong argument types: TypeError / RangeError, not SerdesError.
assert.throws(() => decode('c0'), TypeError);
assert.throws(() => decode([0xc0]), TypeError);
assert.throws(() => decode(new Uint8Array([0xc0]), 2), RangeError);
assert.throws(() => decode(new Uint8Array([0xc0]), 0, 5), RangeError);
assert.throws(() => decode(new Uint8Array([0xc0]), 0.5), RangeError);
assert.throws(() => decode(new Uint8Array(1), 0, 1, 'x'), TypeError);
assert.throws(() => decode(new Uint8Array(1), 0, 1, { timestamps: 'x' }), TypeError);
assert.throws(() => encode(1, 'x'), TypeError);
assert.throws(() => encode(1, { transfer: [1] }), TypeError);
assert.throws(() => encode(1, { handles: 1 }), TypeError);
assert.throws(() => encodeInto(1, [0]), TypeError);
assert.throws(() => encodeInto(1, new Uint8Array(1), 2), RangeError);
// The encoder is still usable after every error above.
assert.deepEqual(decode(encode({ fine: [1, 'two'] })), { fine: [1, 'two'] });
