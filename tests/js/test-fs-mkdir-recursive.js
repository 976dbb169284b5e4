// mkdir(path, mode, true) makes missing parents like mkdir -p and accepts an
// existing directory, but not an existing file.
import * as assert from './assert.js';
import * as fs from 'fs/raw';
import { removeTree } from './fixtures/tmpdir.js';

const dir = `/tmp/dv8-test-fs-mkdir-recursive-${dv8.pid}`;

removeTree(dir);
try {
  assert.equal(fs.mkdir(`${dir}/a/b/c`), fs.ENOENT, 'not recursive');
  assert.equal(fs.mkdir(`${dir}/a/b/c`, 0o755, true), 0);
  assert.equal(fs.stat(`${dir}/a/b/c`).isDirectory, true);
  assert.equal(fs.mkdir(`${dir}/a/b/c`, 0o755, true), 0, 'exists already');
  assert.equal(fs.mkdir(`${dir}/a/b/c`), fs.EEXIST, 'not recursive');
  assert.equal(fs.mkdir(`${dir}//a//x/y//`, undefined, true), 0, 'odd slashes');
  assert.equal(fs.stat(`${dir}/a/x/y`).isDirectory, true);

  assert.equal(fs.writeFile(`${dir}/file`, ''), 0);
  assert.equal(fs.mkdir(`${dir}/file`, 0o777, true), fs.EEXIST, 'a file is in the way');
  assert.equal(fs.mkdir(`${dir}/file/d/e`, 0o777, true), fs.ENOTDIR);
  assert.equal(fs.mkdir('/proc/dv8-nope/x', 0o777, true) < 0, true);
} finally {
  removeTree(dir);
}
