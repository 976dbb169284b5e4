// Strings are written as UTF-8, multibyte characters included, and come
// back whole from readFile(path, 'utf8').
import * as assert from './assert.js';
import * as fs from 'fs/raw';
import { makeTempDir, removeTree } from './fixtures/tmpdir.js';

const dir = makeTempDir('fs-utf8');
try {
  const text = 'héllo wörld ✓ 日本語 😀\n';
  const bytes = new TextEncoder().encode(text);
  const fd = fs.open(`${dir}/a.txt`, 'w');
  assert.equal(fs.write(fd, text), bytes.length, 'write returns UTF-8 bytes');
  // offset and length of a string count bytes of its UTF-8: 'é' is 2 bytes.
  assert.equal(fs.write(fd, 'é!', 0, 2), 2);
  assert.equal(fs.close(fd), 0);
  assert.equal(fs.readFile(`${dir}/a.txt`, 'utf8'), text + 'é');
  assert.equal(fs.readFile(`${dir}/a.txt`, 'utf-8'), text + 'é');
  assert.deepEqual(fs.readFile(`${dir}/a.txt`),
    new TextEncoder().encode(text + 'é'));

  // writeFile with a string, then a longer and a shorter one: truncated.
  assert.equal(fs.writeFile(`${dir}/b.txt`, text.repeat(1000)), 0);
  assert.equal(fs.readFile(`${dir}/b.txt`, 'utf8'), text.repeat(1000));
  assert.equal(fs.writeFile(`${dir}/b.txt`, '€'), 0);
  assert.equal(fs.readFile(`${dir}/b.txt`, 'utf8'), '€');
  assert.equal(fs.stat(`${dir}/b.txt`).size, 3);

  // A file name with multibyte characters.
  assert.equal(fs.writeFile(`${dir}/naïve ✓.txt`, 'x'), 0);
  assert.deepEqual(fs.readdir(dir), ['a.txt', 'b.txt', 'naïve ✓.txt']);
} finally {
  removeTree(dir);
}
