// globalThis.dv8: version, args, env, pid, hrtime, memoryUsage, exit; and
// performance.now.
import * as assert from './assert.js';

assert.ok(/^\d+\.\d+\.\d+$/.test(dv8.version));
assert.ok(/^10\./.test(dv8.versions.v8));
assert.ok(/^1\./.test(dv8.versions.uv));
assert.ok(Array.isArray(dv8.args));
assert.deepEqual(dv8.args, [], 'no arguments after the script');
assert.ok(Object.isFrozen(dv8.args));
assert.equal(typeof dv8.pid, 'number');
assert.ok(dv8.pid > 1);
assert.equal(typeof dv8.env.PATH, 'string');
assert.equal(dv8.env, dv8.env, 'the env snapshot is cached');
assert.ok(dv8.execPath.endsWith('/dv8'));

const a = dv8.hrtime();
const b = dv8.hrtime();
assert.equal(typeof a, 'bigint');
assert.ok(b >= a);
const p0 = performance.now();
await new Promise((resolve) => setTimeout(resolve, 20));
const elapsed = performance.now() - p0;
assert.ok(elapsed >= 19 && elapsed < 5000, `elapsed ${elapsed}`);
assert.ok(Math.abs(performance.timeOrigin + performance.now() - Date.now()) < 50);

const m = dv8.memoryUsage();
for (const k of ['rss', 'heapTotal', 'heapUsed', 'heapLimit', 'external']) {
  assert.equal(typeof m[k], 'number', k);
}
assert.ok(m.rss > 1e6);
assert.ok(m.heapUsed > 0 && m.heapUsed <= m.heapTotal);
assert.equal(typeof dv8.exit, 'function');
assert.equal(dv8.inspect({ a: [1, 2] }), '{ a: [ 1, 2 ] }');
