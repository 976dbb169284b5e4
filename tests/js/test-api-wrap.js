// flags: --v8-flags=--expose-gc
// Native pointers on JS objects: unwrap finds them, foreign objects give
// nothing, and finalizers run (and free native memory) when the object is
// collected; external ArrayBuffers free their memory too.
import * as assert from './assert.js';
import * as api from 'apitest';

const w = api.wrap(12.5);
assert.equal(api.unwrap(w), 12.5);
assert.equal(api.unwrap({}), undefined);
assert.equal(api.unwrap(new Uint8Array(4)), undefined);
assert.equal(api.unwrap(null), undefined);

const before = api.wrapsFinalized();
const extBefore = api.externalFreed();
(function makeGarbage() {
  for (let i = 0; i < 100; i++) api.wrap(i);
  for (let i = 0; i < 10; i++) api.external(1 << 16);
})();
// Collection happens after the current task: let the stack unwind first.
await new Promise((resolve) => setTimeout(resolve, 1));
for (let i = 0; i < 5; i++) gc();
await new Promise((resolve) => setTimeout(resolve, 1));
gc();
assert.equal(api.wrapsFinalized() - before, 100, 'every dropped wrap finalized');
assert.equal(api.externalFreed() - extBefore, 10, 'every dropped external buffer freed');
assert.equal(api.unwrap(w), 12.5, 'a live wrap is untouched');
