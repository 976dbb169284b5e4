// flags: --v8-flags=--expose-gc
// serdes keeps nothing of what it encoded alive: the encoder's reused
// lists are emptied after each encode, so an encoded object can be
// collected as soon as the caller drops it.
import * as assert from './assert.js';
import { encode } from 'serdes';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
let refs = [];
(() => {
  const objects = Array.from({ length: 100 }, (_, i) => ({ i, inner: [{ i }] }));
  refs = objects.map((o) => new WeakRef(o.inner[0]));
  assert.ok(encode(objects).length > 100);
})();
await tick(); // WeakRefs keep their targets until the job ends
for (let i = 0; i < 3; i++) gc();
assert.equal(refs.filter((r) => r.deref() !== undefined).length, 0, 'encoded objects still alive');
