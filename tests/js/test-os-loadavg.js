// os.loadavg() gives the 1, 5 and 15 minute load averages.
import * as assert from './assert.js';
import * as os from 'os';

const avg = os.loadavg();
assert.ok(Array.isArray(avg), 'loadavg() is an array');
assert.equal(avg.length, 3);
for (const v of avg) assert.ok(Number.isFinite(v) && v >= 0, `load ${v}`);
