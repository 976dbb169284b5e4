// AbortController and AbortSignal: abort once with a reason (an AbortError
// DOMException by default), the abort event and onabort, throwIfAborted,
// AbortSignal.abort, AbortSignal.timeout (a TimeoutError, without keeping
// the program alive), AbortSignal.any.
import * as assert from './assert.js';

const c = new AbortController();
const s = c.signal;
assert.ok(s instanceof EventTarget);
assert.equal(s.aborted, false);
assert.equal(s.reason, undefined);
s.throwIfAborted();
const events = [];
s.addEventListener('abort', (e) => events.push(['listener', e.type, s.aborted]), { once: true });
s.onabort = (e) => events.push(['onabort', e.target === s]);
c.abort();
c.abort('again'); // a second abort changes nothing
assert.deepEqual(events, [['listener', 'abort', true], ['onabort', true]]);
assert.equal(s.aborted, true);
assert.ok(s.reason instanceof DOMException);
assert.equal(s.reason.name, 'AbortError');
assert.equal(s.reason.message, 'This operation was aborted');
assert.equal(assert.throws(() => s.throwIfAborted()), s.reason);

const reason = new Error('because');
const c2 = new AbortController();
c2.abort(reason);
assert.equal(c2.signal.reason, reason);

assert.throws(() => new AbortSignal(), TypeError);
const pre = AbortSignal.abort('why');
assert.equal(pre.aborted, true);
assert.equal(pre.reason, 'why');
assert.equal(assert.throws(() => pre.throwIfAborted()), 'why');
assert.equal(AbortSignal.abort().reason.name, 'AbortError');

// any(): follows the first to abort.
const x = new AbortController(), y = new AbortController();
const both = AbortSignal.any([x.signal, y.signal]);
y.abort('y first');
assert.equal(both.aborted, true);
assert.equal(both.reason, 'y first');
assert.equal(AbortSignal.any([pre]).reason, 'why');

assert.throws(() => AbortSignal.timeout(-1), RangeError);
const t0 = performance.now();
const timed = AbortSignal.timeout(20);
const fired = await new Promise((resolve) => {
  timed.onabort = () => resolve(performance.now() - t0);
  setTimeout(() => resolve(-1), 2000);
});
assert.ok(fired >= 19, `aborted after ${fired} ms`);
assert.equal(timed.reason.name, 'TimeoutError');
assert.equal(timed.reason.code, 23);

assert.equal(dv8.inspect(new AbortController()), 'AbortController { signal: AbortSignal { aborted: false } }');
assert.equal(dv8.inspect(pre), 'AbortSignal { aborted: true }');
