// Replays the fuzzing corpus (tests/serdes/corpus: the fuzzer's seeds and
// inputs it found reaching new outcomes, tests/fuzz/serdes-fuzz.cc): each
// decodes to a value or throws SerdesError, nothing else, and the seeds
// decode.
import * as assert from './assert.js';
import * as fs from 'fs';
import { decode, SerdesError } from 'serdes';

const dir = `${import.meta.dirname}/../serdes/corpus`;
const names = fs.readdirSync(dir);
assert.ok(Array.isArray(names) && names.length >= 46, `corpus ${dir}: ${names}`);
let seeds = 0;
let refused = 0;
for (const name of names) {
  const bytes = fs.readFileSync(`${dir}/${name}`);
  assert.ok(bytes instanceof Uint8Array, `${name}: ${bytes}`);
  try {
    decode(bytes);
    if (name.startsWith('seed-')) seeds++;
  } catch (err) {
    if (!(err instanceof SerdesError)) throw new Error(`${name}: decode threw ${err.stack}`);
    assert.ok(!name.startsWith('seed-'), `seed ${name} does not decode: ${err.message}`);
    refused++;
  }
}
assert.equal(seeds, 45);
