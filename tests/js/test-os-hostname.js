// os.hostname() (gethostname via libuv) is non-empty and agrees with the
// kernel's node name from uname(2).
import * as assert from './assert.js';
import * as os from 'os';

const name = os.hostname();
assert.equal(typeof name, 'string');
assert.ok(name.length > 0, 'hostname is empty');
assert.equal(name, os.uname().nodename);
