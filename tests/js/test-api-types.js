// Wrong argument types throw a TypeError naming the function, the argument
// and what it got.
import * as assert from './assert.js';
import * as api from 'apitest';

let err = assert.throws(() => api.add('1', 2), TypeError);
assert.equal(err.message, 'add: argument 1 must be a number (got string)');
err = assert.throws(() => api.add(1), TypeError);
assert.equal(err.message, 'add: argument 2 must be a number (got undefined)');
err = assert.throws(() => api.upper(5), TypeError);
assert.equal(err.message, 'upper: argument 1 must be a string (got number)');
err = assert.throws(() => api.sum('abc'), TypeError);
assert.equal(err.message, 'sum: argument 1 must be an ArrayBuffer or a typed array (got string)');
err = assert.throws(() => api.callNow({}), TypeError);
assert.equal(err.message, 'callNow: argument 1 must be a function (got object)');
err = assert.throws(() => api.getProp(1, 'a'), TypeError);
assert.equal(err.message, 'getProp: argument 1 must be an object (got number)');
err = assert.throws(() => api.throwType(), TypeError);
assert.equal(err.message, 'bad thing number 42');
// Native functions are not constructors.
assert.throws(() => new api.add(1, 2), TypeError);
