// Hostile input to serdes.decode: truncation, lengths beyond the input,
// wrong ext sizes, nesting bombs, 4 GiB length fields. Each is a
// SerdesError, at once, with no big allocation; then a deterministic
// mutation fuzz of valid encodings, where anything but a value or a
// SerdesError fails the test. (The libFuzzer target is tests/fuzz/.)
import * as assert from './assert.js';
import { encode, decode, SerdesError, Handle, Timestamp } from 'serdes';

const bytes = (h) => new Uint8Array((h.replace(/ /g, '').match(/../g) || []).map((x) => parseInt(x, 16)));
// Only decode is timed: turning a nesting bomb's hex into bytes alone takes
// 100-200 ms.
const refuse = (h, re) => {
  const input = bytes(h);
  const t0 = performance.now();
  const err = assert.throws(() => decode(input), SerdesError, h);
  assert.ok(re.test(err.message), `${h}: ${err.message} does not match ${re}`);
  assert.ok(performance.now() - t0 < 200, `${h} took too long`);
};

// Truncated values of every width.
for (const h of ['cc', 'cd00', 'ce000000', 'cf00000000000000', 'd0', 'd100', 'd2000000', 'd300000000000000',
  'ca000000', 'cb00000000000000', 'd9', 'da00', 'db000000', 'c4', 'c500', 'c6000000', 'dc00', 'dd000000',
  'de00', 'df000000', 'd4', 'd450', 'c7', 'c701', 'c80000', 'c900000000']) {
  refuse(h, /truncated|expected|bytes/);
}
refuse('', /no bytes/);
refuse('92 01', /array of 2 items in 1 bytes/);
refuse('a5 6162', /truncated: 5 bytes needed, 2 left/);
refuse('c4 05 0102', /truncated/);
refuse('82 a161 01', /map of 2 entries in 3 bytes/);
refuse('c1', /0xc1 is not a MessagePack type/);
refuse('c0 c0', /1 bytes after the value/);
// 4 GiB length fields: refused before anything is allocated.
refuse('db ffffffff 61', /truncated: 4294967295 bytes needed/);
refuse('c6 ffffffff 00', /truncated: 4294967295 bytes needed/);
refuse('dd ffffffff 00', /array of 4294967295 items in 1 bytes/);
refuse('df ffffffff 00 00', /map of 4294967295 entries in 2 bytes/);
refuse('c9 ffffffff 01 00', /truncated: 4294967295 bytes needed/);
refuse('c7 05 51 df ffffffff', /map of 4294967295 entries in 0 bytes/);
// Wrong ext sizes for dv8's types and the timestamp.
refuse('d5 50 0000', /special value of 2 bytes/);
refuse('d4 50 07', /unknown special value 7/);
refuse('c7 03 ff 000000', /timestamp of 3 bytes/);
refuse('d7 ff ffffffff 00000000', /nanoseconds/);
refuse('c7 0c ff 00000000 7fffffffffffffff', /beyond 2\^53/);
refuse('c7 00 53', /BigInt extension without bytes/);
refuse('c7 00 54', /without an element type/);
refuse('c7 04 54 07 000000', /3 bytes are not a whole number of Float64Array elements/);
refuse('d4 54 63', /unknown typed array type 99/);
refuse('d4 51 01', /Map extension without a map/);
refuse('d5 51 81 01', /map of 1 entries in 1 bytes/);
refuse('d4 52 01', /Set extension without an array/);
refuse('c7 03 52 91 01 01', /1 bytes left over inside an extension/);
refuse('d4 55 01', /Error extension without/);
refuse('c7 04 56 92 a1 28 a0', /bad RegExp/);
refuse('d4 57 00', /handle extension without a handle id/);
refuse('c7 02 57 a1 61', /handle extension without a handle id/);
refuse('c7 05 58 94 00 ff 00 00', /transferred buffer 0 is missing/);
// A container inside an ext cannot read past the ext's end.
refuse('d5 52 92 01 01', /truncated|array of 2 items in 1 bytes/);
// An empty Map extension followed by what looks like a map: the decoder
// read that byte as the Map's and said '-1 bytes' (issue 15).
refuse('92 c7 00 51 80', /^Map extension without a map inside at byte 4$/);
refuse('92 c7 00 51 de 00 00', /^Map extension without a map inside at byte 4$/);
refuse('92 c7 00 51 81 01 02', /^Map extension without a map inside at byte 4$/);
refuse('c7 00 51', /^Map extension without a map inside at byte 3$/);
// Nesting bombs: deep arrays, maps, and Maps inside Sets inside Maps.
refuse('91'.repeat(100000) + '00', /nesting deeper than 32/);
refuse('81a0'.repeat(100000) + '00', /nesting deeper than 32/);
let sets = 0;
for (let i = 0; i < 200; i++) sets = new Set([new Map([[i, sets]])]);
const setBomb = encode(sets, { maxDepth: 1000 });
assert.throws(() => decode(setBomb), /nesting deeper than 32/);
// Width bombs: many tiny claimed items, all refused by the size check.
refuse('dc ffff' + '00'.repeat(10), /array of 65535 items in 10 bytes/);

// Mutations of valid encodings: decode returns or throws SerdesError,
// nothing else, and never hangs.
const NEGATIVE_COUNT = /-\d+ (bytes|left)|in -\d/;
let seed = 12345;
const rand = (n) => {
  seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
  return (seed >>> 0) % n;
};
const samples = [
  { id: 1, name: 'Ada', ok: true, tags: ['a', 'b'] },
  [1, -1, 300, -300, 70000, 2 ** 40, 0.5, null, false, 'str', 'é'.repeat(40)],
  new Map([[1, new Set([2, 3])], ['k', new Date(1e12)]]),
  [new Float64Array([1, 2]), new Uint8Array([9, 9, 9]), 2n ** 80n, -5n, undefined],
  { e: new TypeError('x'), r: /a/g, h: new Handle(3), t: new Timestamp(5, 6) },
  { nested: { deeper: [[[{ x: [1, 2, { y: 'z' }] }]]] } },
];
const encoded = samples.map((s) => encode(s));
let values = 0;
let errors = 0;
const t0 = performance.now();
for (let i = 0; i < 30000; i++) {
  const base = encoded[rand(encoded.length)];
  let input = base.slice();
  const edits = 1 + rand(4);
  for (let e = 0; e < edits; e++) {
    const op = rand(5);
    const at = rand(input.length + 1);
    if (op === 0 && input.length > 0) input[at % input.length] = rand(256);
    else if (op === 1) input = input.subarray(0, at);
    else if (op === 2 && input.length > 0) input[at % input.length] ^= 1 << rand(8);
    else if (op === 3) {
      const grown = new Uint8Array(input.length + 1);
      grown.set(input.subarray(0, at));
      grown[at] = [0xdd, 0xdf, 0xc6, 0xdb, 0xc9, 0xff, 0x7f][rand(7)];
      grown.set(input.subarray(at), at + 1);
      input = grown;
    } else if (input.length > 4) input.set([0xff, 0xff, 0xff, 0xff], at % (input.length - 3));
  }
  try {
    decode(input);
    values++;
  } catch (err) {
    // A SerdesError, whose counts of bytes are true: none negative.
    if (!(err instanceof SerdesError) || NEGATIVE_COUNT.test(err.message)) {
      throw new Error(`mutated input ${Array.from(input, (b) => b.toString(16).padStart(2, '0')).join('')} threw ${err.stack}`);
    }
    errors++;
  }
}
assert.ok(values > 100 && errors > 10000, `values ${values}, errors ${errors}`);
// Every dv8 extension type with an empty or one-byte payload, followed by
// every byte: no message with a negative count.
for (let type = 0x50; type <= 0x59; type++) {
  for (let next = 0; next < 256; next++) {
    for (const input of [[0x92, 0xc7, 0, type, next, 0, 0], [0x92, 0xd4, type, next, 0, 0, 0]]) {
      try {
        decode(new Uint8Array(input));
      } catch (err) {
        if (!(err instanceof SerdesError) || NEGATIVE_COUNT.test(err.message))
          throw new Error(`${input.map((b) => b.toString(16)).join(' ')}: ${err.message}`);
      }
    }
  }
}
assert.ok(performance.now() - t0 < 60000);
