// os.uptime() is the seconds since boot, and it does not go back.
import * as assert from './assert.js';
import * as os from 'os';

const a = os.uptime();
assert.equal(typeof a, 'number');
assert.ok(a > 0, `uptime ${a}`);
assert.ok(os.uptime() >= a, 'uptime went back');
