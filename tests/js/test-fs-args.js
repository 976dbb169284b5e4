// Programmer errors throw: wrong argument types a TypeError naming the
// function, offsets and lengths outside the buffer a RangeError.
import * as assert from './assert.js';
import * as fs from 'fs/raw';
import { makeTempDir, removeTree } from './fixtures/tmpdir.js';

const dir = makeTempDir('fs-args');
try {
  assert.throws(() => fs.open(42), TypeError);
  assert.throws(() => fs.open(), /open: argument 1 must be a string/);
  assert.throws(() => fs.open(`${dir}/f`, 'rw'), TypeError);
  assert.throws(() => fs.open(`${dir}/f`, {}), TypeError);
  assert.throws(() => fs.open(`${dir}/f`, 'w', '0644'), TypeError);
  assert.throws(() => fs.readFile(42), TypeError);
  assert.throws(() => fs.readFile(`${dir}/f`, 'latin1'), TypeError);
  assert.throws(() => fs.writeFile(`${dir}/f`, 42), /writeFile: argument 2/);
  assert.throws(() => fs.writeFile(`${dir}/f`), TypeError);
  assert.throws(() => fs.stat(), TypeError);
  assert.throws(() => fs.readdir(dir, 'x'), TypeError);
  assert.throws(() => fs.mkdir(null), TypeError);
  assert.throws(() => fs.rename(`${dir}/a`), TypeError);
  assert.throws(() => fs.close('3'), TypeError);
  assert.throws(() => fs.close(1.5), TypeError);
  assert.throws(() => fs.errname('ENOENT'), TypeError);
  assert.throws(() => fs.exists(undefined), TypeError);

  const fd = fs.open(`${dir}/f`, 'w+');
  assert.ok(fd >= 0);
  const buf = new Uint8Array(8);
  assert.throws(() => fs.read(fd, 'not a buffer'), TypeError);
  assert.throws(() => fs.read(fd, [1, 2]), TypeError);
  assert.throws(() => fs.read(fd, buf, '1'), TypeError);
  assert.throws(() => fs.read(fd, buf, 0, 1, 'start'), TypeError);
  assert.throws(() => fs.read(fd, buf, 9), RangeError);
  assert.throws(() => fs.read(fd, buf, -1), RangeError);
  assert.throws(() => fs.read(fd, buf, 0, 9), RangeError);
  assert.throws(() => fs.read(fd, buf, 4, 5), /read: length 5 from offset 4/);
  assert.throws(() => fs.read(fd, buf, 0, -1), RangeError);
  assert.throws(() => fs.write(fd, buf, 9), RangeError);
  assert.throws(() => fs.write(fd, 'abc', 1, 3), RangeError);
  assert.throws(() => fs.write(fd, {}), TypeError);
  // The edges are fine: an empty range at the end.
  assert.equal(fs.read(fd, buf, 8), 0);
  assert.equal(fs.write(fd, buf, 8, 0), 0);
  // null stands for a default.
  assert.equal(fs.write(fd, buf, null, null, null), 8);
  assert.equal(fs.read(fd, buf, null, null, 0), 8);
  // A BigInt position.
  assert.equal(fs.read(fd, buf, 0, 8, 4n), 4);
  assert.equal(fs.close(fd), 0);
} finally {
  removeTree(dir);
}
