// readFile of a 100 MB file: one block of the file's size, bytes intact.
import * as assert from './assert.js';
import * as fs from 'fs';

const dir = `/tmp/dv8-test-fs-readfile-large-${dv8.pid}`;
function removeTree(path) {
  const st = fs.lstat(path);
  if (typeof st === 'number') return;
  if (st.isDirectory) {
    for (const name of fs.readdir(path)) removeTree(`${path}/${name}`);
    assert.equal(fs.rmdir(path), 0);
  } else {
    assert.equal(fs.unlink(path), 0);
  }
}

removeTree(dir);
assert.equal(fs.mkdir(dir), 0);
try {
  const size = 100 * 1024 * 1024;
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 2654435761) >>> 24;
  assert.equal(fs.writeFile(`${dir}/big`, data), 0);
  assert.equal(fs.stat(`${dir}/big`).size, size);

  const back = fs.readFile(`${dir}/big`);
  assert.equal(back.length, size);
  assert.equal(back.buffer.byteLength, size);
  for (let i = 0; i < size; i++) {
    if (back[i] !== data[i]) assert.equal(back[i], data[i], `byte ${i}`);
  }
} finally {
  removeTree(dir);
}
