// serdes core types: exact bytes for the encodings other MessagePack
// libraries read (smallest integers, str/bin/array/map widths at their
// boundaries), and round trips of every core value.
import * as assert from './assert.js';
import { encode, decode, encodeInto, EFULL } from 'serdes';

const hex = (u) => Array.from(u, (b) => b.toString(16).padStart(2, '0')).join('');
const bytes = (h) => new Uint8Array(h.match(/../g).map((x) => parseInt(x, 16)));
const exact = (value, h) => {
  assert.equal(hex(encode(value)), h, `encoding of ${dv8.inspect(value)}`);
  assert.deepEqual(decode(bytes(h)), value, `decoding of ${h}`);
};

// Integers: the smallest encoding at every boundary.
exact(0, '00');
exact(127, '7f');
exact(128, 'cc80');
exact(255, 'ccff');
exact(256, 'cd0100');
exact(65535, 'cdffff');
exact(65536, 'ce00010000');
exact(4294967295, 'ceffffffff');
exact(4294967296, 'cf0000000100000000');
exact(Number.MAX_SAFE_INTEGER, 'cf001fffffffffffff');
exact(-1, 'ff');
exact(-32, 'e0');
exact(-33, 'd0df');
exact(-128, 'd080');
exact(-129, 'd1ff7f');
exact(-32768, 'd18000');
exact(-32769, 'd2ffff7fff');
exact(-2147483648, 'd280000000');
exact(-2147483649, 'd3ffffffff7fffffff');
exact(Number.MIN_SAFE_INTEGER, 'd3ffe0000000000001');

// Floats: float64 unless asked; NaN, the infinities and -0 survive.
exact(0.5, 'cb3fe0000000000000');
exact(-0, 'cb8000000000000000');
exact(Infinity, 'cb7ff0000000000000');
exact(-Infinity, 'cbfff0000000000000');
assert.ok(Number.isNaN(decode(encode(NaN))));
exact(2 ** 53, 'cb4340000000000000'); // beyond safe: a float, not a wrong integer
assert.equal(hex(encode(0.5, { float32: true })), 'ca3f000000');
assert.equal(hex(encode(0.1, { float32: true })), 'cb3fb999999999999a', '0.1 is not exact as float32');
assert.equal(decode(bytes('ca3f000000')), 0.5);

// 64-bit integers beyond 2^53 decode as BigInt, never as a wrong Number.
assert.equal(decode(bytes('cf0020000000000000')), 2n ** 53n);
assert.equal(decode(bytes('cfffffffffffffffff')), 2n ** 64n - 1n);
assert.equal(decode(bytes('d38000000000000000')), -(2n ** 63n));
assert.equal(decode(bytes('d3ffdfffffffffffff')), -(2n ** 53n) - 1n);
assert.equal(decode(bytes('d3ffe0000000000000')), -(2n ** 53n), '-2^53 is not safe');
assert.equal(decode(bytes('cf001fffffffffffff')), 2 ** 53 - 1);

// nil, booleans.
exact(null, 'c0');
exact(false, 'c2');
exact(true, 'c3');

// Strings: fixstr / str8 / str16 / str32 at their boundaries, UTF-8.
exact('', 'a0');
exact('a'.repeat(31), 'bf' + '61'.repeat(31));
exact('a'.repeat(32), 'd920' + '61'.repeat(32));
exact('a'.repeat(255), 'd9ff' + '61'.repeat(255));
exact('a'.repeat(256), 'da0100' + '61'.repeat(256));
exact('a'.repeat(65535), 'daffff' + '61'.repeat(65535));
exact('a'.repeat(65536), 'db00010000' + '61'.repeat(65536));
exact('é', 'a2c3a9');
exact('€', 'a3e282ac');
exact('😀', 'a4f09f9880');
exact('é'.repeat(16), 'd920' + 'c3a9'.repeat(16), '16 units, 32 bytes: str8');
exact('é'.repeat(15) + 'a', 'bf' + 'c3a9'.repeat(15) + '61');
exact('€'.repeat(100), 'da012c' + 'e282ac'.repeat(100));
// Lone surrogates become U+FFFD, as TextEncoder writes them.
assert.equal(hex(encode('a\ud800b')), 'a561efbfbd62');
assert.equal(hex(encode('\udc00')), 'a3efbfbd');
assert.equal(decode(encode('x\ud83d'.repeat(30))), 'x\ufffd'.repeat(30));
// Invalid UTF-8 in the input becomes U+FFFD, never an exception.
assert.equal(decode(bytes('a3ff61c3')), '\ufffda\ufffd');
// The ASCII fast path gives way at any position: every length up to 70
// with one non-ASCII unit at every index encodes as TextEncoder does,
// in the shared chunk and right at its end (forcing a grow mid-string).
const te = new TextEncoder();
const strHeader = (n) => (n < 32 ? [0xa0 | n] : n < 256 ? [0xd9, n] : [0xda, n >> 8, n & 255]);
for (let n = 0; n <= 70; n++) {
  for (const odd of ['', 'é', '€', '😀', '\ud800']) {
    for (let at = 0; at <= n; at += odd ? 1 : n + 1) {
      const s = 'k'.repeat(at) + odd + 'v'.repeat(n - at);
      const utf8 = te.encode(s);
      const want = hex(new Uint8Array([...strHeader(utf8.length), ...utf8]));
      assert.equal(hex(encode(s)), want, `string of ${s.length} units, odd unit at ${at}`);
      const pad = 'p'.repeat(16384 - 80 + (n % 13)); // ends the value near the chunk's end
      const both = encode([pad, s]);
      assert.equal(decode(both)[1], s.replace(/\ud800/g, '\ufffd'));
    }
  }
}
// Short strings come from a cache on decode, keys internalized: many
// distinct ones (more than the cache holds, so slots are reused), the
// same bytes as key and as value, empty keys, non-ASCII, all intact.
{
  let seed = 7;
  const rand = (n) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  const alphabet = 'abé€xyz0123456789_';
  const word = () => Array.from({ length: rand(17) }, () => alphabet[rand(alphabet.length)]).join('');
  for (let round = 0; round < 20; round++) {
    const obj = {};
    const list = [];
    for (let i = 0; i < 500; i++) {
      const k = word();
      obj[k] = k === '__proto__' ? 0 : word();
      list.push(k, { [k]: k, '': k });
    }
    const value = { obj, list };
    const back = decode(encode(value));
    assert.equal(JSON.stringify(back), JSON.stringify(value), `round ${round}`);
  }
}
// Long strings go through the native path both ways.
const long = 'Grüße, 世界! 😀 '.repeat(5000);
assert.equal(decode(encode(long)), long);

// Binary: Uint8Array and ArrayBuffer as bin8/16/32, decoded as Uint8Array.
exact(new Uint8Array([1, 2, 3]), 'c403010203');
assert.equal(hex(encode(new Uint8Array(256)).subarray(0, 3)), 'c50100');
assert.equal(hex(encode(new Uint8Array(65536)).subarray(0, 5)), 'c600010000');
assert.equal(hex(encode(new Uint8Array([9, 8]).buffer)), 'c4020908');
const view = new Uint8Array([0, 1, 2, 3, 4]).subarray(1, 4);
assert.equal(hex(encode(view)), 'c403010203', 'a view encodes its own bytes only');
// Decoded bins are copies by default, views into the input with views: true.
const input = bytes('c403010203');
const copy = decode(input);
const aliased = decode(input, 0, input.length, { views: true });
input[2] = 99;
assert.equal(copy[0], 1);
assert.equal(aliased[0], 99);

// Arrays and maps: fix / 16 / 32 headers.
exact([], '90');
exact([1, [2, [3]]], '920192029103');
assert.equal(hex(encode(new Array(15).fill(0)).subarray(0, 1)), '9f');
assert.equal(hex(encode(new Array(16).fill(0)).subarray(0, 3)), 'dc0010');
assert.equal(hex(encode(new Array(65536).fill(0)).subarray(0, 5)), 'dd00010000');
exact({}, '80');
exact({ a: 1, b: [true] }, '82a16101a16291c3');
const wide = {};
for (let i = 0; i < 16; i++) wide['k' + i] = i;
assert.equal(hex(encode(wide)).slice(0, 6), 'de0010', '16 keys: map16');
assert.deepEqual(decode(encode(wide)), wide);
const wider = {};
for (let i = 0; i < 70000; i++) wider['k' + i] = i;
assert.equal(hex(encode(wider)).slice(0, 10), 'df00011170');
assert.deepEqual(decode(encode(wider)), wider);
// Sparse arrays: holes are undefined.
assert.deepEqual(decode(encode([1, , 3])), [1, undefined, 3]);
// Null-prototype objects are plain maps; a '__proto__' key stays a key.
const bare = Object.create(null);
bare.x = 1;
assert.deepEqual(decode(encode(bare)), { x: 1 });
const evil = decode(bytes('81a95f5f70726f746f5f5f81a16101'));
assert.equal(Object.getPrototypeOf(evil), Object.prototype, '__proto__ key did not set the prototype');
assert.deepEqual(Object.keys(evil), ['__proto__']);
assert.equal(({}).a, undefined);
// A map with any key that is not a string is a Map: every key keeps its
// MessagePack type and its place, wherever the first such key is.
const entries = (h) => {
  const m = decode(bytes(h));
  assert.ok(m instanceof Map, `${h} decodes as a Map`);
  return [...m];
};
assert.deepEqual(entries('8201a161a16202'), [[1, 'a'], ['b', 2]]);
assert.deepEqual(entries('82a1610192010203'), [['a', 1], [[1, 2], 3]]);
// Python's msgpack.packb({1: 'a', None: 'b'}) and {None: 'b', 1: 'a'}.
assert.deepEqual(entries('8201a161c0a162'), [[1, 'a'], [null, 'b']]);
assert.deepEqual(entries('82c0a16201a161'), [[null, 'b'], [1, 'a']]);
// {'b': 1, '2': 2, None: 3}: 'b' stays before '2' (an object would not).
assert.deepEqual(entries('83a16201a13202c003'), [['b', 1], ['2', 2], [null, 3]]);
// The entries before the first such key are read again for their order,
// their values skipped: an array holding a map, bin8, str8, float64,
// int16, uint64 (from the npm @msgpack/msgpack encoder), then dv8's own
// extensions (a Date, a Map, a Set) made by encode.
assert.deepEqual(entries('88a178920181a179a17aa177c403010203a173d93c' + '616263'.repeat(20) +
  'a166cb3ff8000000000000a16ed1fed4a3626967cf000001000000000007a5736576656ea5616674657291c0'), [
  ['x', [1, { y: 'z' }]], ['w', new Uint8Array([1, 2, 3])], ['s', 'abc'.repeat(20)], ['f', 1.5],
  ['n', -300], ['big', 2 ** 40], [7, 'seven'], ['after', [null]],
]);
// Values with 16- and 32-bit lengths skipped before the first such key
// (bin16, str16, ext16; str32, bin32, ext32): a skip that lands short
// read the wrong keys without an error.
{
  const hex = (n, fill) => fill.repeat(n);
  assert.deepEqual(entries('83a161c50100' + hex(256, '07') + 'a16202c003'),
    [['a', new Uint8Array(256).fill(7)], ['b', 2], [null, 3]]);
  assert.deepEqual(entries('83a161da0100' + hex(256, '78') + 'a0c001c0').map(([k, v]) => [k, typeof v === 'string' ? v.length : v]),
    [['a', 256], ['', null], [1, null]]);
  const ext16 = entries('83a161c801000a' + hex(256, '01') + 'a16202c003');
  assert.deepEqual([ext16[1], ext16[2]], [['b', 2], [null, 3]]);
  assert.deepEqual(entries('83a161db00000003787878a162c50003010203c003').map(([k]) => k), ['a', 'b', null]);
  assert.deepEqual(entries('82a161c60000000401020304c003'), [['a', new Uint8Array([1, 2, 3, 4])], [null, 3]]);
  const ext32 = entries('83a161c9000000020a0102a16202c003');
  assert.deepEqual([ext32[1], ext32[2]], [['b', 2], [null, 3]]);
}
const joined = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const withExt = decode(joined(new Uint8Array([0x84]), encode('d'), encode(new Date(86400000)),
  encode('m'), encode(new Map([[1, 'one']])), encode('s'), encode(new Set(['x'])), encode(false), encode('no')));
assert.ok(withExt instanceof Map);
assert.deepEqual([...withExt.keys()], ['d', 'm', 's', false]);
assert.equal(withExt.get('d').getTime(), 86400000);
assert.deepEqual([...withExt.get('m')], [[1, 'one']]);
assert.deepEqual([...withExt.get('s')], ['x']);
assert.equal(withExt.get(false), 'no');
// All string keys: an object, as before.
assert.deepEqual(decode(bytes('82a16101a16202')), { a: 1, b: 2 });
// Class instances: own enumerable fields, as JSON has them.
class Point { constructor() { this.x = 1; this.y = 2; } get sum() { return 3; } }
assert.deepEqual(decode(encode(new Point())), { x: 1, y: 2 });
// Boxed primitives are their values.
assert.deepEqual(decode(encode([new Number(1), new String('s'), new Boolean(false)])), [1, 's', false]);

// encodeInto: the length, or EFULL when the buffer is too small; decode of
// a region.
const target = new Uint8Array(64);
const n = encodeInto({ id: 7, name: 'x' }, target, 10);
assert.equal(n, 12);
assert.deepEqual(decode(target, 10, 10 + n), { id: 7, name: 'x' });
assert.equal(encodeInto('a'.repeat(100), target), EFULL);
assert.equal(encodeInto([1, 2, 3], target, 60), 4);
assert.equal(encodeInto([1, 2, 3, 4], target, 60), EFULL);
assert.equal(encodeInto(null, target, 64), EFULL);
assert.equal(encodeInto(null, target, 63), 1);
// Values already written stay usable: encode results are independent.
const a = encode({ v: 1 });
const b = encode({ v: 2 });
assert.deepEqual(decode(a), { v: 1 });
assert.deepEqual(decode(b), { v: 2 });
// Many results and a big one: every one intact.
const results = [];
for (let i = 0; i < 5000; i++) results.push(encode({ i, s: 'x'.repeat(i % 50) }));
results.forEach((r, i) => assert.deepEqual(decode(r), { i, s: 'x'.repeat(i % 50) }));
const big = new Uint8Array(3 << 20).map((_, i) => i * 7);
const bigBack = decode(encode(big));
assert.equal(bigBack.length, big.length);
assert.ok(bigBack.every((x, i) => x === big[i]));

// A getter that encodes while encoding gets its own state.
const tricky = { get inner() { return decode(encode({ deep: [1, 2] })); }, after: 'ok' };
assert.deepEqual(decode(encode(tricky)), { inner: { deep: [1, 2] }, after: 'ok' });
