// readFile of a 100 MB file: one block of the file's size, bytes intact.
import * as assert from './assert.js';
import * as fs from 'fs/raw';
import { makeTempDir, removeTree } from './fixtures/tmpdir.js';

const dir = makeTempDir('fs-readfile-large');
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
