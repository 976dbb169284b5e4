// Expected failures are negative codes with a name and a message, never
// exceptions.
import * as assert from './assert.js';
import * as fs from 'fs/raw';
import { makeTempDir, removeTree } from './fixtures/tmpdir.js';


assert.equal(fs.open('/nope', 'r'), -2);
assert.equal(fs.errname(-2), 'ENOENT');
assert.equal(fs.strerror(-2), 'no such file or directory');
assert.equal(fs.ENOENT, -2);
for (const name of ['ENOENT', 'EEXIST', 'EACCES', 'EISDIR', 'ENOTDIR', 'ENOTEMPTY', 'EBADF']) {
  assert.equal(typeof fs[name], 'number', name);
  assert.ok(fs[name] < 0, name);
  assert.equal(fs.errname(fs[name]), name);
  assert.equal(typeof fs.strerror(fs[name]), 'string');
}
assert.equal(fs.errname(-123456), 'UNKNOWN');
assert.equal(fs.errname(2 ** 40), 'UNKNOWN');

const dir = makeTempDir('fs-errors');
try {
  assert.equal(fs.readFile('/nope'), fs.ENOENT);
  assert.equal(fs.readFile('/nope', 'utf8'), fs.ENOENT);
  assert.equal(fs.writeFile('/nope/x', 'x'), fs.ENOENT);
  assert.equal(fs.stat('/nope'), fs.ENOENT);
  assert.equal(fs.readdir('/nope'), fs.ENOENT);
  assert.equal(fs.unlink(`${dir}/nope`), fs.ENOENT);
  assert.equal(fs.rename(`${dir}/nope`, `${dir}/x`), fs.ENOENT);

  // Writing to a descriptor opened read-only.
  assert.equal(fs.writeFile(`${dir}/file`, 'abc'), 0);
  const fd = fs.open(`${dir}/file`, 'r');
  assert.ok(fd >= 0);
  assert.equal(fs.write(fd, 'x'), fs.EBADF);
  assert.equal(fs.write(fd, new Uint8Array(1)), fs.EBADF);
  assert.equal(fs.close(fd), 0);
  // A closed descriptor, and a failed open's code used as one.
  assert.equal(fs.close(fd), fs.EBADF);
  assert.equal(fs.read(fd, new Uint8Array(1)), fs.EBADF);
  assert.equal(fs.read(-2, new Uint8Array(1)), fs.EBADF);
  assert.equal(fs.close(-2), fs.EBADF);

  assert.equal(fs.open(`${dir}/file`, 'wx'), fs.EEXIST);
  assert.equal(fs.mkdir(dir), fs.EEXIST);
  assert.equal(fs.rmdir(dir), fs.ENOTEMPTY);
  assert.equal(fs.rmdir(`${dir}/file`), fs.ENOTDIR);
  assert.equal(fs.readdir(`${dir}/file`), fs.ENOTDIR);
  assert.equal(fs.readFile(dir), fs.EISDIR);
  assert.equal(fs.open(dir, 'w'), fs.EISDIR);
  assert.equal(fs.unlink(dir), fs.EISDIR);
  assert.equal(fs.open(`${dir}/file/x`, 'r'), fs.ENOTDIR);
  assert.equal(fs.readFile(`${dir}/${'n'.repeat(300)}`), fs.ENAMETOOLONG);

  // A NUL in a path would cut it short: refused rather than truncated.
  assert.equal(fs.open(`${dir}/file\0ignored`, 'r'), fs.EINVAL);
  assert.equal(fs.writeFile(`${dir}/file\0x`, 'y'), fs.EINVAL);
  assert.equal(fs.exists(`${dir}/file\0x`), false);
  assert.equal(fs.readFile(`${dir}/file`, 'utf8'), 'abc');
} finally {
  removeTree(dir);
}
