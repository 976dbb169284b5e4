// Top-level await in the entry module waits on timers and promises.
import * as assert from './assert.js';

const order = [];
const v = await new Promise((resolve) => setTimeout(() => { order.push('timer'); resolve(42); }, 10));
order.push('after');
assert.equal(v, 42);
assert.deepEqual(order, ['timer', 'after']);
const { value } = await import('./fixtures/tla.js');
assert.equal(value, 'late');
