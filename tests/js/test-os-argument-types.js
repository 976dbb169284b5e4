// A wrong argument type is a programmer error: a TypeError naming the
// function.
import * as assert from './assert.js';
import * as os from 'os';

for (const bad of [undefined, null, 1, {}, Symbol('x'), ['PATH']]) {
  assert.throws(() => os.getenv(bad), TypeError);
}
assert.throws(() => os.getenv(), /getenv/);
