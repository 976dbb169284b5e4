// os.homedir() and os.tmpdir() are absolute paths; homedir follows $HOME
// and tmpdir $TMPDIR as libuv does, without a trailing slash.
import * as assert from './assert.js';
import * as os from 'os';

const home = os.homedir();
assert.ok(typeof home === 'string' && home.startsWith('/'), `homedir ${home}`);
if (os.getenv('HOME')) assert.equal(home, os.getenv('HOME'));

const tmp = os.tmpdir();
assert.ok(typeof tmp === 'string' && tmp.startsWith('/'), `tmpdir ${tmp}`);
assert.ok(tmp === '/' || !tmp.endsWith('/'), `tmpdir ${tmp} ends with a slash`);
const fromEnv = os.getenv('TMPDIR');
if (fromEnv && fromEnv !== '/') assert.equal(tmp, fromEnv.replace(/\/$/, ''));
