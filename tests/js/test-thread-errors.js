// Threads that fail end cleanly and the parent hears why, with the
// thread's stack: a throw, a rejection, an error in a later callback, a
// loop that never yields (terminated), a heap limit reached, a missing
// module, an exit with messages in flight. The parent goes on throughout.
import * as assert from './assert.js';
import { spawn, ECLOSED } from 'thread';

const ended = (t) => new Promise((resolve) => {
  t.onExit = (code, result, error) => resolve({ code, result, error });
});

let r = await ended(spawn(function thrower() { throw new TypeError('bad input'); }));
assert.equal(r.code, 1);
assert.ok(r.error instanceof TypeError);
assert.equal(r.error.message, 'bad input');
assert.ok(/at thrower/.test(r.error.stack), r.error.stack);

r = await ended(spawn(async () => { await null; throw new RangeError('later'); }));
assert.equal(r.code, 1);
assert.ok(r.error instanceof RangeError);

r = await ended(spawn(() => { setTimeout(function tick() { null.x; }, 1); return 'returned first'; }));
assert.equal(r.code, 1, 'an error after the return wins');
assert.ok(r.error instanceof TypeError);
assert.ok(/at tick/.test(r.error.stack), r.error.stack);
assert.equal(r.result, undefined);

r = await ended(spawn(() => { throw 'a string'; }));
assert.equal(r.code, 1);
assert.equal(r.error.message, 'uncaught a string');

const spinner = spawn(() => { for (;;); });
setTimeout(() => spinner.terminate(), 50);
r = await ended(spinner);
assert.equal(r.code, 1);
assert.equal(r.error.message, 'thread terminated');
assert.equal(spinner.running, false);

// terminate() on a thread waiting in its loop (not running JS).
const idle = spawn(async () => {
  const { parent } = await import('thread');
  parent.onMessage = () => {};
});
setTimeout(() => idle.terminate(), 20);
r = await ended(idle);
assert.equal(r.code, 1);

r = await ended(spawn(() => {
  const keep = [];
  for (;;) keep.push(new Array(1000).fill(keep.length));
}, { heapLimitMb: 24 }));
assert.equal(r.code, 1);
assert.ok(r.error instanceof RangeError);
assert.equal(r.error.message, 'thread heap limit of 24 MiB reached');

r = await ended(spawn('./no/such/thread-module.js'));
assert.equal(r.code, 1);
assert.ok(/cannot find module '\.\/no\/such\/thread-module\.js'/.test(r.error.message), r.error.message);

r = await ended(spawn(`${import.meta.dirname}/fixtures/syntax-error.js`));
assert.equal(r.code, 1);
assert.ok(/syntax-error\.js:3:20: SyntaxError: Unexpected token/.test(r.error.message), r.error.message);

// Exit with messages in flight: what the thread sent before exiting comes
// first, then the exit; sends after it report ECLOSED.
const quitter = spawn(async () => {
  const { parent } = await import('thread');
  for (let i = 0; i < 100; i++) parent.send(i);
  return 'bye';
});
const got = [];
quitter.onMessage = (v) => got.push(v);
for (let i = 0; i < 1000 && quitter.running; i++) quitter.send({ i });
r = await ended(quitter);
assert.equal(r.code, 0);
assert.equal(r.result, 'bye');
assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => i));
assert.equal(quitter.send(1), ECLOSED);

// Bad arguments are programmer errors.
assert.throws(() => spawn(42), TypeError);
assert.throws(() => spawn(() => 1, { args: 'x' }), TypeError);
assert.throws(() => spawn(() => 1, { heapLimitMb: -1 }), RangeError);
assert.throws(() => spawn(() => 1, { args: [() => 2] }), /args\[0\]: cannot serialize a function/);
console.log('parent still running');
