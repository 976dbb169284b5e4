// TextEncoder / TextDecoder (UTF-8): round trips, replacement and fatal
// modes, BOM handling, streaming across chunk boundaries, encodeInto.
import * as assert from './assert.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
assert.equal(enc.encoding, 'utf-8');
assert.equal(dec.encoding, 'utf-8');
const samples = ['', 'ascii', 'héllo', '€uro', '日本語', '😀 emoji', 'a\u0000b', '\uFFFF'];
for (const s of samples) assert.equal(dec.decode(enc.encode(s)), s, JSON.stringify(s));
assert.deepEqual([...enc.encode('€')], [0xe2, 0x82, 0xac]);
assert.deepEqual([...enc.encode('😀')], [0xf0, 0x9f, 0x98, 0x80]);
// A lone surrogate encodes as U+FFFD.
assert.deepEqual([...enc.encode('\uD800')], [0xef, 0xbf, 0xbd]);
assert.equal(enc.encode().length, 0);

// Invalid bytes: U+FFFD, or a TypeError in fatal mode.
assert.equal(dec.decode(new Uint8Array([0x61, 0xff, 0x62])), 'a\uFFFDb');
assert.equal(dec.decode(new Uint8Array([0xc0, 0x80])), '\uFFFD\uFFFD', 'overlong');
const fatal = new TextDecoder('utf-8', { fatal: true });
assert.equal(fatal.fatal, true);
assert.throws(() => fatal.decode(new Uint8Array([0x61, 0xff])), TypeError);
assert.throws(() => fatal.decode(new Uint8Array([0xed, 0xa0, 0x80])), TypeError, 'surrogate');
assert.throws(() => fatal.decode(new Uint8Array([0xf4, 0x90, 0x80, 0x80])), TypeError, 'above U+10FFFF');
assert.throws(() => fatal.decode(new Uint8Array([0xe2, 0x82])), TypeError, 'truncated');
assert.equal(fatal.decode(new Uint8Array([0xf0, 0x9f, 0x98, 0x80])), '😀');

// BOM: stripped by default, kept with ignoreBOM.
const bom = new Uint8Array([0xef, 0xbb, 0xbf, 0x41]);
assert.equal(dec.decode(bom), 'A');
assert.equal(new TextDecoder('utf8', { ignoreBOM: true }).decode(bom), '\uFEFFA');

// Streaming: a character split across chunks comes out whole.
const bytes = enc.encode('a😀b€c');
for (let cut = 0; cut <= bytes.length; cut++) {
  const d = new TextDecoder();
  const out = d.decode(bytes.subarray(0, cut), { stream: true }) + d.decode(bytes.subarray(cut));
  assert.equal(out, 'a😀b€c', `cut at ${cut}`);
}
// An unfinished sequence at the end of a stream becomes U+FFFD.
const d2 = new TextDecoder();
assert.equal(d2.decode(new Uint8Array([0xe2, 0x82]), { stream: true }), '');
assert.equal(d2.decode(), '\uFFFD');

// Inputs: ArrayBuffer, views with offsets, DataView.
const buf = enc.encode('xyz');
assert.equal(dec.decode(buf.buffer), 'xyz');
assert.equal(dec.decode(buf.subarray(1)), 'yz');
assert.equal(dec.decode(new DataView(buf.buffer, 2)), 'z');
assert.throws(() => dec.decode('str'), TypeError);
assert.throws(() => new TextDecoder('latin1'), RangeError);

// encodeInto: read counts UTF-16 units, never splits a character.
const target = new Uint8Array(5);
// 'a' and the pair fit (5 bytes); read counts the pair as two units.
assert.deepEqual(enc.encodeInto('a😀b', target), { read: 3, written: 5 });
assert.deepEqual([...target], [0x61, 0xf0, 0x9f, 0x98, 0x80]);
const small = new Uint8Array(3);
assert.deepEqual(enc.encodeInto('a😀', small), { read: 1, written: 1 });
assert.deepEqual(enc.encodeInto('€€', new Uint8Array(4)), { read: 1, written: 3 });
assert.deepEqual(enc.encodeInto('😀😀', new Uint8Array(4)), { read: 2, written: 4 });
assert.deepEqual(enc.encodeInto('a\uD800b', new Uint8Array(10)), { read: 3, written: 5 });
