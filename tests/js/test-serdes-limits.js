// encode() is bounded by maxBytes (64 MiB by default): an array counts a
// byte an element at least, holes as much as values, so the largest sparse
// array (`a[2 ** 32 - 2] = 1`: 93 s and 6.3 GB before this limit) is
// refused at once, with the path of the array; a value that grows past the
// limit as it is written (holes, a value shared many times over, long
// strings and buffers) is refused with the path of where it got there.
// Under the limit nothing changes, and the size is exact: an encoding of
// exactly maxBytes goes.
import * as assert from './assert.js';
import { encode, encodeInto, decode, SerdesError, DEFAULT_MAX_BYTES, MAX_BYTES } from 'serdes';
import { spawn } from 'thread';

assert.equal(DEFAULT_MAX_BYTES, 64 * 1024 * 1024);
assert.equal(MAX_BYTES, 2 ** 32);

const refuse = (fn, re, ms = 500) => {
  const t0 = performance.now();
  const err = assert.throws(fn, SerdesError);
  const took = performance.now() - t0;
  assert.ok(re.test(err.message), `message ${JSON.stringify(err.message)} does not match ${re}`);
  assert.ok(took < ms, `${err.message}: took ${took.toFixed(0)} ms`);
  assert.equal(err.code, 'ESERDES');
  return err;
};

// The case, at once, named.
const big = [];
big[2 ** 32 - 2] = 1;
let err = refuse(() => encode({ id: 1, big }, { name: 'state' }),
  /^state\.big: array of 4294967295 elements takes the encoding past the limit of 67108864 bytes \(maxBytes\)$/, 100);
assert.equal(err.path, 'state.big');
refuse(() => encode(big), /^value: array of 4294967295 elements/, 100);
refuse(() => encode(big, { maxBytes: MAX_BYTES }), /^value: array of 4294967295 elements takes the encoding past the limit of 4294967296 bytes/, 100);
refuse(() => encodeInto({ a: [big] }, new Uint8Array(64)), /^value\.a\[0\]: array of 4294967295 elements/, 100);
// Wherever it sits: in Maps, Sets, class instances, Error properties.
refuse(() => encode(new Map([['k', [0, big]]])), /^value\.get\("k"\)\[1\]: array of 4294967295 elements/, 100);
refuse(() => encode(new Map([[big, 1]])), /^value\.keys\(\)\[0\]: array of 4294967295 elements/, 100);
refuse(() => encode(new Set([1, big])), /^value\.values\(\)\[1\]: array of 4294967295 elements/, 100);
refuse(() => encode(new (class Point { constructor() { this.x = big; } })()), /^value\.x: array of 4294967295/, 100);
refuse(() => encode(new Error('e', { cause: { list: big } })), /^value\.cause\.list: array of 4294967295/, 100);
refuse(() => encode({ 'odd key': big }), /^value\["odd key"\]: array of 4294967295/, 100);

// Holes under the header's count but past the limit as they are written
// (3 bytes each): refused where the limit was reached, the work bounded by
// maxBytes.
const sparse = [];
sparse[3e6] = 1;
refuse(() => encode({ list: [sparse] }, { maxBytes: 4 << 20 }),
  /^value\.list\[0\]\[13981\d\d\]: the encoding passes the limit of 4194304 bytes \(maxBytes\) here$/, 2000);
// encodeInto with room to spare says the same (not EFULL: a bigger target
// would not help).
refuse(() => encodeInto({ list: [sparse] }, new Uint8Array(8 << 20), 0, { maxBytes: 4 << 20 }),
  /^value\.list\[0\]\[13981\d\d\]: the encoding passes the limit of 4194304 bytes \(maxBytes\) here$/, 2000);
// A value shared many times over: 2^30 copies of a small array in a value
// of 30 objects.
let shared = [1, 2, 3, 'some text'];
for (let i = 0; i < 30; i++) shared = { left: shared, right: shared };
refuse(() => encode(shared, { maxBytes: 1 << 20 }), /^value(\.left|\.right)+(\[\d\])?: the encoding passes the limit|takes the encoding past/, 2000);
// Long strings and buffers: named, refused before they are copied.
refuse(() => encode({ s: 'x'.repeat(2e6) }, { maxBytes: 1 << 20 }),
  /^value\.s: string of 2000000 characters takes the encoding past the limit of 1048576 bytes \(maxBytes\)$/);
refuse(() => encode({ s: 'é'.repeat(600000) }, { maxBytes: 1 << 20 }), /^value\.s: string of 600000 characters/); // 2 bytes each
refuse(() => encode([new Uint8Array(2 << 20)], { maxBytes: 1 << 20 }), /^value\[0\]: Uint8Array of 2097152 bytes takes/);
refuse(() => encode({ b: new ArrayBuffer(2 << 20) }, { maxBytes: 1 << 20 }), /^value\.b: ArrayBuffer of 2097152 bytes takes/);
refuse(() => encode({ f: new Float64Array(1 << 18) }, { maxBytes: 1 << 20 }), /^value\.f: Float64Array of 2097152 bytes takes/);
refuse(() => encode(new Map([[1, new Set(['y'.repeat(300), 'z'.repeat(300)])]]), { maxBytes: 500 }),
  /^value\.get\(1\)\.values\(\)\[1\]: string of 300 characters takes/);
// A long ASCII string whose worst case (3 bytes a character) would pass
// the limit but whose bytes do not: it goes.
assert.equal(encode('a'.repeat(1e6), { maxBytes: 1e6 + 5 }).length, 1e6 + 5);
assert.equal(decode(encode({ s: 'x'.repeat(3e6) }, { maxBytes: 4e6 })).s.length, 3e6);

// The size is exact, with encode and encodeInto.
assert.equal(encode([1, 2, 3], { maxBytes: 4 }).length, 4);
refuse(() => encode([1, 2, 3], { maxBytes: 3 }), /^value: array of 3 elements takes the encoding past the limit of 3 bytes \(maxBytes\)$/);
assert.equal(encode('abcdef', { maxBytes: 7 }).length, 7);
refuse(() => encode('abcdef', { maxBytes: 6 }), /past the limit of 6 bytes/);
assert.equal(encode({ n: 2 ** 40 }, { maxBytes: 12 }).length, 12);
refuse(() => encode({ n: 2 ** 40 }, { maxBytes: 11 }), /^value: the encoding's 12 bytes are past the limit of 11 bytes \(maxBytes\)$/);
const target = new Uint8Array(100);
assert.equal(encodeInto([1, 2, 3], target, 10, { maxBytes: 4 }), 4);
refuse(() => encodeInto([1, 2, 3], target, 10, { maxBytes: 3 }), /past the limit of 3 bytes/);
const exact = { list: Array.from({ length: 1000 }, (_, i) => `item ${i}`) };
const size = encode(exact).length;
assert.deepEqual(decode(encode(exact, { maxBytes: size })), exact);
refuse(() => encode(exact, { maxBytes: size - 1 }), /past the limit/);

// Under the default limit: big values go as before.
assert.equal(decode(encode({ b: new Uint8Array(32 << 20) })).b.length, 32 << 20);
const dense = Array.from({ length: 1 << 20 }, (_, i) => i);
assert.equal(decode(encode(dense)).length, 1 << 20);

// Bad limits are programmer errors; the encoder is fine after all of this.
for (const bad of [0, -1, 1.5, MAX_BYTES + 1, '100', NaN]) {
  assert.throws(() => encode(1, { maxBytes: bad }), RangeError);
  assert.throws(() => encodeInto(1, target, 0, { maxBytes: bad }), RangeError);
}
assert.deepEqual(decode(encode({ fine: [1, 'two'] })), { fine: [1, 'two'] });

// decode allocates nothing ahead of the bytes that back it: a header
// claiming more items than bytes are left is refused at once, and a long
// array's storage comes as its items are read (a 4 MiB input claiming 4
// million items, the first one bad, would need 32 MiB up front: past this
// thread's limit of 24 MiB).
let r = await spawn(async () => {
  const { decode } = await import('serdes');
  const input = new Uint8Array(4 << 20).fill(0xc1);
  input.set([0xdd, 0x00, 0x3f, 0xff, 0xf0]); // 4194288 items claimed
  const errors = [];
  try { decode(input); } catch (e) { errors.push(e.message); }
  try { decode(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff, 0x00])); } catch (e) { errors.push(e.message); }
  const ok = new Uint8Array(1 << 20).fill(0xc0);
  ok.set([0xdd, 0x00, 0x0f, 0xff, 0xfb]);
  return [...errors, decode(ok).length];
}, { heapLimitMb: 24 }).join();
assert.equal(r.code, 0, r.error && r.error.message);
assert.deepEqual(r.result, ['0xc1 is not a MessagePack type at byte 5', 'array of 4294967295 items in 1 bytes at byte 5', 0xffffb]);

// A thread's message and result: the same limit, the same error.
const t = spawn(async () => {
  const { parent } = await import('thread');
  const a = [];
  a[2 ** 32 - 2] = 1;
  try { parent.send({ a }); } catch (e) { parent.send(e.message); }
  return { a };
});
const messages = [];
t.onMessage = (m) => messages.push(m);
r = await t.join();
assert.deepEqual(messages, ['value.a: array of 4294967295 elements takes the encoding past the limit of 67108864 bytes (maxBytes)']);
assert.equal(r.code, 1);
assert.equal(r.error.name, 'SerdesError');
assert.equal(r.error.message, 'result.a: array of 4294967295 elements takes the encoding past the limit of 67108864 bytes (maxBytes)');
