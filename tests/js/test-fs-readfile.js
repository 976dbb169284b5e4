// writeFile/readFile/appendFile of bytes: a few MB of pseudo-random bytes
// round trip, an empty file gives an empty Uint8Array or ''.
import * as assert from './assert.js';
import * as fs from 'fs/raw';
import { makeTempDir, removeTree } from './fixtures/tmpdir.js';

const dir = makeTempDir('fs-readfile');
try {
  const size = 4 * 1024 * 1024 + 3;
  const data = new Uint8Array(size);
  let x = 987654321;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    data[i] = x & 0xff;
  }
  assert.equal(fs.writeFile(`${dir}/data`, data), 0);
  const back = fs.readFile(`${dir}/data`);
  assert.ok(back instanceof Uint8Array);
  assert.equal(back.length, size);
  assert.equal(back.buffer.byteLength, size, 'one block of the exact size');
  let sum = 0;
  for (let i = 0; i < size; i++) {
    if (back[i] !== data[i]) assert.equal(back[i], data[i], `byte ${i}`);
    sum = (sum * 31 + back[i]) >>> 0;
  }
  assert.ok(sum !== 0);

  // An ArrayBuffer and a view with an offset are written as their bytes.
  assert.equal(fs.writeFile(`${dir}/ab`, data.buffer.slice(0, 10)), 0);
  assert.deepEqual(fs.readFile(`${dir}/ab`), data.subarray(0, 10));
  assert.equal(fs.writeFile(`${dir}/view`, data.subarray(5, 9)), 0);
  assert.deepEqual(fs.readFile(`${dir}/view`), data.subarray(5, 9));

  // appendFile adds at the end, and creates a missing file.
  assert.equal(fs.appendFile(`${dir}/log`, 'one\n'), 0);
  assert.equal(fs.appendFile(`${dir}/log`, new TextEncoder().encode('two\n')), 0);
  assert.equal(fs.readFile(`${dir}/log`, 'utf8'), 'one\ntwo\n');

  // Empty files.
  assert.equal(fs.writeFile(`${dir}/empty`, ''), 0);
  const empty = fs.readFile(`${dir}/empty`);
  assert.ok(empty instanceof Uint8Array);
  assert.equal(empty.length, 0);
  assert.equal(fs.readFile(`${dir}/empty`, 'utf8'), '');

  // The mode applies to a new file (under the umask, which clears no
  // owner bits).
  assert.equal(fs.writeFile(`${dir}/private`, 'x', 0o600), 0);
  assert.equal(fs.stat(`${dir}/private`).mode & 0o777, 0o600);
} finally {
  removeTree(dir);
}
