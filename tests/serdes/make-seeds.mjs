// Writes the fuzzer's seed inputs (tests/serdes/corpus/seed-*): dv8's
// encodings of values of every type. Run once by hand:
//   build/dv8 tests/serdes/make-seeds.mjs tests/serdes/corpus
import * as fs from 'fs';
import { encode, Extension, Timestamp, Handle } from 'serdes';

const dir = dv8.args[0];
const seeds = [
  null, true, 0, -1, 300, -300, 70000, 2 ** 40, -(2 ** 40), 0.5, NaN, -0, 'a', 'é😀', 'x'.repeat(40), 'y'.repeat(300),
  [], [1, [2, [3]]], {}, { a: 1, b: 'two', c: [true, null] }, new Uint8Array([1, 2, 3]), new Uint8Array(300),
  undefined, new Date(0), new Date(1514862245678), new Date(-1000), new Date(NaN), new Timestamp(1, 2),
  new Map([[1, 'a'], ['b', [2]]]), new Set([1, 'x']), 5n, 2n ** 60n, -(2n ** 63n), 2n ** 100n, -(3n ** 80n),
  new Float64Array([1.5, 2]), new Int16Array([-1, 2]), new BigInt64Array([-3n]), new DataView(new ArrayBuffer(3)),
  new TypeError('boom'), /a.b/gi, new Handle(7), new Extension(9, new Uint8Array([1, 2])),
  { id: 12345, name: 'Ada Lovelace', ok: true, tags: ['admin', 'ops', 'x'] },
  { nested: { deeper: [[[{ x: [1, 2, { y: 'z' }] }]]] } },
];
seeds.forEach((v, i) => {
  fs.writeFileSync(`${dir}/seed-${String(i).padStart(2, '0')}`, encode(v));
});
const t = new ArrayBuffer(8);
fs.writeFileSync(`${dir}/transfer-without-list`, encode({ t, v: new Uint8Array(t, 2, 3) }, { transfer: [t] }));
console.log(`${seeds.length + 1} seeds in ${dir}`);
