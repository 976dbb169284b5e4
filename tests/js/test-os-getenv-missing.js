// os.getenv() gives undefined for a variable that is not set, including
// names that no variable can have.
import * as assert from './assert.js';
import * as os from 'os';

assert.equal(os.getenv('DV8_NO_SUCH_VAR'), undefined);
assert.equal(os.getenv(''), undefined);
assert.equal(os.getenv('PATH\0'), undefined);
assert.equal(os.getenv('DV8_NO=SUCH_VAR'), undefined);
