// Files whose stat size is 0 (/proc) are read to EOF, including ones larger
// than the first block readFile tries.
import * as assert from './assert.js';
import * as fs from 'fs/raw';
import { removeTree } from './fixtures/tmpdir.js';

const dir = `/tmp/dv8-test-fs-readfile-proc-${dv8.pid}`;

assert.equal(fs.stat('/proc/self/status').size, 0);
const status = fs.readFile('/proc/self/status', 'utf8');
assert.equal(typeof status, 'string');
assert.ok(status.startsWith('Name:'), status.slice(0, 40));
assert.ok(status.includes(`\nPid:\t${dv8.pid}\n`), 'status names our pid');
assert.ok(status.endsWith('\n'));

const bytes = fs.readFile('/proc/self/status');
assert.ok(bytes instanceof Uint8Array);
assert.ok(bytes.length > 100);
assert.equal(bytes.buffer.byteLength, bytes.length, 'no slack kept');

// smaps of a V8 process is well over 64 KiB: the block has to grow.
const smaps = fs.readFile('/proc/self/smaps', 'utf8');
assert.ok(smaps.length > 64 * 1024, `smaps is ${smaps.length} bytes`);
assert.ok(smaps.endsWith('\n'));
assert.ok(/^VmFlags:/m.test(smaps));
