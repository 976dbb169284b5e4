// dv8.handles(): every timer and reader is a host handle while it lives, with
// counters; finished and cleared ones leave the table.
import * as assert from './assert.js';

// Waits until closes begun now have completed: two timers in a row, since
// the first may fire in the very iteration whose end runs the close
// callbacks (when the loop starts late). Checked from its continuation,
// the second timer is still in the table (it closes once its callback
// returns), so the expected counts below add 1 for it.
const settle = () => new Promise((resolve) => setTimeout(() => setTimeout(resolve, 1), 1));

const base = dv8.handles().length;
const t = setTimeout(() => {}, 1000);
const iv = setInterval(() => {}, 1000);
let handles = dv8.handles();
assert.equal(handles.length, base + 2);
const mine = handles.find((h) => h.id === Number(t));
assert.ok(mine, 'the timeout is in the table under its id');
assert.equal(mine.type, 'timer');
assert.equal(mine.counters.events, 0);
clearTimeout(t);
clearInterval(iv);
// Closing completes on the next loop iteration.
await settle();
assert.equal(dv8.handles().length, base + 1, 'cleared timers left the table');

let fired = 0;
await new Promise((resolve) => {
  const tick = setInterval(() => {
    fired++;
    const h = dv8.handles().find((x) => x.id === Number(tick));
    assert.equal(h.counters.events, fired, 'events counts the firings');
    if (fired === 3) {
      clearInterval(tick);
      resolve();
    }
  }, 1);
});
for (let i = 0; i < 1000; i++) setTimeout(() => {}, 0);
await settle();
await settle();
assert.equal(dv8.handles().length, base + 1, '1000 fired timeouts left no handle behind');
