// The msgpack-test-suite dataset (npm package, installed by make deps into
// tests/peers): every encoding of every case decodes to the case's value,
// and dv8's encoding of the value is one of the accepted encodings.
import * as assert from './assert.js';
import * as fs from 'fs';
import { encode, decode, Extension, Timestamp } from 'serdes';

const file = `${import.meta.dirname}/../peers/node_modules/msgpack-test-suite/dist/msgpack-test-suite.json`;
assert.ok(fs.existsSync(file), `${file}: run 'make deps' first`);
const text = fs.readFileSync(file, 'utf8');
const suite = JSON.parse(text);
const bytes = (h) => new Uint8Array((h.match(/[0-9a-f]{2}/g) || []).map((x) => parseInt(x, 16)));
const hex = (u) => Array.from(u, (b) => b.toString(16).padStart(2, '0')).join('-');

let cases = 0;
let decodings = 0;
for (const [group, list] of Object.entries(suite)) {
  for (const c of list) {
    cases++;
    let value;
    let options;
    if ('nil' in c) value = null;
    else if ('bool' in c) value = c.bool;
    else if ('binary' in c) value = bytes(c.binary);
    else if ('number' in c) value = c.number;
    else if ('bignum' in c) value = BigInt(c.bignum);
    else if ('string' in c) value = c.string;
    else if ('array' in c) value = c.array;
    else if ('map' in c) value = c.map;
    else if ('timestamp' in c) {
      value = new Timestamp(c.timestamp[0], c.timestamp[1]);
      options = { timestamps: 'exact' };
    } else if ('ext' in c) value = new Extension(c.ext[0], bytes(c.ext[1]));
    else throw new Error(`${group}: a case of unknown kind: ${JSON.stringify(c)}`);
    const where = `${group} ${JSON.stringify(c).slice(0, 80)}`;
    for (const h of c.msgpack) {
      const got = decode(bytes(h), undefined, undefined, options);
      // A 64-bit integer within 2^53 is a Number, beyond it a BigInt.
      const want = typeof got === 'bigint' && 'bignum' in c ? BigInt(c.bignum) : value;
      assert.deepEqual(got, want, `${where}: decoding ${h}`);
      if (value instanceof Timestamp) {
        const date = decode(bytes(h));
        assert.equal(date.getTime(), c.timestamp[0] * 1000 + Math.floor(c.timestamp[1] / 1e6), `${where}: as a Date`);
      }
      decodings++;
    }
    const mine = hex(encode(value));
    assert.ok(c.msgpack.includes(mine), `${where}: dv8 encodes it as ${mine}, not one of ${c.msgpack.join(' ')}`);
  }
}
assert.ok(cases === 85 && decodings === 233, `only ${cases} cases, ${decodings} decodings`);
