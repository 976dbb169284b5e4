// A thread that throws a value that is not an Error: its parent's error
// says what it was, as String() does or, when String() cannot (a
// null-prototype object, a toString that throws), as inspect does.
import * as assert from './assert.js';
import { spawn } from 'thread';

const ended = (fn) => new Promise((resolve) => {
  spawn(fn).onExit = (code, result, error) => resolve({ code, error });
});
const cases = [
  [() => { throw Symbol('s'); }, 'uncaught Symbol(s)'],
  [() => { throw Object.create(null); }, 'uncaught [Object: null prototype] {}'],
  [() => { throw { toString() { throw new Error('no'); } }; }, 'uncaught { toString: [Function: toString] }'],
  [() => { throw 7; }, 'uncaught 7'],
];
for (const [fn, message] of cases) {
  const r = await ended(fn);
  assert.equal(r.code, 1);
  assert.ok(r.error instanceof Error);
  assert.equal(r.error.message, message);
}
