// .json files import as modules whose default export is the parsed value;
// malformed JSON is a load error naming the file.
import * as assert from './assert.js';
import data from './fixtures/data.json';

assert.deepEqual(data, { name: 'dv8', list: [1, 2.5, null, true], nested: { emoji: '😀' } });
const again = await import('./fixtures/data.json');
assert.equal(again.default, data, 'one instance per context');
const err = await assert.rejects(import('./fixtures/broken.json'));
assert.ok(/fixtures\/broken\.json: SyntaxError: Unexpected token ,/.test(err.message), err.message);
