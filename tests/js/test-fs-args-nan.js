// fs's descriptors, flags, modes, offsets, lengths and positions are whole
// numbers (or BigInts): NaN, Infinity and fractions throw a TypeError naming
// the function and the argument, as any non-integer does in fs, and never
// reach a cast.
import * as assert from './assert.js';
import * as fs from 'fs/raw';
import { makeTempDir, removeTree } from './fixtures/tmpdir.js';

const dir = makeTempDir('fs-args-nan');
try {
  const file = `${dir}/f`;
  const fd = fs.open(file, 'w+');
  assert.ok(fd >= 0, `open: ${fd}`);
  const buf = new Uint8Array(8);
  const calls = {
    'open: argument 2': (n) => fs.open(file, n),
    'open: argument 3': (n) => fs.open(file, 'r', n),
    'close: argument 1': (n) => fs.close(n),
    'read: argument 1': (n) => fs.read(n, buf),
    'read: argument 3': (n) => fs.read(fd, buf, n),
    'read: argument 4': (n) => fs.read(fd, buf, 0, n),
    'read: argument 5': (n) => fs.read(fd, buf, 0, 8, n),
    'write: argument 1': (n) => fs.write(n, buf),
    'write: argument 3': (n) => fs.write(fd, buf, n),
    'write: argument 4': (n) => fs.write(fd, buf, 0, n),
    'write: argument 5': (n) => fs.write(fd, buf, 0, 8, n),
    'writeFile: argument 3': (n) => fs.writeFile(file, 'x', n),
    'appendFile: argument 3': (n) => fs.appendFile(file, 'x', n),
    'fstat: argument 1': (n) => fs.fstat(n),
    'mkdir: argument 2': (n) => fs.mkdir(`${dir}/d`, n),
    'chmod: argument 2': (n) => fs.chmod(file, n),
    'fsync: argument 1': (n) => fs.fsync(n),
    'ftruncate: argument 1': (n) => fs.ftruncate(n),
    'ftruncate: argument 2': (n) => fs.ftruncate(fd, n),
    'errname: argument 1': (n) => fs.errname(n),
    'strerror: argument 1': (n) => fs.strerror(n),
  };
  for (const [what, call] of Object.entries(calls)) {
    for (const bad of [NaN, Infinity, -Infinity, 1.5, -0.5]) {
      const e = assert.throws(() => call(bad), TypeError, `${what} (${bad})`);
      assert.ok(e.message.startsWith(`${what} must be an integer`), `${what}: ${e.message}`);
    }
  }
  assert.equal(fs.exists(`${dir}/d`), false, 'nothing was made');
  assert.equal(fs.close(fd), 0);
} finally {
  removeTree(dir);
}
