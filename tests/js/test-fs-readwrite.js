// open/write/read/close round trip of a few MB of pseudo-random bytes, in
// chunks at offsets inside larger buffers, compared byte by byte.
import * as assert from './assert.js';
import * as fs from 'fs/raw';
import { makeTempDir, removeTree } from './fixtures/tmpdir.js';


function randomBytes(n, seed) {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const dir = makeTempDir('fs-readwrite');
try {
  const size = 3 * 1024 * 1024 + 17;
  const data = randomBytes(size, 12345);
  const fd = fs.open(`${dir}/data`, 'w+');
  assert.ok(fd >= 0, `open returned ${fd}`);

  // Write in uneven chunks straight out of the big buffer.
  let done = 0;
  for (let chunk = 1; done < size; chunk = (chunk * 7 + 1) % 70000 + 1) {
    const n = Math.min(chunk, size - done);
    assert.equal(fs.write(fd, data, done, n), n);
    done += n;
  }
  assert.equal(fs.fstat(fd).size, size);

  // The position is at the end: a read there is EOF.
  const small = new Uint8Array(16);
  assert.equal(fs.read(fd, small), 0);

  // Read it back by position into the middle of a bigger buffer.
  const back = new Uint8Array(size + 100);
  let got = 0;
  while (got < size) {
    const n = fs.read(fd, back, 50 + got, Math.min(65536, size - got), got);
    assert.ok(n > 0, `read returned ${n}`);
    got += n;
  }
  assert.equal(fs.read(fd, back, 0, 10, size), 0, 'read at EOF');
  for (let i = 0; i < size; i++) {
    if (back[50 + i] !== data[i]) assert.equal(back[50 + i], data[i], `byte ${i}`);
  }
  assert.equal(back[49], 0);
  assert.equal(back[50 + size], 0);

  // A positional write leaves the current position alone.
  assert.equal(fs.write(fd, new Uint8Array([1, 2, 3]), 0, 3, 10), 3);
  assert.equal(fs.read(fd, small), 0, 'position still at the end');
  assert.equal(fs.read(fd, small, 0, 5, 9), 5);
  assert.deepEqual([...small.subarray(0, 5)], [data[9], 1, 2, 3, data[13]]);

  // Views: a subarray reads at its own byteOffset; ArrayBuffer and DataView
  // work too.
  const whole = new Uint8Array(8);
  assert.equal(fs.read(fd, whole.subarray(4), 0, 4, 10), 4);
  assert.deepEqual([...whole], [0, 0, 0, 0, 1, 2, 3, data[13]]);
  const ab = new ArrayBuffer(4);
  assert.equal(fs.read(fd, ab, 0, 4, 0), 4);
  assert.deepEqual([...new Uint8Array(ab)], [...data.subarray(0, 4)]);
  const dv = new DataView(new ArrayBuffer(6), 2);
  assert.equal(fs.read(fd, dv, 1, 2, 10), 2);
  assert.deepEqual([...new Uint8Array(dv.buffer)], [0, 0, 0, 1, 2, 0]);

  // A zero-length read reads nothing.
  assert.equal(fs.read(fd, small, 16, 0, 0), 0);

  assert.equal(fs.close(fd), 0);
} finally {
  removeTree(dir);
}
