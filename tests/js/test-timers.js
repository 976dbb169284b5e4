// setTimeout/setInterval: order by delay, arguments, clearing, intervals,
// refresh, and timer objects usable as numbers.
import * as assert from './assert.js';

const order = [];
await new Promise((resolve) => {
  setTimeout(() => order.push(30), 30);
  setTimeout((a, b) => order.push(`args ${a} ${b}`), 1, 'x', 'y');
  setTimeout(() => order.push(10), 10);
  const cleared = setTimeout(() => order.push('cleared'), 5);
  clearTimeout(cleared);
  clearTimeout(cleared); // twice is fine
  const byNumber = setTimeout(() => order.push('cleared by number'), 5);
  clearTimeout(+byNumber);
  setTimeout(resolve, 50);
});
assert.deepEqual(order, ['args x y', 10, 30]);

let ticks = 0;
await new Promise((resolve) => {
  const iv = setInterval(() => {
    ticks++;
    if (ticks === 3) {
      clearInterval(iv);
      setTimeout(resolve, 20);
    }
  }, 2);
});
assert.equal(ticks, 3, 'interval stopped after clearInterval');

// Bad delays become 1 ms, as in browsers and node.
const t0 = performance.now();
await new Promise((resolve) => setTimeout(resolve, -5));
await new Promise((resolve) => setTimeout(resolve, NaN));
await new Promise((resolve) => setTimeout(resolve, 'abc'));
assert.ok(performance.now() - t0 < 1000);

// refresh() inside the callback re-arms a one-shot timer.
let fired = 0;
await new Promise((resolve) => {
  const t = setTimeout(() => {
    fired++;
    if (fired < 3) t.refresh();
    else resolve();
  }, 1);
});
assert.equal(fired, 3);

assert.throws(() => setTimeout('code string', 1), TypeError);
assert.throws(() => setInterval(null, 1), TypeError);
const t = setTimeout(() => {}, 1000);
assert.equal(t.hasRef(), true);
t.unref();
assert.equal(t.hasRef(), false);
clearTimeout(t);
