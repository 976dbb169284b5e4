// process: the object layer, what `import ... from 'process'` gives. A
// ChildProcess per child, over the id functions of 'process/raw'
// (modules/process/process.c), which it re-exports: code written for ids
// keeps working. spawn takes either form: a handlers object (or none) as
// its fourth argument gives a ChildProcess and throws an Error for a
// failure; a function gives the id form ({ id, pid, stdio } or a negative
// code). exec without a callback returns a promise.
//
// Embedded in process.so (DV8_MODULE_JS). Crossing: a ChildProcess is
// serialised (serdes) as its handle reference; in a reload's new code the
// reviver registered below makes it a ChildProcess again, bound to nothing
// until reload(handlers). Children do not cross an upgrade (the host
// refuses one while a child runs).
import * as raw from 'process/raw';
import { HANDLE_ID, addHandleReviver } from 'serdes';

export * from 'process/raw';

const INTERNAL = Symbol('process.internal');
const noop = () => {};

// Set by ChildProcess's static block: what spawn does with objects.
let spawnObjects;

// Live children of this context by id: a handle met twice in a state is
// one object.
const live = new Map();

function handlersOf(h, what) {
  if (h === undefined) return { exit: noop };
  if (typeof h !== 'object' || h === null)
    throw new TypeError(`${what}: handlers must be an object ({ exit })`);
  if (h.exit !== undefined && typeof h.exit !== 'function')
    throw new TypeError(`${what}: handlers.exit must be a function`);
  return { exit: h.exit ?? noop };
}

// A handler that throws: said on stderr with its stack, as net does; the
// program goes on.
function report(err) {
  console.error('Uncaught exception in a child process exit handler:');
  console.error(err);
}

export class ChildProcess {
  #id;
  #pid;
  #h;
  #exited = false;
  #status = null;
  #signal = null;

  constructor(token, id, pid, stdio, handlers) {
    if (token !== INTERNAL) throw new TypeError('ChildProcess: made by process.spawn, not by new');
    this.#id = id;
    this.#pid = pid;
    this.#h = handlers;
    // This side's ends of the pipes ([fd or -1, ...]: net.open(fd) makes
    // one a Socket); [] for a child that came in a reload's state.
    this.stdio = stdio;
    if (id > 0) live.set(id, this);
  }

  #onExit = (status, signal) => {
    this.#exited = true;
    this.#status = status;
    this.#signal = signal;
    live.delete(this.#id);
    try {
      this.#h.exit(this, status, signal);
    } catch (err) {
      report(err);
    }
  };

  get [HANDLE_ID]() { return this.#exited ? -1 : this.#id; }

  // The handle id, for the functions of 'process/raw'.
  get id() { return this.#id; }
  get pid() { return this.#pid; }
  get exited() { return this.#exited; }
  // The exit status, or null (running, or ended by a signal).
  get exitCode() { return this.#exited && this.#signal === null ? this.#status : null; }
  // The number of the signal that ended it, or null.
  get signalCode() { return this.#signal; }

  // Sends a signal (a name or a number, 'SIGTERM' by default): true, or
  // false once the child has exited. An unknown signal is a TypeError.
  kill(signal = 'SIGTERM') {
    if (this.#exited) return false;
    const rc = raw.kill(this.#id, signal);
    if (rc === raw.ESRCH) return false;
    if (rc < 0) throw raw.error(rc, `kill ${this.#pid}`);
    return true;
  }

  // Whether the child keeps this program alive (it does until it exits).
  ref(on = true) {
    if (!this.#exited) raw.ref(this.#id, Boolean(on));
    return this;
  }

  unref() { return this.ref(false); }

  // Binds the child to handlers ({ exit(child, status, signal) }): in a
  // reload's load(), a ChildProcess that came in the state; elsewhere, to
  // change them. An exit that came during the reload is delivered to them.
  reload(handlers) {
    const h = handlersOf(handlers, 'ChildProcess.reload');
    if (this.#exited) throw new Error(`ChildProcess.reload: process ${this.#pid} has exited`);
    const rc = raw.onExit(this.#id, this.#onExit);
    if (rc < 0) throw raw.error(rc, 'ChildProcess.reload');
    this.#h = h;
    return this;
  }

  toString() { return `ChildProcess(${this.#pid}${this.#exited ? ', exited' : ''})`; }

  static #spawn(file, args, options, handlers) {
    const h = handlersOf(handlers, 'spawn');
    const child = new ChildProcess(INTERNAL, 0, 0, [], h);
    const r = raw.spawn(file, args, options, child.#onExit);
    if (typeof r === 'number') {
      const err = raw.error(r, `spawn '${file}'`);
      err.syscall = 'spawn';
      err.path = file;
      throw err;
    }
    child.#id = r.id;
    child.#pid = r.pid;
    child.stdio = r.stdio;
    live.set(r.id, child);
    return child;
  }

  static {
    spawnObjects = (file, args, options, handlers) => ChildProcess.#spawn(file, args, options, handlers);
  }
}

// spawn(file, args, options, { exit(child, status, signal) }) -> a
// ChildProcess (an Error thrown if it cannot start: ENOENT, EACCES,
// EINVAL), or the id form spawn(file, args, options, onExit(status,
// signal)) -> { id, pid, stdio } or a code.
export function spawn(file, args = [], options = {}, handlers) {
  if (typeof handlers === 'function') return raw.spawn(file, args, options, handlers);
  return spawnObjects(file, args, options, handlers);
}

// exec(file, args, options) -> a promise of { status, signal, stdout,
// stderr } once the program has ended (stdout and stderr Uint8Arrays, or
// an ENOBUFS Error past options.maxOutput), rejected with an Error if it
// cannot start; or the id form exec(file, args, options, onDone(status,
// signal, stdout, stderr)) -> id or a code.
export function exec(file, args = [], options = {}, onDone) {
  if (onDone !== undefined) return raw.exec(file, args, options, onDone);
  let done;
  const result = new Promise((resolve) => { done = resolve; });
  const id = raw.exec(file, args, options, (status, signal, stdout, stderr) =>
    done({ status, signal, stdout, stderr }));
  if (id < 0) {
    const err = raw.error(id, `spawn '${file}'`);
    err.syscall = 'spawn';
    err.path = file;
    return Promise.reject(err);
  }
  return result;
}

// The ChildProcess for a child of this thread (made if need be, unbound),
// or undefined if id is no child.
function revive(id) {
  const known = live.get(id);
  if (known !== undefined) return known;
  const pid = raw.pid(id);
  if (typeof pid !== 'number' || pid < 0) return undefined;
  return new ChildProcess(INTERNAL, id, pid, [], handlersOf(undefined, 'revive'));
}

addHandleReviver(revive);

const all = { ...raw, spawn, exec, ChildProcess };
delete all.default;
export default all;
