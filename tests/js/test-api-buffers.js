// Buffers: raw memory of ArrayBuffers and views (with offsets), V8-owned and
// external ArrayBuffers, Uint8Array views with range checks.
import * as assert from './assert.js';
import * as api from 'apitest';

const u8 = new Uint8Array([1, 2, 3, 4, 5]);
assert.equal(api.sum(u8), 15);
assert.equal(api.sum(u8.buffer), 15);
assert.equal(api.sum(u8.subarray(1, 3)), 5, 'view offset respected');
assert.equal(api.sum(new DataView(u8.buffer, 2)), 12);
assert.equal(api.sum(new Uint16Array([256, 1])), 2);
assert.equal(api.sum(new ArrayBuffer(0)), 0);

const big = new Uint8Array(1 << 20);
assert.equal(api.fill(big.subarray(10, 20), 9), 10);
assert.equal(big[9], 0);
assert.equal(big[10], 9);
assert.equal(big[19], 9);
assert.equal(big[20], 0);

const ext = api.external(1000);
assert.ok(ext instanceof ArrayBuffer);
assert.equal(ext.byteLength, 1000);
const ev = new Uint8Array(ext);
assert.equal(ev[0], 0);
assert.equal(ev[255], 255);
assert.equal(ev[256], 0);
assert.equal(ev[999], 999 & 255);

const nb = api.newBuffer(16);
assert.ok(nb instanceof ArrayBuffer);
assert.deepEqual([...new Uint8Array(nb)], new Array(16).fill(7));

const view = api.u8(nb, 4, 8);
assert.ok(view instanceof Uint8Array);
assert.equal(view.byteOffset, 4);
assert.equal(view.length, 8);
assert.throws(() => api.u8(nb, 10, 8), RangeError);
assert.throws(() => api.u8('x', 0, 1), TypeError);
assert.equal(api.bufferLength(new Float64Array(3)), 24);
assert.equal(api.bufferLength({}), -30002, 'DV8_ETYPE for a non-buffer');
