// queueMicrotask and promise jobs run before timers, in order.
import * as assert from './assert.js';

const order = [];
await new Promise((resolve) => {
  setTimeout(() => { order.push('timeout'); resolve(); }, 0);
  queueMicrotask(() => order.push('micro 1'));
  Promise.resolve().then(() => order.push('promise'));
  queueMicrotask(() => {
    order.push('micro 2');
    queueMicrotask(() => order.push('nested micro'));
  });
  order.push('sync');
});
assert.deepEqual(order, ['sync', 'micro 1', 'promise', 'micro 2', 'nested micro', 'timeout']);
assert.throws(() => queueMicrotask('x'), TypeError);
