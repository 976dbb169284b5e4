// mkdir, readdir (sorted, no . and .., with types), rename, unlink, rmdir,
// exists, realpath, copyFile.
import * as assert from './assert.js';
import * as fs from 'fs/raw';
import { makeTempDir, removeTree } from './fixtures/tmpdir.js';

const dir = makeTempDir('fs-dir');
try {
  assert.equal(fs.exists(`${dir}-not-there`), false);
  assert.equal(fs.exists(dir), true);
  assert.deepEqual(fs.readdir(dir), []);
  assert.equal(fs.mkdir(`${dir}/sub`, 0o700), 0);
  assert.equal(fs.stat(`${dir}/sub`).mode & 0o777, 0o700);
  assert.equal(fs.writeFile(`${dir}/b`, 'bee'), 0);
  assert.equal(fs.writeFile(`${dir}/a`, 'ay'), 0);
  assert.equal(fs.symlink('a', `${dir}/c`), 0);
  assert.deepEqual(fs.readdir(dir), ['a', 'b', 'c', 'sub']);
  assert.deepEqual(fs.readdir(dir, { withFileTypes: true }), [
    { name: 'a', type: 'file' },
    { name: 'b', type: 'file' },
    { name: 'c', type: 'symlink' },
    { name: 'sub', type: 'directory' },
  ]);
  assert.deepEqual(fs.readdir(dir, { withFileTypes: false }), ['a', 'b', 'c', 'sub']);

  // rename moves over an existing file.
  assert.equal(fs.rename(`${dir}/b`, `${dir}/sub/b2`), 0);
  assert.equal(fs.exists(`${dir}/b`), false);
  assert.equal(fs.readFile(`${dir}/sub/b2`, 'utf8'), 'bee');
  assert.equal(fs.rename(`${dir}/a`, `${dir}/sub/b2`), 0);
  assert.equal(fs.readFile(`${dir}/sub/b2`, 'utf8'), 'ay');

  // A dangling symlink does not exist, though lstat sees it.
  assert.equal(fs.exists(`${dir}/c`), false);
  assert.equal(fs.lstat(`${dir}/c`).isSymbolicLink, true);
  assert.equal(fs.unlink(`${dir}/c`), 0);

  // copyFile copies the bytes.
  assert.equal(fs.copyFile(`${dir}/sub/b2`, `${dir}/copy`), 0);
  assert.equal(fs.readFile(`${dir}/copy`, 'utf8'), 'ay');

  // realpath resolves . and .. and symlinks.
  assert.equal(fs.symlink(`${dir}/sub`, `${dir}/sublink`), 0);
  const real = fs.realpath(dir);
  assert.equal(typeof real, 'string');
  assert.equal(fs.realpath(`${dir}/sublink/../sub/./b2`), `${real}/sub/b2`);
  assert.equal(fs.realpath(`${dir}/nothing`), fs.ENOENT);

  assert.equal(fs.unlink(`${dir}/sublink`), 0);
  assert.equal(fs.unlink(`${dir}/sub/b2`), 0);
  assert.equal(fs.rmdir(`${dir}/sub`), 0);
  assert.deepEqual(fs.readdir(dir), ['copy']);
  assert.equal(fs.exists(`${dir}/sub`), false);
} finally {
  removeTree(dir);
}
