// Every descriptor open() returns has O_CLOEXEC, whatever the flags, so
// none leaks into child processes.
import * as assert from './assert.js';
import * as fs from 'fs/raw';
import { makeTempDir, removeTree } from './fixtures/tmpdir.js';

const O_CLOEXEC = 0o2000000;
function flagsOf(fd) {
  const info = fs.readFile(`/proc/self/fdinfo/${fd}`, 'utf8');
  const m = /^flags:\s*([0-7]+)$/m.exec(info);
  assert.ok(m, info);
  return parseInt(m[1], 8);
}

const dir = makeTempDir('fs-cloexec');
try {
  for (const flags of ['w', 'r', 'r+', 'w+', 'a', 'a+', fs.O_RDONLY, fs.O_WRONLY | fs.O_CREAT]) {
    const fd = fs.open(`${dir}/f`, flags);
    assert.ok(fd >= 0, `open ${flags}: ${fd}`);
    assert.ok(flagsOf(fd) & O_CLOEXEC, `flags ${flags}`);
    assert.equal(fs.close(fd), 0);
  }
  // The access mode and append flag are what was asked for.
  let fd = fs.open(`${dir}/f`, 'a');
  assert.equal(flagsOf(fd) & 3, fs.O_WRONLY);
  assert.ok(flagsOf(fd) & fs.O_APPEND);
  assert.equal(fs.close(fd), 0);
  fd = fs.open(`${dir}/f`, 'r+');
  assert.equal(flagsOf(fd) & 3, fs.O_RDWR);
  assert.equal(fs.close(fd), 0);
} finally {
  removeTree(dir);
}
