// import(): resolves relative to the importing file, returns the same
// namespace as a static import, and rejects with clear messages.
import * as assert from './assert.js';
import * as staticNs from './fixtures/math.js';

const ns = await import('./fixtures/math.js');
assert.equal(ns, staticNs);
assert.equal(ns.add(1, 1), 2);

const tla = await import('./fixtures/tla.js');
assert.equal(tla.value, 'late');

let err = await assert.rejects(import('./fixtures/missing.js'));
assert.ok(/cannot find module '\.\/fixtures\/missing\.js' imported from .*test-import-dynamic\.js/.test(err.message), err.message);

err = await assert.rejects(import('./fixtures/syntax-error.js'));
assert.ok(/syntax-error\.js:3:\d+: SyntaxError: Unexpected token ';'/.test(err.message), err.message);

err = await assert.rejects(import('./fixtures/throws.js'));
assert.ok(err instanceof RangeError);
assert.equal(err.message, 'thrown at evaluation');

err = await assert.rejects(import('no-such-native-module'));
assert.ok(/cannot find module 'no-such-native-module' \(searched .*\)/.test(err.message), err.message);

err = await assert.rejects(import('https://example.com/x.js'));
assert.ok(/does not import from the network/.test(err.message), err.message);
