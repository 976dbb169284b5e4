// os.getenv(name) reads one variable; it agrees with os.env() and with the
// core's snapshot dv8.env.
import * as assert from './assert.js';
import * as os from 'os';

const path = os.getenv('PATH');
assert.equal(path, os.env().PATH);
assert.equal(path, dv8.env.PATH);
assert.equal(os.getenv('HOME'), os.env().HOME);
