// The edge corpus of tests/shell/test-serdes-interop-peers.sh: MessagePack
// inputs covering every format family at its boundaries, each with the value
// it stands for and the bytes each kind of codec must write back. Imported
// by interop-peers.mjs (run by dv8), which writes the inputs and values out
// for the other peers (interop.py, interop.rb, interop-c.c).
//
// The bytes are built here from the format's rules, not by any codec, so a
// bug shared by dv8 and a peer cannot hide in the expectations. A node holds
// a value and, optionally, the header form it is written in (a non-smallest
// form on purpose); emit(node, view) writes it in one of five views:
//   b  the input as written, forms included
//   s  the smallest encoding of the same MessagePack value (float32 stays
//      float32, a timestamp takes its smallest form)
//   o  s, but timestamps keep the payload of b: what a codec that treats
//      extension -1 as opaque bytes writes (msgpack-c)
//   w  s with float32 widened to float64: codecs whose floats are all
//      doubles (Python, Ruby)
//   j  what dv8 writes back (docs/serdes.md): JS numbers, so integral
//      floats within 2^53 become integers; a map with a key other than a
//      string is a JS Map, written as extension 0x51 around the map; a
//      string-keyed map is an object, whose array-index names come first
//      in ascending order.
// `refuse` marks inputs dv8 refuses (a message it must give) where every
// other peer reads them: see the notes there.

const B = (x) => BigInt(x);

export const nil = () => ({ kind: 'nil' });
export const bool = (v) => ({ kind: 'bool', v });
// form: fix, u8, u16, u32, u64, i8, i16, i32, i64, or smallest
export const int = (v, form) => ({ kind: 'int', v: B(v), form });
export const f64 = (x) => ({ kind: 'f64', bits: typeof x === 'string' ? x : f64bits(x) });
export const f32 = (hex) => ({ kind: 'f32', bits: hex });
export const str = (v, form) => ({ kind: 'str', v, form });
export const bin = (v, form) => ({ kind: 'bin', v: Uint8Array.from(v), form });
export const arr = (items, form) => ({ kind: 'arr', items, form });
export const map = (pairs, form) => ({ kind: 'map', pairs, form });
export const ext = (type, data, form) => ({ kind: 'ext', type, data: Uint8Array.from(data), form });
// payload: 32, 64 or 96 (the timestamp's own form), head: an ext header form
export const ts = (sec, nsec, payload, head) => ({ kind: 'ts', sec: B(sec), nsec, payload, head });

function f64bits(x) {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  return dv.getBigUint64(0).toString(16).padStart(16, '0');
}
function f64of(hex) {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setBigUint64(0, BigInt('0x' + hex));
  return dv.getFloat64(0);
}
function f32of(hex) {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setUint32(0, parseInt(hex, 16));
  return dv.getFloat32(0);
}

// UTF-8 by hand: the corpus must not lean on the runtime's encoder either.
function utf8(s) {
  const out = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.codePointAt(i);
    if (c > 0xffff) i++;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return out;
}

// A growing byte buffer: an Array of numbers is ten times slower here, and
// the corpus is 1.4 MB in each of five views.
class Bytes {
  constructor() {
    this.buf = new Uint8Array(256);
    this.length = 0;
  }
  room(n) {
    if (this.length + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
  }
  push(...xs) {
    this.room(xs.length);
    for (const x of xs) this.buf[this.length++] = x;
  }
  append(u) {
    this.room(u.length);
    this.buf.set(u, this.length);
    this.length += u.length;
  }
  result() {
    return this.buf.slice(0, this.length);
  }
}

function be(out, v, bytes) { // v a BigInt, two's complement for negatives
  if (bytes <= 4 && v >= 0n) { // lengths: the common case, kept cheap
    const n = Number(v);
    for (let i = bytes - 1; i >= 0; i--) out.push(Math.floor(n / 2 ** (8 * i)) & 255);
    return;
  }
  const u = BigInt.asUintN(bytes * 8, v);
  for (let i = bytes - 1; i >= 0; i--) out.push(Number((u >> BigInt(i * 8)) & 255n));
}

const INT_FORMS = {
  u8: [0xcc, 1], u16: [0xcd, 2], u32: [0xce, 4], u64: [0xcf, 8],
  i8: [0xd0, 1], i16: [0xd1, 2], i32: [0xd2, 4], i64: [0xd3, 8],
};
function smallestIntForm(v) {
  if (v >= 0n) {
    if (v < 128n) return 'fix';
    if (v < 256n) return 'u8';
    if (v < 65536n) return 'u16';
    if (v < 2n ** 32n) return 'u32';
    return 'u64';
  }
  if (v >= -32n) return 'fix';
  if (v >= -128n) return 'i8';
  if (v >= -32768n) return 'i16';
  if (v >= -(2n ** 31n)) return 'i32';
  return 'i64';
}
function emitInt(out, v, form) {
  if (form === 'fix') return be(out, v, 1);
  const [tag, n] = INT_FORMS[form];
  out.push(tag);
  be(out, v, n);
}

// Header forms by family: [first byte or base, length bytes, limit].
const HEADS = {
  str: { fix: [0xa0, 0, 32], 8: [0xd9, 1], 16: [0xda, 2], 32: [0xdb, 4] },
  bin: { 8: [0xc4, 1], 16: [0xc5, 2], 32: [0xc6, 4] },
  arr: { fix: [0x90, 0, 16], 16: [0xdc, 2], 32: [0xdd, 4] },
  map: { fix: [0x80, 0, 16], 16: [0xde, 2], 32: [0xdf, 4] },
};
// In order of size: an object would list '8' before 'fix'.
const HEAD_ORDER = ['fix', '8', '16', '32'];
function smallestHead(family, n) {
  for (const form of HEAD_ORDER.filter((f) => HEADS[family][f])) {
    const [, len, limit] = HEADS[family][form];
    if (form === 'fix' ? n < limit : n < 2 ** (8 * len)) return form;
  }
  throw new Error(`${family} of ${n} does not fit`);
}
function emitHead(out, family, n, form) {
  const [base, len] = HEADS[family][form];
  if (form === 'fix') out.push(base | n);
  else { out.push(base); be(out, BigInt(n), len); }
}
const FIXEXT = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 };
function smallestExtHead(n) {
  if (FIXEXT[n]) return 'fix';
  return n < 256 ? '8' : n < 65536 ? '16' : '32';
}
function emitExt(out, type, data, form) {
  if (form === 'fix') out.push(FIXEXT[data.length]);
  else { out.push({ 8: 0xc7, 16: 0xc8, 32: 0xc9 }[form]); be(out, BigInt(data.length), Number(form) / 8); }
  be(out, BigInt(type), 1);
  out.append(data);
}

function tsPayload(sec, nsec, form) {
  const out = [];
  if (form === 32) be(out, sec, 4);
  else if (form === 64) be(out, (BigInt(nsec) << 34n) | sec, 8);
  else { be(out, BigInt(nsec), 4); be(out, sec, 8); }
  return out;
}
function smallestTs(sec, nsec) {
  if (sec >= 0n && sec < 2n ** 34n) return nsec === 0 && sec < 2n ** 32n ? 32 : 64;
  return 96;
}

const SAFE = 2n ** 53n - 1n;
// What a JS number that is an integer within 2^53 becomes in dv8's hands.
function jsInt(x) {
  return Number.isInteger(x) && !Object.is(x, -0) && Math.abs(x) <= Number.MAX_SAFE_INTEGER ? BigInt(x) : null;
}
// The order of an object's own string keys: array indices (0 .. 2^32 - 2)
// ascending, then the rest as inserted.
function isArrayIndex(k) {
  return /^(0|[1-9][0-9]*)$/.test(k) && Number(k) <= 2 ** 32 - 2;
}

// The bytes of an entry in a view, made once: the big entries take a while.
export function bytesOf(entry, view) {
  entry.views ??= {};
  return (entry.views[view] ??= emit(entry.node, view).result());
}

export function emit(node, view, out = new Bytes()) {
  const b = view === 'b';
  switch (node.kind) {
    case 'nil': out.push(0xc0); break;
    case 'bool': out.push(node.v ? 0xc3 : 0xc2); break;
    case 'int': emitInt(out, node.v, b && node.form ? node.form : smallestIntForm(node.v)); break;
    case 'f64': {
      const i = view === 'j' ? jsInt(f64of(node.bits)) : null;
      if (i !== null) emitInt(out, i, smallestIntForm(i));
      else { out.push(0xcb); be(out, BigInt('0x' + node.bits), 8); }
      break;
    }
    case 'f32': {
      if (view === 'b' || view === 's' || view === 'o') { out.push(0xca); be(out, BigInt('0x' + node.bits), 4); break; }
      return emit(f64(f32of(node.bits)), view, out);
    }
    case 'str': case 'bin': {
      const bytes = node.kind === 'str' ? (node.utf8 ??= Uint8Array.from(utf8(node.v))) : node.v;
      emitHead(out, node.kind, bytes.length, b && node.form ? node.form : smallestHead(node.kind, bytes.length));
      out.append(bytes);
      break;
    }
    case 'arr':
      emitHead(out, 'arr', node.items.length, b && node.form ? node.form : smallestHead('arr', node.items.length));
      for (const item of node.items) emit(item, view, out);
      break;
    case 'map': {
      let pairs = node.pairs;
      if (view === 'j' && !pairs.every(([k]) => k.kind === 'str')) {
        const inner = new Bytes();
        emitHead(inner, 'map', pairs.length, smallestHead('map', pairs.length));
        for (const [k, v] of pairs) { emit(k, view, inner); emit(v, view, inner); }
        emitExt(out, 0x51, inner.result(), smallestExtHead(inner.length));
        break;
      }
      if (view === 'j') {
        const index = pairs.filter(([k]) => isArrayIndex(k.v)).sort(([a], [b]) => Number(a.v) - Number(b.v));
        pairs = [...index, ...pairs.filter(([k]) => !isArrayIndex(k.v))];
      }
      emitHead(out, 'map', pairs.length, b && node.form ? node.form : smallestHead('map', pairs.length));
      for (const [k, v] of pairs) { emit(k, view, out); emit(v, view, out); }
      break;
    }
    case 'ext':
      emitExt(out, node.type, node.data, b && node.form ? node.form : smallestExtHead(node.data.length));
      break;
    case 'ts': {
      const form = b || view === 'o' ? node.payload ?? smallestTs(node.sec, node.nsec) : smallestTs(node.sec, node.nsec);
      const payload = tsPayload(node.sec, node.nsec, form);
      emitExt(out, -1, payload, b && node.head ? node.head : smallestExtHead(payload.length));
      break;
    }
    default: throw new Error(`unknown node ${node.kind}`);
  }
  return out;
}

// The value, as tagged JSON every peer reads (interop.py, interop.rb):
// null, booleans, {int: decimal}, {float: 16 hex digits of the double},
// {str}, {bin: hex}, {array: [...]}, {map: [[k, v]...]}, {ext: type, data:
// hex}, {ts: [seconds as decimal, nanoseconds]}.
export function tagged(node) {
  const hex = (u) => Array.from(u, (x) => x.toString(16).padStart(2, '0')).join('');
  switch (node.kind) {
    case 'nil': return null;
    case 'bool': return node.v;
    case 'int': return { int: node.v.toString() };
    case 'f64': return { float: node.bits };
    case 'f32': return { float: f64bits(f32of(node.bits)) };
    case 'str': return { str: node.v };
    case 'bin': return { bin: hex(node.v) };
    case 'arr': return { array: node.items.map(tagged) };
    case 'map': return { map: node.pairs.map(([k, v]) => [tagged(k), tagged(v)]) };
    case 'ext': return { ext: node.type, data: hex(node.data) };
    case 'ts': return { ts: [node.sec.toString(), node.nsec] };
  }
  throw new Error(`unknown node ${node.kind}`);
}

const rep = (s, n) => s.repeat(n);
const bytes = (n, seed = 1) => Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);
const strs = (n, prefix = 'k') => Array.from({ length: n }, (_, i) => [str(prefix + i), int(i)]);

// [name, node, hex of the input when worth spelling out (checks the
// builder above), options]
const E = [];
const add = (name, node, hex, opts = {}) => E.push({ name, node, hex, ...opts });

add('nil', nil(), 'c0');
add('false', bool(false), 'c2');
add('true', bool(true), 'c3');

for (const v of [0, 1, 127]) add(`positive fixint ${v}`, int(v));
add('negative fixint -1', int(-1), 'ff');
add('negative fixint -32', int(-32), 'e0');
add('uint8 128', int(128), 'cc80');
add('uint8 255', int(255), 'ccff');
add('uint16 256', int(256), 'cd0100');
add('uint16 65535', int(65535), 'cdffff');
add('uint32 65536', int(65536), 'ce00010000');
add('uint32 2^32-1', int(2 ** 32 - 1), 'ceffffffff');
add('uint64 2^32', int(2 ** 32), 'cf0000000100000000');
add('uint64 2^53-1', int(SAFE), 'cf001fffffffffffff');
add('uint64 2^53', int(2n ** 53n));
add('uint64 2^53+1', int(2n ** 53n + 1n));
add('uint64 2^63', int(2n ** 63n));
add('uint64 2^64-1', int(2n ** 64n - 1n), 'cfffffffffffffffff');
add('int8 -33', int(-33), 'd0df');
add('int8 -128', int(-128), 'd080');
add('int16 -129', int(-129), 'd1ff7f');
add('int16 -32768', int(-32768), 'd18000');
add('int32 -32769', int(-32769), 'd2ffff7fff');
add('int32 -2^31', int(-(2 ** 31)), 'd280000000');
add('int64 -2^31-1', int(-(2 ** 31) - 1), 'd3ffffffff7fffffff');
add('int64 -(2^53-1)', int(-SAFE));
add('int64 -2^53', int(-(2n ** 53n)));
add('int64 -(2^53+1)', int(-(2n ** 53n) - 1n));
add('int64 -2^63', int(-(2n ** 63n)), 'd38000000000000000');
// Wider forms than needed: every codec writes them back at their smallest.
add('uint8 holding 0', int(0, 'u8'), 'cc00');
add('uint16 holding 5', int(5, 'u16'));
add('uint32 holding 255', int(255, 'u32'));
add('uint64 holding 1', int(1, 'u64'));
add('int8 holding 5', int(5, 'i8'), 'd005');
add('int8 holding -1', int(-1, 'i8'));
add('int16 holding -1', int(-1, 'i16'));
add('int32 holding 100', int(100, 'i32'));
add('int64 holding -5', int(-5, 'i64'));
add('int64 holding 2^40', int(2 ** 40, 'i64'));
add('int64 holding 2^63-1', int(2n ** 63n - 1n, 'i64'));

add('float64 0.0', f64(0), 'cb0000000000000000');
add('float64 -0.0', f64(-0), 'cb8000000000000000');
add('float64 1.0', f64(1));
add('float64 1.5', f64(1.5), 'cb3ff8000000000000');
add('float64 -1.5', f64(-1.5));
add('float64 0.1', f64(0.1));
add('float64 1e300', f64(1e300));
add('float64 smallest subnormal', f64('0000000000000001'));
add('float64 largest', f64('7fefffffffffffff'));
add('float64 Infinity', f64(Infinity), 'cb7ff0000000000000');
add('float64 -Infinity', f64(-Infinity), 'cbfff0000000000000');
add('float64 NaN', f64('7ff8000000000000'));
add('float64 NaN with payload', f64('7ff8000000000001'));
add('float64 negative NaN', f64('fff8000000000000'));
add('float64 2^53-1', f64(2 ** 53 - 1));
add('float64 -(2^53-1)', f64(-(2 ** 53 - 1)));
add('float64 2^53', f64(2 ** 53));
add('float64 2^63', f64(2 ** 63));
add('float64 1e15', f64(1e15));
add('float32 1.5', f32('3fc00000'), 'ca3fc00000');
add('float32 0.1', f32('3dcccccd'));
add('float32 2.0', f32('40000000'));
add('float32 0.0', f32('00000000'));
add('float32 -0.0', f32('80000000'));
add('float32 largest', f32('7f7fffff'));
add('float32 smallest subnormal', f32('00000001'));
add('float32 Infinity', f32('7f800000'));
add('float32 -Infinity', f32('ff800000'));
add('float32 NaN', f32('7fc00000'));

add('fixstr empty', str(''), 'a0');
add('fixstr a', str('a'), 'a161');
add('fixstr 31', str(rep('x', 31)));
add('str8 32', str(rep('x', 32)));
add('str8 255', str(rep('y', 255)));
add('str16 256', str(rep('z', 256)));
add('str16 65535', str(rep('w', 65535)));
add('str32 65536', str(rep('v', 65536)));
add('fixstr two-byte UTF-8', str('é'), 'a2c3a9');
add('fixstr three-byte UTF-8', str('日本語'));
add('fixstr four-byte UTF-8', str('😀'), 'a4f09f9880');
add('fixstr NUL and controls', str('\0\n\t"\\\x7f'));
add('fixstr 31 bytes of multibyte', str('é'.repeat(15) + 'a'));
add('str8 32 bytes in 8 characters', str('😀'.repeat(8)));
add('str16 65535 bytes multibyte', str('é'.repeat(32767) + 'a'));
add('str32 65536 bytes multibyte', str('日本語'.repeat(21845) + 'a'));
add('str U+FFFF and U+10FFFF', str('\uffff\u{10ffff}\u{10000}'));
add('str8 holding a', str('a', '8'), 'd90161');
add('str16 holding empty', str('', '16'), 'da0000');
add('str32 holding abc', str('abc', '32'));

add('bin8 empty', bin([], '8'), 'c400');
add('bin8 1', bin([0xff]), 'c401ff');
add('bin8 255', bin(bytes(255)));
add('bin16 256', bin(bytes(256)));
add('bin16 65535', bin(bytes(65535)));
add('bin32 65536', bin(bytes(65536)));
add('bin16 holding 3', bin([1, 2, 3], '16'), 'c50003010203');
add('bin32 holding 0', bin([], '32'));

add('fixarray empty', arr([]), '90');
add('fixarray 15', arr(Array.from({ length: 15 }, (_, i) => int(i))));
add('array16 16', arr(Array.from({ length: 16 }, (_, i) => int(-i))));
add('array16 65535', arr(Array.from({ length: 65535 }, () => nil())));
add('array32 65536', arr(Array.from({ length: 65536 }, (_, i) => bool(i % 3 === 0))));
add('array16 holding 1', arr([int(1)], '16'), 'dc000101');
add('array32 holding 0', arr([], '32'));
add('fixarray of mixed types', arr([nil(), bool(true), int(-1), f64(0.5), str('s'), bin([1]), arr([]), map([]), ext(7, [1]), ts(1, 0)]));

add('fixmap empty', map([]), '80');
add('fixmap 1', map([[str('a'), int(1)]]), '81a16101');
add('fixmap 15', map(strs(15)));
add('map16 16', map(strs(16)));
add('map16 1000', map(strs(1000, 'key-')));
add('map32 65536', map(strs(65536)));
add('map16 holding 1', map([[str('a'), nil()]], '16'), 'de0001a161c0');
add('map32 holding 0', map([], '32'));
add('map with empty key', map([[str(''), int(0)], [str('é'), int(1)]]));
add('map with key __proto__', map([[str('a'), int(1)], [str('__proto__'), map([[str('x'), int(2)]])]]));
// Array-index names come first in a JS object: dv8 writes them so (view
// j); names that are not array indices keep their place.
add('map with array-index keys', map([[str('b'), int(1)], [str('2'), int(2)], [str('1'), int(3)]]));
add('map with near-index keys', map([
  [str('x'), int(0)], [str('4294967295'), int(1)], [str('4294967294'), int(2)], [str('01'), int(3)],
  [str('-1'), int(4)], [str('1.5'), int(5)], [str('0'), int(6)],
]));
add('map with integer keys', map([[int(1), str('a')], [int(2), str('b')]]), '8201a16102a162');
add('map with a nil key', map([[nil(), int(1)]]), '81c001');
add('map with a string then an integer key', map([[str('a'), int(1)], [int(2), int(2)]]));
add('map with string, index-like and nil keys', map([[str('b'), int(1)], [str('2'), int(2)], [nil(), int(3)]]));
add('map with a boolean key', map([[bool(true), int(1)], [bool(false), int(0)]]));
add('map with negative and 64-bit keys', map([[int(-1), nil()], [int(2n ** 64n - 1n), nil()], [int(-(2n ** 63n)), nil()]]));
add('map with a float key', map([[f64(1.5), str('x')], [f64(-0.25), str('y')]]));
add('map with a binary key', map([[bin([0, 1, 2]), str('b')]]));
add('map with an array key', map([[arr([int(1), int(2)]), str('pair')]]));
add('map with a map key', map([[map([[str('a'), int(1)]]), str('object')], [map([[int(1), int(1)]]), str('Map')]]));
// The first key that is not a string makes dv8 read the entries before it
// again, skipping their values: values with 2- and 4-byte lengths here.
add('map with a str16 value, then an integer key', map([[str('a'), str(rep('x', 256))], [str(''), nil()], [int(1), nil()]]));
add('map with a bin16 value, then a nil key', map([[str('a'), bin(bytes(256))], [str('b'), int(2)], [nil(), int(3)]]));
add('map with an ext16 value, then an integer key', map([[str('a'), ext(9, bytes(300))], [str('b'), int(2)], [int(3), int(3)]]));
add('map with a bin32 in an array, then a boolean key', map([[str('a'), arr([bin(bytes(65536)), str(rep('s', 70000))])], [str('b'), int(2)], [bool(false), nil()]]));
add('map16 with integer keys', map(Array.from({ length: 20 }, (_, i) => [int(i * 1000), str('v' + i)])));
add('string map holding a Map', map([[str('m'), map([[int(1), map([[str('2'), int(2)], [str('a'), int(1)]])]])], [str('1'), arr([map([[nil(), nil()]])])]]));

let deep = int(1);
for (let i = 0; i < 32; i++) deep = arr([deep]);
add('arrays nested 32 deep', deep);
deep = str('leaf');
for (let i = 0; i < 32; i++) deep = i % 2 ? map([[str('k' + i), deep]]) : arr([int(i), deep]);
add('arrays and maps nested 32 deep', deep);
deep = nil();
for (let i = 0; i < 31; i++) deep = map([[int(i), deep]]);
add('integer-keyed maps nested 31 deep', deep);

add('fixext1 type 1', ext(1, [7]), 'd40107');
add('fixext2 type 2', ext(2, [1, 2]), 'd5020102');
add('fixext4 type 127', ext(127, [1, 2, 3, 4]), 'd67f01020304');
add('fixext8 type -128', ext(-128, bytes(8)));
add('fixext16 type -2', ext(-2, bytes(16)));
add('fixext1 type 0x4f', ext(0x4f, [0]));
add('fixext1 type 0x5a', ext(0x5a, [0]));
add('ext8 empty', ext(5, []), 'c70005');
add('ext8 3', ext(6, [1, 2, 3]), 'c70306010203');
add('ext8 255', ext(8, bytes(255)));
add('ext16 256', ext(9, bytes(256)));
add('ext16 65535', ext(10, bytes(65535)));
add('ext32 65536', ext(11, bytes(65536)));
add('ext8 holding 1 byte', ext(12, [1], '8'), 'c7010c01');
add('ext16 holding 16 bytes', ext(13, bytes(16), '16'));
add('ext32 holding 0 bytes', ext(14, [], '32'));
add('ext8 17 bytes type -3', ext(-3, bytes(17)));

add('timestamp32 0', ts(0, 0), 'd6ff00000000');
add('timestamp32 1', ts(1, 0));
add('timestamp32 2^32-1', ts(2 ** 32 - 1, 0), 'd6ffffffffff');
add('timestamp64 2^32', ts(2 ** 32, 0));
add('timestamp64 1s 1ns', ts(1, 1), 'd7ff0000000400000001');
add('timestamp64 2^34-1s 999999999ns', ts(2 ** 34 - 1, 999999999));
add('timestamp96 -1s', ts(-1, 0), 'c70cff00000000ffffffffffffffff');
add('timestamp96 -1s 999999999ns', ts(-1, 999999999));
add('timestamp96 2^34s', ts(2 ** 34, 0));
add('timestamp96 year 1', ts(-62135596800, 0));
add('timestamp96 2^53-1s', ts(SAFE, 123456789));
add('timestamp96 -(2^53-1)s', ts(-SAFE, 1));
add('timestamp64 holding 1s', ts(1, 0, 64), 'd7ff0000000000000001');
add('timestamp96 holding 0', ts(0, 0, 96));
add('timestamp96 holding 5s 5ns', ts(5, 5, 96));
add('timestamp32 in an ext8 header', ts(7, 0, 32, '8'), 'c704ff00000007');
// dv8's Timestamp holds seconds as a JS number, so it refuses the 96-bit
// form's seconds beyond 2^53 (serdes.js decodeTimestamp), which the format
// allows (int64) and Python's and Ruby's Timestamps hold. Pinned here so a
// change either way shows; reported as a dv8 defect.
const BEYOND = 'timestamp seconds beyond 2^53';
add('timestamp96 2^63-1s', ts(2n ** 63n - 1n, 999999999), null, { refuse: BEYOND });
add('timestamp96 -2^63s', ts(-(2n ** 63n), 0), 'c70cff000000008000000000000000', { refuse: BEYOND });
add('timestamp96 2^53s', ts(2n ** 53n, 0), null, { refuse: BEYOND });

export const edges = E;

// The builder against the bytes spelled out above.
for (const e of E) {
  if (!e.hex) continue;
  const got = Array.from(bytesOf(e, 'b'), (x) => x.toString(16).padStart(2, '0')).join('');
  if (got !== e.hex) throw new Error(`edge corpus builder: ${e.name} gives ${got}, ${e.hex} expected`);
}
