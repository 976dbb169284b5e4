// os.hrtime() is a monotonic BigInt of nanoseconds, and os.hrtimeMs() reads
// the same clock in milliseconds.
import * as assert from './assert.js';
import * as os from 'os';

const a = os.hrtime();
const ms = os.hrtimeMs();
const b = os.hrtime();
assert.equal(typeof a, 'bigint');
assert.ok(a > 0n, 'hrtime is positive');
assert.ok(b >= a, `hrtime went back: ${a} then ${b}`);
assert.equal(typeof ms, 'number');
assert.ok(Number(a) / 1e6 <= ms && ms <= Number(b) / 1e6, `${a} <= ${ms} ms <= ${b}`);

// Time passes: spin until the clock has moved 2 ms.
const start = os.hrtime();
let now = start;
while (now - start < 2_000_000n) {
  const next = os.hrtime();
  assert.ok(next >= now, `hrtime went back: ${now} then ${next}`);
  now = next;
}
