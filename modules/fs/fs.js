// fs: the object layer, what `import ... from 'fs'` gives. Each function of
// 'fs/raw' (modules/fs/fs.c: values, or negative codes for failures) comes
// twice: NAMESync returns the value and throws an Error with .code, .errno,
// .syscall and .path for a failure ("ENOENT: no such file or directory,
// open '/nope'", as node says it); NAME returns a promise of the same
// value, rejected with the same Error. Wrong argument types throw a
// TypeError naming the argument, from either form.
//
// Embedded in fs.so (DV8_MODULE_JS) and evaluated in each context that
// imports 'fs'. The raw calls are synchronous (no thread pool): a promise
// form makes the call at once and returns a settled promise. Constants,
// errname, strerror and error come from 'fs/raw' unchanged.
import * as raw from 'fs/raw';

export * from 'fs/raw';

// The Error for a failed call: what raw.error makes (.code, .errno, the
// message), with node's .syscall, .path and .dest.
function fail(code, syscall, path, dest) {
  let what = syscall;
  if (path !== undefined) what += ` '${path}'`;
  if (dest !== undefined) what += ` -> '${dest}'`;
  const err = raw.error(code, what);
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  if (dest !== undefined) err.dest = dest;
  return err;
}

// A raw result: the value, or the Error thrown for a negative code.
function check(result, syscall, path, dest) {
  if (typeof result === 'number' && result < 0) throw fail(result, syscall, path, dest);
  return result;
}

function checkPath(path, fn, name = 'path') {
  if (typeof path !== 'string') throw new TypeError(`${fn}: ${name} must be a string (got ${typeof path})`);
}

function checkFd(fd, fn) {
  if (typeof fd !== 'number') throw new TypeError(`${fn}: fd must be a number (got ${typeof fd})`);
}

function checkData(data, fn) {
  if (typeof data !== 'string' && !ArrayBuffer.isView(data) && !(data instanceof ArrayBuffer))
    throw new TypeError(`${fn}: data must be a string, an ArrayBuffer or a typed array`);
}

// 'utf8' (or { encoding: 'utf8' }) -> 'utf8'; absent or null -> undefined
// (bytes).
function encodingOf(options, fn) {
  const enc = typeof options === 'object' && options !== null ? options.encoding : options;
  if (enc === undefined || enc === null) return undefined;
  if (enc === 'utf8' || enc === 'utf-8') return 'utf8';
  throw new TypeError(`${fn}: encoding must be 'utf8' or absent (bytes)`);
}

// A mode given as a number or as { mode }.
function modeOf(options, def, fn) {
  const mode = typeof options === 'object' && options !== null ? options.mode : options;
  if (mode === undefined || mode === null || typeof mode === 'string') return def;
  if (typeof mode !== 'number') throw new TypeError(`${fn}: mode must be a number`);
  return mode;
}

// Where readFile and writeFile failed: open's codes say open, the rest
// the transfer.
const OPEN_CODES = new Set([raw.ENOENT, raw.EACCES, raw.EPERM, raw.ENOTDIR, raw.ELOOP,
  raw.ENAMETOOLONG, raw.EMFILE, raw.EEXIST, raw.EINVAL]);

// ---- the Sync forms ----

export function openSync(path, flags = 'r', mode = 0o666) {
  checkPath(path, 'openSync');
  if (typeof flags !== 'string' && typeof flags !== 'number')
    throw new TypeError('openSync: flags must be a string or a number');
  if (typeof mode !== 'number') throw new TypeError('openSync: mode must be a number');
  return check(raw.open(path, flags, mode), 'open', path);
}

export function closeSync(fd) {
  checkFd(fd, 'closeSync');
  check(raw.close(fd), 'close');
}

export function readSync(fd, buffer, offset, length, position) {
  checkFd(fd, 'readSync');
  if (!ArrayBuffer.isView(buffer) && !(buffer instanceof ArrayBuffer))
    throw new TypeError('readSync: buffer must be an ArrayBuffer or a typed array');
  return check(raw.read(fd, buffer, offset, length, position), 'read');
}

export function writeSync(fd, data, offset, length, position) {
  checkFd(fd, 'writeSync');
  checkData(data, 'writeSync');
  return check(raw.write(fd, data, offset, length, position), 'write');
}

export function readFileSync(path, options) {
  checkPath(path, 'readFileSync');
  const result = raw.readFile(path, encodingOf(options, 'readFileSync'));
  if (typeof result === 'number') check(result, OPEN_CODES.has(result) ? 'open' : 'read', path);
  return result;
}

function writeOrAppend(fn, rawFn, path, data, options) {
  checkPath(path, fn);
  checkData(data, fn);
  encodingOf(options, fn);
  const rc = rawFn(path, data, modeOf(options, 0o666, fn));
  if (rc < 0) check(rc, OPEN_CODES.has(rc) ? 'open' : 'write', path);
}

export function writeFileSync(path, data, options) {
  writeOrAppend('writeFileSync', raw.writeFile, path, data, options);
}

export function appendFileSync(path, data, options) {
  writeOrAppend('appendFileSync', raw.appendFile, path, data, options);
}

export function statSync(path) {
  checkPath(path, 'statSync');
  return check(raw.stat(path), 'stat', path);
}

export function lstatSync(path) {
  checkPath(path, 'lstatSync');
  return check(raw.lstat(path), 'lstat', path);
}

export function fstatSync(fd) {
  checkFd(fd, 'fstatSync');
  return check(raw.fstat(fd), 'fstat');
}

export function existsSync(path) {
  return typeof path === 'string' && raw.exists(path);
}

export function readdirSync(path, options) {
  checkPath(path, 'readdirSync');
  return check(raw.readdir(path, options), 'scandir', path);
}

// mkdirSync(path, { recursive, mode } | mode): as node, or as 'fs/raw'
// (path, mode, recursive).
export function mkdirSync(path, options, recursive = false) {
  checkPath(path, 'mkdirSync');
  const mode = modeOf(options, 0o777, 'mkdirSync');
  if (typeof options === 'object' && options !== null) recursive = options.recursive;
  check(raw.mkdir(path, mode, Boolean(recursive)), 'mkdir', path);
}

export function rmdirSync(path) {
  checkPath(path, 'rmdirSync');
  check(raw.rmdir(path), 'rmdir', path);
}

export function unlinkSync(path) {
  checkPath(path, 'unlinkSync');
  check(raw.unlink(path), 'unlink', path);
}

// rmSync(path, { recursive, force }): a file, or with recursive a
// directory and all it holds (symlinks themselves, never what they point
// to); force: a missing path is no failure.
export function rmSync(path, options = {}) {
  checkPath(path, 'rmSync');
  if (typeof options !== 'object' || options === null) throw new TypeError('rmSync: options must be an object');
  const st = raw.lstat(path);
  if (typeof st === 'number') {
    if (st === raw.ENOENT && options.force) return;
    throw fail(st, 'rm', path);
  }
  if (st.isDirectory) {
    if (!options.recursive) throw fail(raw.EISDIR, 'rm', path);
    removeTree(path);
  } else {
    check(raw.unlink(path), 'rm', path);
  }
}

function removeTree(path) {
  const st = check(raw.lstat(path), 'rm', path);
  if (st.isDirectory) {
    for (const name of check(raw.readdir(path), 'rm', path)) removeTree(`${path}/${name}`);
    check(raw.rmdir(path), 'rm', path);
  } else {
    check(raw.unlink(path), 'rm', path);
  }
}

function twoPaths(fn, rawFn, syscall, a, b, aName, bName) {
  checkPath(a, fn, aName);
  checkPath(b, fn, bName);
  check(rawFn(a, b), syscall, a, b);
}

export function renameSync(from, to) {
  twoPaths('renameSync', raw.rename, 'rename', from, to, 'from', 'to');
}

export function copyFileSync(from, to) {
  twoPaths('copyFileSync', raw.copyFile, 'copyfile', from, to, 'from', 'to');
}

export function symlinkSync(target, path) {
  checkPath(target, 'symlinkSync', 'target');
  checkPath(path, 'symlinkSync');
  check(raw.symlink(target, path), 'symlink', target, path);
}

export function readlinkSync(path) {
  checkPath(path, 'readlinkSync');
  return check(raw.readlink(path), 'readlink', path);
}

export function realpathSync(path) {
  checkPath(path, 'realpathSync');
  return check(raw.realpath(path), 'realpath', path);
}

export function chmodSync(path, mode) {
  checkPath(path, 'chmodSync');
  if (typeof mode !== 'number') throw new TypeError('chmodSync: mode must be a number');
  check(raw.chmod(path, mode), 'chmod', path);
}

export function ftruncateSync(fd, length = 0) {
  checkFd(fd, 'ftruncateSync');
  check(raw.ftruncate(fd, length), 'ftruncate');
}

export function fsyncSync(fd) {
  checkFd(fd, 'fsyncSync');
  check(raw.fsync(fd), 'fsync');
}

// ---- the promise forms: the same call, its value or its Error ----

// A programmer's error (a TypeError, a RangeError) throws at once, as in
// the Sync form; a failure rejects.
function promised(fn) {
  return (...args) => {
    try {
      return Promise.resolve(fn(...args));
    } catch (err) {
      if (err instanceof TypeError || err instanceof RangeError) throw err;
      return Promise.reject(err);
    }
  };
}

export const open = promised(openSync);
export const close = promised(closeSync);
export const read = promised(readSync);
export const write = promised(writeSync);
export const readFile = promised(readFileSync);
export const writeFile = promised(writeFileSync);
export const appendFile = promised(appendFileSync);
export const stat = promised(statSync);
export const lstat = promised(lstatSync);
export const fstat = promised(fstatSync);
export const exists = promised(existsSync);
export const readdir = promised(readdirSync);
export const mkdir = promised(mkdirSync);
export const rmdir = promised(rmdirSync);
export const unlink = promised(unlinkSync);
export const rm = promised(rmSync);
export const rename = promised(renameSync);
export const copyFile = promised(copyFileSync);
export const symlink = promised(symlinkSync);
export const readlink = promised(readlinkSync);
export const realpath = promised(realpathSync);
export const chmod = promised(chmodSync);
export const ftruncate = promised(ftruncateSync);
export const fsync = promised(fsyncSync);

const all = {
  ...raw,
  openSync, closeSync, readSync, writeSync, readFileSync, writeFileSync, appendFileSync,
  statSync, lstatSync, fstatSync, existsSync, readdirSync, mkdirSync, rmdirSync, unlinkSync,
  rmSync, renameSync, copyFileSync, symlinkSync, readlinkSync, realpathSync, chmodSync,
  ftruncateSync, fsyncSync,
  open, close, read, write, readFile, writeFile, appendFile, stat, lstat, fstat, exists,
  readdir, mkdir, rmdir, unlink, rm, rename, copyFile, symlink, readlink, realpath, chmod,
  ftruncate, fsync,
};
delete all.default;
export default all;
