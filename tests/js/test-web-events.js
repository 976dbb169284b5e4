// EventTarget and Event as the DOM standard has them, without a tree:
// listeners in order, once, capture flags, handleEvent objects, duplicates
// ignored, stopImmediatePropagation, preventDefault, signal removal.
import * as assert from './assert.js';

const target = new EventTarget();
const calls = [];
const a = (e) => calls.push(['a', e.type, e.target === target, e.currentTarget === target, e.eventPhase]);
const b = { handleEvent(e) { calls.push(['b', this === b]); } };
target.addEventListener('ping', a);
target.addEventListener('ping', a); // a duplicate: ignored
target.addEventListener('ping', a, true); // capture: a different listener
target.addEventListener('ping', b, { once: true });
assert.equal(target.dispatchEvent(new Event('ping')), true);
assert.deepEqual(calls, [['a', 'ping', true, true, 2], ['a', 'ping', true, true, 2], ['b', true]]);
calls.length = 0;
target.removeEventListener('ping', a, { capture: true });
target.dispatchEvent(new Event('ping'));
assert.deepEqual(calls, [['a', 'ping', true, true, 2]]);

// After dispatch the event is at rest again.
const ev = new Event('x', { cancelable: true });
assert.equal(ev.eventPhase, Event.NONE);
target.addEventListener('x', (e) => e.preventDefault());
assert.equal(target.dispatchEvent(ev), false);
assert.equal(ev.defaultPrevented, true);
assert.equal(ev.currentTarget, null);
assert.equal(ev.target, target);
// Not cancelable, or passive: preventDefault does nothing.
assert.equal(target.dispatchEvent(new Event('x')), true);
target.addEventListener('y', (e) => e.preventDefault(), { passive: true });
assert.equal(target.dispatchEvent(new Event('y', { cancelable: true })), true);

// stopImmediatePropagation stops the listeners after it.
const order = [];
target.addEventListener('z', () => order.push(1));
target.addEventListener('z', (e) => { order.push(2); e.stopImmediatePropagation(); });
target.addEventListener('z', () => order.push(3));
target.dispatchEvent(new Event('z'));
assert.deepEqual(order, [1, 2]);

// A listener removed by an earlier one does not run; one added does not
// run in this dispatch.
const seen = [];
const late = () => seen.push('late');
const second = () => seen.push('second');
target.addEventListener('r', () => {
  seen.push('first');
  target.removeEventListener('r', second);
  target.addEventListener('r', late);
});
target.addEventListener('r', second);
target.dispatchEvent(new Event('r'));
assert.deepEqual(seen, ['first']);

// A signal removes its listener when it aborts.
const c = new AbortController();
let n = 0;
target.addEventListener('s', () => n++, { signal: c.signal });
target.dispatchEvent(new Event('s'));
c.abort();
target.dispatchEvent(new Event('s'));
assert.equal(n, 1);

// Subclasses work, and dispatchEvent insists on an Event.
class Custom extends Event {
  constructor(detail) { super('custom'); this.detail = detail; }
}
let detail;
target.addEventListener('custom', (e) => { detail = e.detail; });
target.dispatchEvent(new Custom(42));
assert.equal(detail, 42);
assert.throws(() => target.dispatchEvent({ type: 'x' }), TypeError);
assert.throws(() => new Event(), TypeError);

// Dispatching an event being dispatched is an InvalidStateError.
const inner = new Event('again');
let nested;
target.addEventListener('again', (e) => {
  try { target.dispatchEvent(e); } catch (err) { nested = err; }
});
target.dispatchEvent(inner);
assert.equal(nested.name, 'InvalidStateError');
