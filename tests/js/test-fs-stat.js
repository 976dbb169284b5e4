// stat, lstat and fstat: sizes, types, modes, times; symlinks followed by
// stat and not by lstat.
import * as assert from './assert.js';
import * as fs from 'fs/raw';
import { makeTempDir, removeTree } from './fixtures/tmpdir.js';

const dir = makeTempDir('fs-stat');
try {
  const before = Date.now();
  assert.equal(fs.writeFile(`${dir}/file`, 'hello'), 0);
  assert.equal(fs.chmod(`${dir}/file`, 0o640), 0);
  const st = fs.stat(`${dir}/file`);
  assert.equal(st.size, 5);
  assert.equal(st.isFile, true);
  assert.equal(st.isDirectory, false);
  assert.equal(st.isSymbolicLink, false);
  assert.equal(st.type, 'file');
  assert.equal(st.mode & 0o170000, 0o100000, 'S_IFREG');
  assert.equal(st.mode & 0o777, 0o640);
  assert.equal(st.nlink, 1);
  for (const key of ['dev', 'ino', 'uid', 'gid', 'rdev', 'blksize', 'blocks',
    'atimeMs', 'mtimeMs', 'ctimeMs', 'birthtimeMs']) {
    assert.equal(typeof st[key], 'number', key);
  }
  assert.ok(st.ino > 0);
  assert.ok(st.blksize > 0);
  // Filesystem timestamps may be a tick behind the wall clock.
  assert.ok(st.mtimeMs >= before - 1000 && st.mtimeMs <= Date.now() + 1000,
    `mtimeMs ${st.mtimeMs} near ${before}`);

  const d = fs.stat(dir);
  assert.equal(d.isDirectory, true);
  assert.equal(d.isFile, false);
  assert.equal(d.type, 'directory');

  // A symlink: stat follows it, lstat does not, readlink reads it.
  assert.equal(fs.symlink('file', `${dir}/link`), 0);
  assert.equal(fs.readlink(`${dir}/link`), 'file');
  assert.equal(fs.stat(`${dir}/link`).ino, st.ino);
  const l = fs.lstat(`${dir}/link`);
  assert.equal(l.isSymbolicLink, true);
  assert.equal(l.isFile, false);
  assert.equal(l.type, 'symlink');
  assert.equal(l.size, 4, 'a symlink is as long as its target');

  // fstat describes the open file.
  const fd = fs.open(`${dir}/file`, 'r');
  const f = fs.fstat(fd);
  assert.equal(f.ino, st.ino);
  assert.equal(f.dev, st.dev);
  assert.equal(f.size, 5);
  assert.equal(fs.close(fd), 0);

  assert.equal(fs.stat('/dev/null').type, 'char');
  assert.equal(fs.stat(`${dir}/missing`), fs.ENOENT);
  assert.equal(fs.lstat(`${dir}/missing`), fs.ENOENT);
  assert.equal(fs.fstat(fd), fs.EBADF, 'fstat of a closed fd');
} finally {
  removeTree(dir);
}
