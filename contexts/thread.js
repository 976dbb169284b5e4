// thread: worker threads, each with its own loop, isolate and context;
// values cross as serdes bytes over bounded channels. docs/threads.md.
//
// A builtin: the body of `function (binding) { ... }`, returning the exports
// of the 'thread' module. The natives (contexts/thread.cc) move bytes; this
// file turns them into values and callbacks.
'use strict';

const { encode, encodeInto, decode, EFULL, HANDLE_ID, addHandleReviver, reviveHandle, Handle } = binding.loadNative('serdes');
const ECLOSED = -30008; // DV8_ECLOSED: the other side is gone
const MOVED = Symbol.for('dv8.moved'); // a handle object's stream has moved away

// What a port's receiver is told (contexts/thread.cc).
const DATA = 1;
const EXIT = 2;
const BATCH = 3; // several messages: [length (u32 LE), serdes bytes]...
const DRAIN = 4;
const GONE = 5;
const SIGNAL = 6; // a control word, ahead of queued messages
const RELOADED = 7; // the thread's reload: undefined (it worked) or why not
const RELEASE = 8; // a reload retires this context: send what is held

// Calls fn with each value of a batch, in order.
// Delivers a batch to listener() (the onMessage now) message by message;
// if it becomes null part way, returns where it stopped, and the host puts
// the rest back in the channel to wait for the next listener.
function eachOfBatch(bytes, listener) {
  const n = bytes.length;
  let p = 0;
  while (p < n) {
    const fn = listener();
    if (fn === null) return p;
    const len = (bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24)) >>> 0;
    p += 4;
    const value = decode(bytes, p, p + len);
    p += len;
    fn(value);
  }
  return n;
}

// options.transfer: ArrayBuffers that move to the other side instead of
// being copied (they are detached here once the message is queued).
// What one side sends. Plain messages are framed ([length (u32 LE),
// serdes bytes]...) into a batch that goes to the channel as one message
// when it reaches BATCH_BYTES or at the end of the current job (a
// microtask): one native call and one allocation for many messages. If the
// channel refuses a batch (full), the batch waits here and later sends
// return EFULL until the channel has room again: memory stays bounded by
// the queue limit plus one batch, and nothing accepted is lost. Messages
// with a transfer list or handles go alone, after the batch (order kept).
const BATCH_BYTES = 16384;

class Outbox {
  #id;
  #buf = null; // made at the first send: many threads never get one
  #used = 0;
  #scheduled = false;
  #held = false; // a batch the channel refused waits for room
  #onDrain; // the user's, after the held batch has gone
  #onHold; // (held): a held batch keeps the thread alive until it goes
  #flushTask = () => { this.#scheduled = false; this.flush(); };

  constructor(id, onDrain, onHold) {
    this.#id = id;
    this.#onDrain = onDrain;
    this.#onHold = onHold;
  }

  send(value, options) {
    if (this.#held) return EFULL;
    if (options !== undefined) return this.#sendAlone(value, options);
    if (this.#buf === null) this.#buf = new Uint8Array(BATCH_BYTES * 2);
    const buf = this.#buf;
    let at = this.#used;
    metHandles.length = 0;
    let n = encodeInto(value, buf, at + 4, batchOptions);
    if (n === EFULL && at > 0) {
      const rc = this.flush(); // EFULL: the batch is held, value not taken
      if (rc !== 0) return rc;
      at = 0;
      n = encodeInto(value, buf, 4, batchOptions);
    }
    // A handle object in the value (a net Socket): the message moves it,
    // so it goes alone, with the handle.
    if (metHandles.length > 0) {
      metHandles.length = 0;
      return this.#sendAlone(value, {});
    }
    if (n === EFULL) return binding.portSend(this.#id, encode(value)); // bigger than a batch
    buf[at] = n; buf[at + 1] = n >>> 8; buf[at + 2] = n >>> 16; buf[at + 3] = n >>> 24;
    this.#used = at + 4 + n;
    if (this.#used >= BATCH_BYTES) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#flushTask);
    }
    return 0;
  }

  // 0, or what the channel said: EFULL holds the batch, ECLOSED drops it.
  flush() {
    if (this.#used === 0 || this.#held) return 0;
    const rc = binding.portSend(this.#id, this.#buf.subarray(0, this.#used), undefined, undefined, true);
    if (rc === EFULL) {
      this.#held = true;
      this.#onHold(true);
    } else {
      this.#used = 0;
    }
    return rc;
  }

  // The channel has room: the held batch goes first, then the user hears.
  // A reload retires this context, and this outbox with it: a batch it
  // holds (refused, or not yet flushed) goes now, past the bound, so that
  // nothing sent is lost; the drain that was due still comes, to the code
  // that takes the port over.
  release() {
    if (this.#used === 0) return;
    binding.portSend(this.#id, this.#buf.subarray(0, this.#used), undefined, undefined, true, true);
    this.#used = 0;
    if (this.#held) {
      this.#held = false;
      this.#onHold(false);
    }
  }

  drained() {
    if (this.#held) {
      this.#held = false;
      if (this.flush() === EFULL) return;
      this.#onHold(false);
    }
    this.#onDrain();
  }

  #sendAlone(value, options) {
    if (typeof options !== 'object' || options === null)
      throw new TypeError('send: options must be an object');
    const { transfer, handles } = options;
    if (transfer !== undefined && !Array.isArray(transfer))
      throw new TypeError('send: options.transfer must be an array of ArrayBuffers');
    if (handles !== undefined && !Array.isArray(handles))
      throw new TypeError('send: options.handles must be an array of handle ids');
    // Handle objects anywhere in the value move with it (as a reload's
    // state carries them), after those the handles list names (ids or
    // objects); the value names each by its place in the list (serdes'
    // moveHandles).
    const moving = handles === undefined ? [] : handles.map((h) => (isHandleObject(h) ? h : new ListedId(h)));
    const bytes = encode(value, { transfer, moveHandles: moving });
    const ids = moving.map((h) => (h instanceof ListedId ? h.id : h instanceof Handle ? h.id : h[HANDLE_ID]));
    const rc = this.flush();
    if (rc !== 0) return rc;
    const sent = binding.portSend(this.#id, bytes, transfer, moving.length > 0 ? ids : undefined);
    // A handle object is told once its stream has gone to the other side.
    if (sent === 0) for (const h of moving) if (!(h instanceof ListedId)) h[MOVED]?.();
    return sent;
  }
}

// Plain sends encode with this: a handle object met joins metHandles, and
// the message then goes alone with it (Outbox.send).
const metHandles = [];
const batchOptions = { moveHandles: metHandles };

const isHandleObject = (h) => typeof h === 'object' && h !== null && (h[HANDLE_ID] !== undefined || h instanceof Handle);

// An id a handles list gave, in the list serdes fills.
class ListedId {
  constructor(id) { this.id = id; }
}

// The value of a message that moved handles: each handle the value names
// (by its place in the list) is what this context's revivers make of its
// new id here (a net Socket or Server once 'net' is imported), a Handle
// else; a handle that could not be reopened here is its error code.
function decodeMessage(bytes, buffers, handles) {
  const options = {};
  if (buffers !== undefined) options.transfer = buffers;
  if (handles !== undefined)
    options.handles = (i) => {
      const id = handles[i - 1];
      return typeof id === 'number' && id > 0 ? reviveHandle(id) : id;
    };
  return decode(bytes, 0, undefined, options);
}

// The parent's handle on a thread.
class Thread {
  #id;
  #exited = false;
  #out;

  constructor(id) {
    this.#id = id;
    this.#out = new Outbox(id, () => { if (this.onDrain !== null) this.onDrain(); }, () => {});
    this.onExit = null; // (code, result, error) => {}
    this.onDrain = null; // () => {}: a send refused with EFULL may be retried
    this.onSignal = null; // (name) => {}: parent.signal(name) in the thread
    this.onReload = null; // (error) => {}: null, or why the thread's reload failed
    this.exitCode = undefined;
    binding.portOn(id, (kind, bytes, code, isError, buffers, handles) => this.#receive(kind, bytes, code, isError, buffers, handles));
  }

  #joined = null;
  #resolveJoin = null;
  #onMessage = null;

  // (value, handles) => {}. Until it is set, messages wait in the channel
  // (the thread meets its queue's bound), and then they come, in order.
  get onMessage() { return this.#onMessage; }
  set onMessage(fn) {
    if (fn !== null && typeof fn !== 'function') throw new TypeError('onMessage must be a function or null');
    this.#onMessage = fn;
    if (!this.#exited) binding.portListen(this.#id, fn !== null);
  }

  #receive(kind, bytes, code, isError, buffers, handles) {
    if (kind === SIGNAL) {
      if (this.onSignal !== null) this.onSignal(bytes);
      return;
    }
    if (kind === BATCH) {
      return eachOfBatch(bytes, () => this.#onMessage);
    }
    if (kind === DATA) {
      const value = decodeMessage(bytes, buffers, handles);
      if (this.#onMessage !== null) this.#onMessage(value, handles);
      return;
    }
    if (kind === DRAIN) {
      this.#out.drained();
      return;
    }
    if (kind === RELEASE) {
      this.#out.release();
      return;
    }
    if (kind === RELOADED) {
      if (this.onReload !== null) this.onReload(bytes === undefined ? null : bytes);
      return;
    }
    if (kind === EXIT) {
      this.#exited = true;
      this.exitCode = code;
      let result;
      let error = null;
      if (bytes !== undefined) {
        const v = decode(bytes);
        if (isError) error = v;
        else result = v;
      }
      this.#ended = { code, result, error };
      if (this.#resolveJoin !== null) this.#resolveJoin(this.#ended);
      if (this.onExit !== null) this.onExit(code, result, error);
      else if (error !== null && this.#joined === null) console.error('thread ended with', error);
    }
  }

  #ended = null;

  // A promise of { code, result, error }, settled when the thread has
  // ended (at once if it has).
  join() {
    if (this.#joined === null) {
      this.#joined = this.#ended !== null
        ? Promise.resolve(this.#ended)
        : new Promise((resolve) => { this.#resolveJoin = resolve; });
    }
    return this.#joined;
  }

  // A signal-like control message: it is not held back by a full queue
  // and reaches parent.onSignal(name) ahead of queued messages.
  signal(name) {
    if (typeof name !== 'string') throw new TypeError('signal: name must be a string');
    return this.#exited ? ECLOSED : binding.portSignal(this.#id, name);
  }

  get id() { return this.#id; }
  get running() { return !this.#exited; }

  // serdes writes a Thread as a reference to its port: in a reload's state
  // it arrives in the new code as a Thread (the reviver below), as if
  // adopted. One that has ended cannot cross.
  get [HANDLE_ID]() { return this.#exited ? -1 : this.#id; }

  // 0, EFULL (the thread's queue is full: wait for onDrain) or ECLOSED.
  send(value, options) {
    if (this.#exited) return ECLOSED;
    return this.#out.send(value, options);
  }

  // Stops the thread's JS, even a loop that never yields; onExit follows.
  terminate() {
    if (!this.#exited) binding.threadTerminate(this.#id);
  }

  // Asks the thread to reload its code from disk (docs/reload.md); with
  // { threads: true } the threads it started reload too. The outcome comes
  // to onReload. 0, or ECLOSED when the thread has ended.
  reload(options = {}) {
    if (typeof options !== 'object' || options === null)
      throw new TypeError('reload: options must be an object');
    return this.#exited ? ECLOSED : binding.threadReload(this.#id, options.threads === true);
  }

  // Whether the thread keeps this process alive (yes by default).
  ref() { if (!this.#exited) binding.portRef(this.#id, true); return this; }
  unref() { if (!this.#exited) binding.portRef(this.#id, false); return this; }
}

// spawn(path | function, { args, queueLimit, heapLimitMb }): a new thread
// running the module at path (relative to the caller's working directory,
// or absolute; its default export, if a function, is called with args), or
// the function (its source is sent, not its closure: it sees only its
// arguments and globals). The value returned, or awaited, comes back to
// onExit(code, result, error).
function spawn(what, options = {}) {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('spawn: options must be an object');
  let spec;
  let isSource = false;
  if (typeof what === 'function') {
    spec = String(what);
    isSource = true;
  } else if (typeof what === 'string') {
    spec = what;
  } else {
    throw new TypeError('spawn: expected a module path or a function');
  }
  const args = options.args === undefined ? [] : options.args;
  if (!Array.isArray(args)) throw new TypeError('spawn: options.args must be an array');
  const queueLimit = options.queueLimit === undefined ? 0 : options.queueLimit;
  const heapLimitMb = options.heapLimitMb === undefined ? 0 : options.heapLimitMb;
  if (!Number.isSafeInteger(queueLimit) || queueLimit < 0)
    throw new RangeError('spawn: options.queueLimit must be a byte count');
  if (!Number.isSafeInteger(heapLimitMb) || heapLimitMb < 0 || heapLimitMb > 1048576)
    throw new RangeError('spawn: options.heapLimitMb must be a whole number of MiB (up to 1048576)');
  // A thread that cannot start throws the system error (EAGAIN...).
  const id = binding.threadSpawn(spec, isSource, encode(args, { name: 'args' }), queueLimit, heapLimitMb);
  return new Thread(id);
}

// After a reload: a Thread for a running thread the code before started
// (its id crossed in the state), bound in this code.
// One Thread per id in this code: adopting the one a state brought gives
// that one.
const adopted = new Map();

function adopt(id) {
  if (typeof id !== 'number' || binding.portSide(id) !== 0)
    throw new TypeError(`adopt: ${String(id)} is not the id of a running thread`);
  let t = adopted.get(id);
  if (t === undefined) adopted.set(id, t = new Thread(id));
  return t;
}

// A Thread in a reload's state is adopted by the new code as it decodes
// (once this module is loaded there: the new code imports 'thread').
addHandleReviver((id) => (binding.portSide(id) === 0 ? adopt(id) : undefined));

// In a thread: the way to its parent. Setting onMessage keeps the thread
// alive to receive; setting it to null lets it end when nothing else runs.
class Parent {
  #id;
  #onMessage = null;
  #out;

  constructor(id) {
    this.#id = id;
    this.#out = new Outbox(id, () => { if (this.onDrain !== null) this.onDrain(); },
      (held) => binding.portRef(id, held || this.#onMessage !== null));
    this.onDrain = null;
    this.onClose = null; // the parent is gone
    this.onSignal = null; // (name) => {}: thread.signal(name) in the parent
    binding.portOn(id, (kind, bytes, code, isError, buffers, handles) => {
      if (kind === BATCH) return eachOfBatch(bytes, () => this.#onMessage);
      else if (kind === DATA) { if (this.#onMessage !== null) this.#onMessage(decodeMessage(bytes, buffers, handles), handles); }
      else if (kind === DRAIN) this.#out.drained();
      else if (kind === RELEASE) this.#out.release();
      else if (kind === GONE) { if (this.onClose !== null) this.onClose(); }
      else if (kind === SIGNAL) { if (this.onSignal !== null) this.onSignal(bytes); }
    });
  }

  get onMessage() { return this.#onMessage; }
  set onMessage(fn) {
    if (fn !== null && typeof fn !== 'function') throw new TypeError('onMessage must be a function or null');
    this.#onMessage = fn;
    binding.portRef(this.#id, fn !== null);
    binding.portListen(this.#id, fn !== null);
  }

  send(value, options) { return this.#out.send(value, options); }

  // A signal-like control message to the parent's thread.onSignal.
  signal(name) {
    if (typeof name !== 'string') throw new TypeError('signal: name must be a string');
    return binding.portSignal(this.#id, name);
  }
}

// Asked when first needed, not when this loads: a spare thread loads this
// module before it is given a spec and a parent (dv8__prepare_thread_main).
// Undefined (the main thread, or a spare not given work) is asked again.
let self;
let parent = null;
function threadSelf() {
  if (self === undefined) {
    self = binding.threadSelf();
    if (self !== undefined) parent = new Parent(self.port);
  }
  return self;
}

// A thrown value that is not an Error, for the message: as String() says it
// ('a string', Symbol(x)), or as inspect does when String() cannot
// (Object.create(null), an object whose toString throws).
function describe(value) {
  try {
    return String(value);
  } catch {}
  try {
    return globalThis.dv8.inspect(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

// Run by the host in a new thread (dv8__run_thread_main): loads the module
// or function, calls it with the arguments, and records what comes of it.
async function main() {
  try {
    const self = threadSelf();
    const args = decode(self.args);
    let fn;
    if (self.isSource) {
      fn = (0, eval)(`(${self.spec})`);
    } else {
      const ns = await import(self.spec);
      binding.threadEntry(ns); // what a reload of this thread loads again
      if (typeof ns.load === 'function') await ns.load(undefined, undefined);
      fn = typeof ns.default === 'function' ? ns.default : undefined;
    }
    const result = fn === undefined ? undefined : await fn(...args);
    binding.threadResult(encode(result, { name: 'result' }), false);
  } catch (err) {
    // The error and its stack go to the parent (uncaught, as any other).
    throw err instanceof Error ? err : new Error(`uncaught ${describe(err)}`);
  }
}

return {
  spawn,
  adopt,
  get parent() {
    threadSelf();
    return parent;
  },
  get isMainThread() { return threadSelf() === undefined; },
  main,
  EFULL,
  ECLOSED,
};
