// import.meta: url, filename, dirname, main.
import * as assert from './assert.js';
import { meta } from './fixtures/meta.js';

assert.ok(import.meta.filename.endsWith('/tests/js/test-import-meta.js'));
assert.equal(import.meta.url, 'file://' + import.meta.filename);
assert.ok(import.meta.dirname.endsWith('/tests/js'));
assert.equal(import.meta.main, true);
assert.equal(meta.main, false);
assert.equal(meta.filename, import.meta.dirname + '/fixtures/meta.js');
