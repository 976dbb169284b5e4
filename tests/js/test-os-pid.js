// os.pid() is this process's id, the one the core reports as dv8.pid, and
// os.ppid() is its parent's (the test runner's shell), a different process.
import * as assert from './assert.js';
import * as os from 'os';

assert.equal(os.pid(), dv8.pid);
const ppid = os.ppid();
assert.ok(Number.isInteger(ppid) && ppid > 0, `ppid ${ppid}`);
assert.ok(ppid !== os.pid(), 'ppid differs from pid');
