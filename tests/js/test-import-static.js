// Static imports: named, default, namespace; one instance per file.
import * as assert from './assert.js';
import mul, { add, PI } from './fixtures/math.js';
import * as ns from './fixtures/math.js';
import { three } from './fixtures/uses-math.js';

assert.equal(add(2, 3), 5);
assert.equal(mul(2, 3), 6);
assert.equal(PI, 3.14);
assert.equal(ns.add, add);
assert.equal(ns.default, mul);
assert.equal(three, 3);
assert.equal(globalThis.__mathEvaluations, 1, 'math.js evaluated once');
assert.equal(Object.prototype.toString.call(ns), '[object Module]');
