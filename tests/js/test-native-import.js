// Native modules import as ES modules: named exports, default export (the
// whole exports object), one instance per context.
import * as assert from './assert.js';
import api, { add, ABI, name } from 'apitest';

assert.equal(add(2, 3), 5);
assert.equal(name, 'apitest');
assert.equal(typeof ABI, 'number');
assert.equal(api.add, add);
const again = await import('apitest');
assert.equal(again.add, add);
assert.equal(again.default, api);
