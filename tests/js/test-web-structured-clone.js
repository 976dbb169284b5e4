// structuredClone over serdes: deep copies of what serdes carries, with
// ArrayBuffers kept as ArrayBuffers (views sharing one share its copy),
// transfer detaching the originals, and DataCloneErrors naming the path of
// what cannot be cloned.
import * as assert from './assert.js';

const ab = new ArrayBuffer(8);
const view = new Uint8Array(ab, 2, 4);
view[0] = 7;
const floats = new Float64Array([0.5, -1]);
const value = {
  n: 1, s: 'x', nil: null, undef: undefined, big: 2n ** 70n, arr: [1, [2, { a: 3 }]],
  date: new Date(1234), map: new Map([[{ k: 1 }, 'v']]), set: new Set(['a']),
  re: /a+/gi, err: new RangeError('bad', { cause: 'why' }), ab, view, floats,
};
const c = structuredClone(value);
assert.deepEqual(c.arr, value.arr);
assert.ok(c.arr !== value.arr && c.arr[1][1] !== value.arr[1][1]);
assert.equal(c.big, 2n ** 70n);
assert.ok('undef' in c);
assert.equal(c.date.getTime(), 1234);
assert.ok(c.date !== value.date);
assert.equal([...c.map.keys()][0].k, 1);
assert.deepEqual([...c.set], ['a']);
assert.equal(c.re.source, 'a+');
assert.equal(c.re.flags, 'gi');
assert.ok(c.err instanceof RangeError);
assert.equal(c.err.message, 'bad');
assert.equal(c.err.cause, 'why');
assert.ok(c.ab instanceof ArrayBuffer);
assert.ok(c.ab !== ab);
assert.equal(c.view.buffer, c.ab, 'a view keeps sharing its (copied) buffer');
assert.equal(c.view.byteOffset, 2);
assert.equal(c.view[0], 7);
view[0] = 9;
assert.equal(c.view[0], 7, 'the copy does not follow the original');
assert.ok(c.floats instanceof Float64Array);
assert.deepEqual([...c.floats], [0.5, -1]);
// Class instances become plain objects of their own enumerable fields.
class Point { constructor() { this.x = 1; } get y() { return 2; } }
const p = structuredClone(new Point());
assert.equal(Object.getPrototypeOf(p), Object.prototype);
assert.deepEqual(p, { x: 1 });
assert.equal(structuredClone(undefined), undefined);
assert.equal(structuredClone('s'), 's');

// Transfer: the original is detached, the clone has the bytes.
const moved = new Uint8Array([1, 2, 3]).buffer;
const got = structuredClone({ moved }, { transfer: [moved] });
assert.equal(moved.byteLength, 0);
assert.deepEqual([...new Uint8Array(got.moved)], [1, 2, 3]);
assert.throws(() => structuredClone(1, { transfer: [{}] }), DOMException);

for (const [bad, what] of [[() => 1, 'a function'], [Symbol('s'), 'a symbol'],
  [new WeakMap(), 'a WeakMap'], [Promise.resolve(), 'a Promise']]) {
  const err = assert.throws(() => structuredClone({ a: [0, bad] }));
  assert.ok(err instanceof DOMException);
  assert.equal(err.name, 'DataCloneError');
  assert.equal(err.code, 25);
  assert.equal(err.message, `value.a[1]: cannot clone ${what}`);
}
const cyclic = { list: [] };
cyclic.list.push(cyclic);
const err = assert.throws(() => structuredClone(cyclic), DOMException);
assert.equal(err.message, 'value.list[0]: cyclic reference to value (cycles cannot be cloned)');
assert.throws(() => structuredClone(), TypeError);
