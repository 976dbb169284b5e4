// os.env() is a fresh object of the whole environment: the same names and
// values as the core's dv8.env, every value a string.
import * as assert from './assert.js';
import * as os from 'os';

const env = os.env();
assert.equal(typeof env, 'object');
assert.deepEqual(Object.keys(env).sort(), Object.keys(dv8.env).sort());
for (const [k, v] of Object.entries(env)) {
  assert.equal(typeof v, 'string', k);
  assert.equal(v, dv8.env[k], k);
}
assert.ok(os.env() !== env, 'each call makes a new object');
