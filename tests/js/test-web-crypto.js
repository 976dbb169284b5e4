// crypto.getRandomValues and crypto.randomUUID over OpenSSL's RAND_bytes
// (the crypto module, loaded on first use): integer typed arrays only
// (TypeMismatchError otherwise, TypeError for what is not a view), at most
// 65536 bytes (QuotaExceededError), version 4 UUIDs.
import * as assert from './assert.js';

assert.equal(String(crypto), '[object Crypto]');
const u8 = new Uint8Array(4096);
assert.equal(crypto.getRandomValues(u8), u8);
const distinct = new Set(u8);
assert.ok(distinct.size > 200, `${distinct.size} distinct byte values in 4096 random bytes`);
for (const C of [Int8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  BigInt64Array, BigUint64Array]) {
  const a = new C(64);
  crypto.getRandomValues(a);
  assert.ok(a.some((x) => x != 0), C.name);
}
// A view fills only its own bytes.
const whole = new Uint8Array(32);
crypto.getRandomValues(whole.subarray(8, 16));
assert.ok(whole.subarray(0, 8).every((x) => x === 0) && whole.subarray(16).every((x) => x === 0));
crypto.getRandomValues(new Uint8Array(65536));
crypto.getRandomValues(new Uint8Array(0));

const quota = assert.throws(() => crypto.getRandomValues(new Uint8Array(65537)), DOMException);
assert.equal(quota.name, 'QuotaExceededError');
assert.equal(quota.code, 22);
assert.equal(quota.message, "The ArrayBufferView's byte length (65537) exceeds the number of bytes of entropy available via this API (65536)");
for (const bad of [new Float32Array(1), new Float64Array(1), new DataView(new ArrayBuffer(1))]) {
  const err = assert.throws(() => crypto.getRandomValues(bad), DOMException);
  assert.equal(err.name, 'TypeMismatchError');
  assert.equal(err.message, 'The data argument must be an integer-type TypedArray');
}
for (const bad of [[1, 2], new ArrayBuffer(4), 'x', null]) {
  assert.throws(() => crypto.getRandomValues(bad), TypeError);
}
assert.throws(() => crypto.getRandomValues(), TypeError);

const uuids = new Set();
for (let i = 0; i < 1000; i++) {
  const id = crypto.randomUUID();
  assert.ok(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id), id);
  uuids.add(id);
}
assert.equal(uuids.size, 1000);
