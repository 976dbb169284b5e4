// serdes extension types (docs/serdes.md has the table): each round-trips
// with its type kept, and the standard timestamp uses all three widths.
import * as assert from './assert.js';
import { encode, decode, types, Extension, Timestamp, Handle } from 'serdes';

const hex = (u) => Array.from(u, (b) => b.toString(16).padStart(2, '0')).join('');
const bytes = (h) => new Uint8Array(h.match(/../g).map((x) => parseInt(x, 16)));
const round = (v, options) => decode(encode(v, options), undefined, undefined, options);

// The type numbers are part of the format: changing one breaks old state.
assert.deepEqual({ ...types }, {
  timestamp: -1, special: 0x50, map: 0x51, set: 0x52, bigint: 0x53, typedArray: 0x54,
  error: 0x55, regexp: 0x56, handle: 0x57, transfer: 0x58, handleData: 0x59,
});

// undefined, alone and inside containers.
assert.equal(hex(encode(undefined)), 'd45000');
assert.deepEqual(round([undefined, { u: undefined }]), [undefined, { u: undefined }]);
assert.ok('u' in round({ u: undefined }));

// Date: timestamp 32 (seconds only), 64 (with nanoseconds), 96 (outside
// 0..2^34 s), and an invalid Date.
assert.equal(hex(encode(new Date(1514862245000))), 'd6ff5a4af6a5');
assert.equal(hex(encode(new Date(1514862245678))), 'd7ffa1a5d6005a4af6a5');
assert.equal(hex(encode(new Date(-1000))), 'c70cff00000000ffffffffffffffff');
for (const ms of [0, 1, 999, 1514862245678, -1, -1001, 17179869184000, -62167219200000, 8.64e15, -8.64e15]) {
  assert.equal(round(new Date(ms)).getTime(), ms, `Date(${ms})`);
}
assert.ok(Number.isNaN(round(new Date(NaN)).getTime()));
// Nanoseconds a Date cannot hold: Timestamp keeps them.
const ts = bytes('d7ffa1dcd7c85a4af6a5'); // 1514862245 s + 678901234 ns
assert.equal(decode(ts).getTime(), 1514862245678);
const exact = decode(ts, 0, ts.length, { timestamps: 'exact' });
assert.ok(exact instanceof Timestamp);
assert.deepEqual([exact.seconds, exact.nanoseconds], [1514862245, 678901234]);
assert.equal(hex(encode(exact)), hex(ts));
assert.equal(hex(encode(new Timestamp(-1, 999999999))), 'c70cff3b9ac9ffffffffffffffffff');

// Map with any keys, Set with any values, nested.
const m = new Map([[1, 'one'], ['1', 'string one'], [{ k: true }, [1]], [null, new Set([1, 'a', [2]])]]);
const mb = round(m);
assert.ok(mb instanceof Map);
assert.deepEqual(mb, m);
assert.deepEqual(round(new Set()), new Set());
assert.deepEqual(round(new Map()), new Map());
const bigMap = new Map(Array.from({ length: 5000 }, (_, i) => [i, `v${i}`]));
assert.deepEqual(round(bigMap), bigMap, 'a Map over 64 KiB (ext32 header)');

// BigInt: beyond 2^53 and within 64 bits as core int64/uint64; everything
// else as the bigint extension, so the type survives.
assert.equal(hex(encode(2n ** 60n)), 'cf1000000000000000');
assert.equal(hex(encode(-(2n ** 63n))), 'd38000000000000000');
assert.equal(hex(encode(5n)), 'd45305');
assert.equal(hex(encode(-1n)), 'd453ff');
assert.equal(hex(encode(128n)), 'd5530080');
for (const v of [0n, 1n, -1n, 127n, 128n, -128n, -129n, 2n ** 53n, 2n ** 64n - 1n, 2n ** 64n, -(2n ** 63n) - 1n,
  2n ** 1000n + 12345n, -(3n ** 500n)]) {
  assert.equal(round(v), v, `BigInt ${v}`);
}
assert.equal(typeof round(5n), 'bigint');

// Typed arrays and DataView keep their element type and values.
const kinds = [
  new Int8Array([-1, 2]), new Uint8ClampedArray([255, 0]), new Int16Array([-300, 3]),
  new Uint16Array([65535]), new Int32Array([-7, 1 << 30]), new Uint32Array([4294967295]),
  new Float32Array([1.5, -0]), new Float64Array([Math.PI, NaN]), new BigInt64Array([-5n]),
  new BigUint64Array([2n ** 64n - 1n]), new DataView(new Uint8Array([1, 2, 3]).buffer),
];
for (const k of kinds) {
  const back = round(k);
  assert.equal(back.constructor, k.constructor);
  assert.deepEqual(back, k, k.constructor.name);
}
// A view at an odd offset of a bigger buffer: only its own bytes.
const f64 = new Float64Array(new ArrayBuffer(8 * 5), 8, 2);
f64.set([1.25, 2.5]);
assert.deepEqual(round(f64), new Float64Array([1.25, 2.5]));

// Errors: class, message, stack and own properties (code, cause).
const e = new RangeError('too far');
e.code = 'EFAR';
e.cause = new Error('why');
const eb = round(e);
assert.ok(eb instanceof RangeError);
assert.equal(eb.message, 'too far');
assert.equal(eb.stack, e.stack);
assert.equal(eb.code, 'EFAR');
assert.ok(eb.cause instanceof Error);
assert.equal(eb.cause.message, 'why');
class AppError extends Error { constructor(m) { super(m); this.name = 'AppError'; } }
const ab = round(new AppError('custom'));
assert.ok(ab instanceof Error);
assert.equal(ab.name, 'AppError');
const agg = round(new AggregateError([], 'many'));
assert.ok(agg instanceof AggregateError);

// RegExp with its flags.
const re = round(/a+(b)?\/c/gimsuy);
assert.ok(re instanceof RegExp);
assert.equal(re.source, 'a+(b)?\\/c');
assert.equal(re.flags, 'gimsuy');

// Handles: by id, resolved by a hook (reload and thread handoff use it).
// (The smallest header: fixext1 for a one-byte payload, fixext8 for eight.)
assert.equal(hex(encode(new Handle(7))), 'd45707');
const hb = round({ sock: new Handle(42) });
assert.ok(hb.sock instanceof Handle);
assert.equal(hb.sock.id, 42);
const resolved = decode(encode([new Handle(3)]), undefined, undefined, { handles: (id) => `handle#${id}` });
assert.deepEqual(resolved, ['handle#3']);
const sock = { fd: 9 };
// A handle with data (0x59: [kind, id, data]): the data and kind go to
// the handles option; without it, a Handle.
const withData = new (class {
  get [Symbol.for('dv8.handle')]() { return 5; }
  get [Symbol.for('dv8.handleData')]() { return { kind: 'k', data: { n: 1 } }; }
})();
assert.equal(hex(encode(withData)), 'd75993a16b0581a16e01');
assert.deepEqual(decode(encode([withData]), undefined, undefined, { handles: (id, data, kind) => [id, data, kind] }),
  [[5, { n: 1 }, 'k']]);
assert.deepEqual(round(withData), new Handle(5));
const out = encode({ s: sock }, { handles: (o) => (o === sock ? 12 : undefined) });
assert.deepEqual(decode(out), { s: new Handle(12) });

// Transferred buffers: listed ones are referenced by index, not copied.
const t1 = new ArrayBuffer(16);
const t2 = new ArrayBuffer(8);
new Uint8Array(t1).fill(7);
const msg = encode({ a: t1, v: new Uint16Array(t1, 2, 3), b: t2, copy: new ArrayBuffer(4) }, { transfer: [t1, t2] });
assert.ok(msg.length < 60, 'transferred bytes are not in the message');
const other1 = new ArrayBuffer(16);
const other2 = new ArrayBuffer(8);
const tb = decode(msg, undefined, undefined, { transfer: [other1, other2] });
assert.equal(tb.a, other1);
assert.equal(tb.b, other2);
assert.ok(tb.v instanceof Uint16Array);
assert.equal(tb.v.buffer, other1);
assert.deepEqual([tb.v.byteOffset, tb.v.length], [2, 3]);
assert.ok(tb.copy instanceof Uint8Array && tb.copy.length === 4);
assert.throws(() => decode(msg), /transferred buffer 0 is missing/);

// moveBuffers: every ArrayBuffer met is listed (once) and referenced, not
// copied; views keep their type and window; what was listed before stays.
const m1 = new ArrayBuffer(32);
const shared = new Float32Array(m1, 4, 2);
const moved = [];
const mm = encode({ x: m1, y: shared, z: [new Uint8Array(m1, 8, 8)], w: new Uint8Array(1024) }, { moveBuffers: moved });
assert.equal(moved.length, 2);
assert.equal(moved[0], m1);
assert.ok(mm.length < 80, 'moved bytes are not in the message');
const back = decode(mm, undefined, undefined, { transfer: moved });
assert.equal(back.x, m1);
assert.ok(back.y instanceof Float32Array && back.y.buffer === m1 && back.y.byteOffset === 4 && back.y.length === 2);
assert.equal(back.z[0].buffer, m1);
assert.equal(back.w.length, 1024);
assert.throws(() => encode({}, { moveBuffers: 'all' }), /moveBuffers must be an array/);
assert.throws(() => encode({}, { moveBuffers: [], transfer: [] }), /excludes transfer/);

// Unknown extension types come back as Extension and encode as they were.
const x = decode(bytes('d5022021'));
assert.ok(x instanceof Extension);
assert.equal(x.type, 2);
assert.equal(hex(x.data), '2021');
assert.equal(hex(encode(x)), 'd5022021');
assert.equal(hex(encode(new Extension(7, new Uint8Array(3)))), 'c70307000000');
