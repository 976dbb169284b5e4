// fs's object layer: NAMESync returns values and throws an Error with
// .code, .errno, .syscall, .path and node's message; NAME returns a promise
// of the same value, rejected with the same Error; wrong argument types
// throw a TypeError naming the argument from either form. 'fs/raw' keeps
// the codes.
import * as assert from './assert.js';
import * as fs from 'fs';
import * as raw from 'fs/raw';
import { makeTempDir, removeTree } from './fixtures/tmpdir.js';

function isENOENT(err, syscall, path) {
  assert.ok(err instanceof Error, String(err));
  assert.equal(err.code, 'ENOENT');
  assert.equal(err.errno, fs.ENOENT);
  assert.equal(err.syscall, syscall);
  assert.equal(err.path, path);
  assert.equal(err.message, `ENOENT: no such file or directory, ${syscall} '${path}'`);
}

// Failures, Sync and promise forms.
isENOENT(assert.throws(() => fs.readFileSync('/nope')), 'open', '/nope');
isENOENT(await assert.rejects(fs.readFile('/nope')), 'open', '/nope');
isENOENT(await assert.rejects(fs.readFile('/nope', 'utf8')), 'open', '/nope');
isENOENT(assert.throws(() => fs.statSync('/nope')), 'stat', '/nope');
isENOENT(await assert.rejects(fs.lstat('/nope')), 'lstat', '/nope');
isENOENT(assert.throws(() => fs.readdirSync('/nope')), 'scandir', '/nope');
isENOENT(assert.throws(() => fs.openSync('/nope')), 'open', '/nope');
isENOENT(await assert.rejects(fs.open('/nope', 'r')), 'open', '/nope');
isENOENT(assert.throws(() => fs.unlinkSync('/nope')), 'unlink', '/nope');
isENOENT(assert.throws(() => fs.rmSync('/nope')), 'rm', '/nope');
isENOENT(assert.throws(() => fs.writeFileSync('/nope/x', 'x')), 'open', '/nope/x');
const renamed = assert.throws(() => fs.renameSync('/nope', '/tmp/x'));
assert.equal(renamed.message, "ENOENT: no such file or directory, rename '/nope' -> '/tmp/x'");
assert.equal(renamed.dest, '/tmp/x');
const badFd = assert.throws(() => fs.closeSync(123456));
assert.equal(badFd.code, 'EBADF');
assert.equal(badFd.message, 'EBADF: bad file descriptor, close');
assert.equal(badFd.path, undefined);

// The raw level is unchanged.
assert.equal(raw.readFile('/nope'), -2);
assert.equal(fs.errname(-2), 'ENOENT');

// Wrong argument types: TypeErrors naming the argument, thrown by both
// forms (never a rejection).
assert.throws(() => fs.readFileSync(7), /readFileSync: path must be a string/);
assert.throws(() => fs.readFile(7), /readFileSync: path must be a string/);
assert.throws(() => fs.readFileSync('/etc/hostname', 'latin1'), /encoding must be 'utf8'/);
assert.throws(() => fs.writeFileSync('/tmp/x', 7), /writeFileSync: data must be/);
assert.throws(() => fs.renameSync('/tmp/a', null), /renameSync: to must be a string/);
assert.throws(() => fs.closeSync('3'), /closeSync: fd must be a number/);
assert.throws(() => fs.readSync(0, 'x'), /readSync: buffer must be/);
assert.throws(() => fs.chmodSync('/tmp/x', '644'), /chmodSync: mode must be a number/);
assert.throws(() => fs.rmSync('/tmp/x', 'yes'), /rmSync: options must be an object/);

const dir = makeTempDir('fs-objects');
try {
  // Values: bytes, strings (utf8 or { encoding }), undefined for the rest.
  assert.equal(fs.writeFileSync(`${dir}/a`, 'héllo'), undefined);
  assert.equal(await fs.appendFile(`${dir}/a`, new Uint8Array([0x21])), undefined);
  const bytes = fs.readFileSync(`${dir}/a`);
  assert.ok(bytes instanceof Uint8Array);
  assert.equal(bytes.length, 7);
  assert.equal(fs.readFileSync(`${dir}/a`, 'utf8'), 'héllo!');
  assert.equal(await fs.readFile(`${dir}/a`, { encoding: 'utf8' }), 'héllo!');
  assert.equal((await fs.stat(`${dir}/a`)).size, 7);
  assert.ok(fs.statSync(dir).isDirectory);
  assert.ok(fs.existsSync(`${dir}/a`));
  assert.equal(await fs.exists(`${dir}/b`), false);

  // Descriptors.
  const fd = fs.openSync(`${dir}/a`, 'r');
  const buf = new Uint8Array(16);
  assert.equal(fs.readSync(fd, buf), 7);
  assert.equal(await fs.read(fd, buf), 0);
  assert.equal(fs.fstatSync(fd).size, 7);
  const readOnly = assert.throws(() => fs.writeSync(fd, 'x'));
  assert.equal(readOnly.code, 'EBADF');
  assert.equal(readOnly.syscall, 'write');
  assert.equal(await fs.close(fd), undefined);

  // Directories, node's mkdir options, rename, rm.
  fs.mkdirSync(`${dir}/d/e/f`, { recursive: true });
  await fs.mkdir(`${dir}/g`, 0o700);
  const exists = assert.throws(() => fs.mkdirSync(`${dir}/g`));
  assert.equal(exists.code, 'EEXIST');
  assert.deepEqual(fs.readdirSync(dir), ['a', 'd', 'g']);
  assert.deepEqual(await fs.readdir(dir, { withFileTypes: true }),
    [{ name: 'a', type: 'file' }, { name: 'd', type: 'directory' }, { name: 'g', type: 'directory' }]);
  await fs.rename(`${dir}/a`, `${dir}/d/e/f/a`);
  fs.symlinkSync('e', `${dir}/d/link`);
  assert.equal(fs.readlinkSync(`${dir}/d/link`), 'e');
  assert.equal(fs.realpathSync(`${dir}/d/link/f/a`), `${dir}/d/e/f/a`);
  const isDir = assert.throws(() => fs.rmSync(`${dir}/d`));
  assert.equal(isDir.code, 'EISDIR');
  await fs.rm(`${dir}/d`, { recursive: true });
  assert.equal(fs.existsSync(`${dir}/d`), false);
  assert.equal(fs.rmSync(`${dir}/d`, { force: true }), undefined);
  fs.writeFileSync(`${dir}/g/x`, '');
  const notEmpty = assert.throws(() => fs.rmdirSync(`${dir}/g`));
  assert.equal(notEmpty.code, 'ENOTEMPTY');
} finally {
  removeTree(dir);
}
