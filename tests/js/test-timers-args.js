// clearTimeout and clearInterval ignore what cannot be a timer (NaN, 1.5,
// -1, strings), as browsers do; the native timers module refuses such ids
// and delays with a RangeError (a TypeError for non-numbers) naming the
// function and the argument.
import * as assert from './assert.js';
import * as timers from 'timers';

let fired = 0;
const t = setTimeout(() => fired++, 1);
for (const junk of [NaN, 1.5, -1, 0, Infinity, 2 ** 53, '1.5', 'x', {}, null, undefined]) {
  clearTimeout(junk);
  clearInterval(junk);
}
await new Promise((resolve) => setTimeout(resolve, 10));
assert.equal(fired, 1, 'the real timer was left alone');

const fn = () => {};
for (const name of ['clear', 'refresh', 'ref', 'unref', 'hasRef', 'counters']) {
  for (const bad of [NaN, 1.5, -1, 0, Infinity, 2 ** 53]) {
    const e = assert.throws(() => timers[name](bad), RangeError, `${name}(${bad})`);
    assert.ok(e.message.startsWith(`${name}: argument 1 must be a handle id`), e.message);
  }
  assert.throws(() => timers[name]('1'), TypeError, `${name}('1')`);
}
assert.throws(() => timers.start(fn, NaN, 0), /^start: argument 2 must be an integer from 0 to 9007199254740991 \(got NaN\)$/);
assert.throws(() => timers.start(fn, 1, NaN), /^start: argument 3 .*\(got NaN\)$/);
assert.throws(() => timers.start(fn, 1.5, 0), RangeError);
assert.throws(() => timers.start(fn, -1, 0), RangeError);
assert.throws(() => timers.start(fn, Infinity, 0), RangeError);
assert.throws(() => timers.start(fn, '1', 0), TypeError);

// Ids no timer has (any more) are ignored.
const id = timers.start(fn, 100000, 0);
timers.clear(id);
timers.clear(id);
// The close completes at the end of a loop iteration: two timers in a row
// wait for it (the first may fire in the iteration that completes it).
await new Promise((resolve) => setTimeout(() => setTimeout(resolve, 1), 1));
assert.equal(timers.hasRef(id), false);
assert.equal(timers.counters(id), undefined);
