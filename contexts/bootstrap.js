// The globals of every dv8 context. This file is the body of
// `(function (binding) { ... })`, run once per context with `binding`, the
// core's native functions (contexts/context.cc). What is costly to set up,
// the formatter and native modules, loads on first use: a fresh context for a
// reload must cost little.
'use strict';

const global = globalThis;

function define(obj, name, value, enumerable = false) {
  Object.defineProperty(obj, name, {
    value, writable: true, configurable: true, enumerable,
  });
}

let formatter;
function fmt() {
  if (formatter === undefined) formatter = binding.builtin('inspect');
  return formatter;
}
// The core describes thrown values that are not Errors with it (an uncaught
// throw, a reload's failure): registered now, loaded when first used.
binding.setInspect((v) => fmt().inspect(v, { promiseState }));

// Events modules post (a read on each of 64 sockets) come up to 8 in a
// call, as parameters (a list would be garbage for every batch). at[0] is
// the one running, so that after one throws (reported as uncaught) the core
// can go on after it; at[1 + k] set means the kth closed meanwhile.
{
  const at = new Int32Array(9);
  const one = (k, fn, value) => {
    if (k < at[0] || at[1 + k] !== 0 || fn === undefined) return;
    at[0] = k;
    fn(value);
  };
  binding.setDeliver(function deliver(n, f0, v0, f1, v1, f2, v2, f3, v3,
    f4, v4, f5, v5, f6, v6, f7, v7) {
    one(0, f0, v0);
    if (n === 1) return;
    one(1, f1, v1);
    if (n === 2) return;
    one(2, f2, v2);
    if (n === 3) return;
    one(3, f3, v3);
    if (n === 4) return;
    one(4, f4, v4);
    if (n === 5) return;
    one(5, f5, v5);
    if (n === 6) return;
    one(6, f6, v6);
    if (n === 7) return;
    one(7, f7, v7);
  }, at);
}

// inspect.js cannot see promise state from JS: the core can.
const promiseStates = ['pending', 'fulfilled', 'rejected'];
function promiseState(p) {
  const [state, value] = binding.promiseState(p);
  return { state: promiseStates[state], value };
}

// ---- console ----

const counts = new Map();
const timings = new Map();
let groupIndent = '';

function write(fd, args) {
  let text = args.length === 1 && typeof args[0] === 'string'
    ? args[0]
    : fmt().formatArgs(args, { promiseState });
  if (groupIndent !== '') text = groupIndent + text.split('\n').join('\n' + groupIndent);
  binding.print(fd, text + '\n');
}

const console = {
  log(...args) { write(1, args); },
  info(...args) { write(1, args); },
  debug(...args) { write(1, args); },
  error(...args) { write(2, args); },
  warn(...args) { write(2, args); },
  dir(value, options) {
    binding.print(1, fmt().inspect(value, { promiseState, ...options }) + '\n');
  },
  trace(...args) {
    const err = new Error(args.length ? fmt().formatArgs(args, { promiseState }) : '');
    err.name = 'Trace';
    binding.print(2, err.stack.replace(/^.*\n\s+at console\.trace.*\n/, (m) => m.split('\n')[0] + '\n') + '\n');
  },
  assert(ok, ...args) {
    if (ok) return;
    write(2, args.length ? ['Assertion failed:', ...args] : ['Assertion failed']);
  },
  count(label = 'default') {
    const n = (counts.get(label) || 0) + 1;
    counts.set(label, n);
    write(1, [`${label}: ${n}`]);
  },
  countReset(label = 'default') { counts.delete(label); },
  time(label = 'default') { timings.set(label, binding.now()); },
  timeLog(label = 'default', ...args) {
    const start = timings.get(label);
    if (start === undefined) return write(2, [`Warning: No such label '${label}'`]);
    write(1, [`${label}: ${(binding.now() - start).toFixed(3)}ms`, ...args]);
  },
  timeEnd(label = 'default') {
    console.timeLog(label);
    timings.delete(label);
  },
  group(...args) {
    if (args.length) write(1, args);
    groupIndent += '  ';
  },
  groupEnd() { groupIndent = groupIndent.slice(2); },
  table(data, properties) {
    const text = fmt().formatTable(data, properties, { promiseState });
    write(1, [text]);
  },
};
define(global, 'console', console);

// ---- timers ----
// One libuv timer per JS timer, owned by the host's handle table; JS holds
// a Timeout over its id. A reload clears the old code's timers, except
// those its unload() hands on in the state: they arrive as Timeouts (the
// reviver below, which serdes asks first) and go on under the new code
// once it binds them with timeout.reload(callback).

let timers;
function nativeTimers() {
  if (timers === undefined) timers = binding.loadNative('timers');
  return timers;
}

// As in browsers and node: a delay that is not a number >= 1 (or is past
// 2^31 - 1 ms) becomes 1.
function delayOf(ms) {
  ms = Number(ms);
  return ms >= 1 && ms <= 2147483647 ? Math.trunc(ms) : 1;
}

const HANDLE_ID = Symbol.for('dv8.handle');

class Timeout {
  #id;
  constructor(id) { this.#id = id; }
  ref() { nativeTimers().ref(this.#id); return this; }
  unref() { nativeTimers().unref(this.#id); return this; }
  hasRef() { return nativeTimers().hasRef(this.#id); }
  refresh() { nativeTimers().refresh(this.#id); return this; }
  close() { nativeTimers().clear(this.#id); return this; }
  [Symbol.toPrimitive]() { return this.#id; }
  // serdes writes a Timeout as a reference to its handle; one that has
  // fired (once) or been cleared cannot cross (-1: serdes says so).
  get [HANDLE_ID]() { return nativeTimers().counters(this.#id) === undefined ? -1 : this.#id; }
  // Binds the timer to callback (called with args): in a reload's load(),
  // a Timeout that came in the state goes on with the schedule it had (the
  // time left, its repeat); elsewhere, the callback is replaced. Throws if
  // the timer has fired (once) or been cleared.
  reload(callback, ...args) {
    if (typeof callback !== 'function') {
      throw new TypeError(`Timeout.reload: callback must be a function (got ${typeof callback})`);
    }
    const fn = args.length === 0 ? callback : () => callback(...args);
    const id = nativeTimers().rebind(this.#id, fn);
    if (id < 0) throw new Error(`Timeout.reload: timer ${this.#id} has fired or been cleared`);
    revived.delete(this.#id);
    this.#id = id;
    return this;
  }
}

// A reload's state holds handle ids: a timer's becomes a Timeout (one per
// id), unbound until reload(callback).
const revived = new Map();
binding.handleRevivers = [(id) => {
  if (nativeTimers().counters(id) === undefined) return undefined;
  let t = revived.get(id);
  if (t === undefined) revived.set(id, t = new Timeout(id));
  return t;
}];

function schedule(name, fn, ms, args, repeat) {
  if (typeof fn !== 'function') {
    throw new TypeError(`${name}: callback must be a function (got ${typeof fn})`);
  }
  const delay = delayOf(ms);
  const callback = args.length === 0 ? fn : () => fn(...args);
  return new Timeout(nativeTimers().start(callback, delay, repeat ? delay : 0));
}

function clear(timer) {
  if (timer === undefined || timer === null) return;
  const id = typeof timer === 'object' ? Number(timer) : timer;
  if (Number.isSafeInteger(id) && id > 0) nativeTimers().clear(id);
}

define(global, 'setTimeout', function setTimeout(fn, ms, ...args) {
  return schedule('setTimeout', fn, ms, args, false);
});
define(global, 'setInterval', function setInterval(fn, ms, ...args) {
  return schedule('setInterval', fn, ms, args, true);
});
define(global, 'clearTimeout', function clearTimeout(t) { clear(t); });
define(global, 'clearInterval', function clearInterval(t) { clear(t); });
define(global, 'queueMicrotask', function queueMicrotask(fn) {
  binding.queueMicrotask(fn);
});

// ---- setImmediate ----
// The queue is kept here; the timers module's "immediate" handle (a libuv
// check handle, one per context, made at first use) calls runImmediate
// after the loop's I/O, once per immediate, until the batch that was queued
// when the turn began is done: immediates queued meanwhile wait for the
// next turn, as in node.

let immediateHandle = 0;
let immediateQueue = [];
let immediateBatch = [];
let immediateNext = 0;
let immediateRefs = 0; // waiting immediates that keep the loop alive

function immediateRefsChange(delta) {
  const before = immediateRefs;
  immediateRefs += delta;
  if ((before === 0) !== (immediateRefs === 0)) {
    nativeTimers().immediateRef(immediateHandle, immediateRefs > 0);
  }
}

class Immediate {
  #callback;
  #refed = true;
  constructor(callback) {
    this.#callback = callback;
    immediateRefsChange(1);
  }
  ref() {
    if (!this.#refed && this.#callback !== null) immediateRefsChange(1);
    this.#refed = true;
    return this;
  }
  unref() {
    if (this.#refed && this.#callback !== null) immediateRefsChange(-1);
    this.#refed = false;
    return this;
  }
  hasRef() { return this.#refed; }
  // The callback, taken out (null if cleared or run already).
  static take(im) {
    const fn = im.#callback;
    if (fn === null) return null;
    im.#callback = null;
    if (im.#refed) immediateRefsChange(-1);
    return fn;
  }
}
const takeImmediate = Immediate.take;
delete Immediate.take;

function runImmediate() {
  if (immediateNext >= immediateBatch.length) {
    immediateBatch = immediateQueue;
    immediateQueue = [];
    immediateNext = 0;
  }
  let fn = null;
  while (fn === null && immediateNext < immediateBatch.length) {
    fn = takeImmediate(immediateBatch[immediateNext++]);
  }
  const more = immediateNext < immediateBatch.length;
  if (more) nativeTimers().immediateMore(immediateHandle, true);
  else immediateBatch = [];
  if (more || immediateQueue.length > 0) nativeTimers().immediateArm(immediateHandle);
  if (fn !== null) fn();
}

define(global, 'setImmediate', function setImmediate(fn, ...args) {
  if (typeof fn !== 'function') {
    throw new TypeError(`setImmediate: callback must be a function (got ${typeof fn})`);
  }
  if (immediateHandle === 0) {
    immediateHandle = nativeTimers().immediateOpen(runImmediate);
  }
  const im = new Immediate(args.length === 0 ? fn : () => fn(...args));
  immediateQueue.push(im);
  nativeTimers().immediateArm(immediateHandle);
  return im;
});
define(global, 'clearImmediate', function clearImmediate(im) {
  if (im instanceof Immediate) takeImmediate(im);
});

// ---- TextEncoder / TextDecoder (UTF-8 only, as the Encoding standard's
// TextEncoder is; TextDecoder labels other than UTF-8 are refused) ----

class TextEncoder {
  get encoding() { return 'utf-8'; }
  encode(input = '') { return binding.utf8Encode(String(input)); }
  encodeInto(input, dest) {
    const result = [0, 0];
    binding.utf8EncodeInto(String(input), dest, result);
    return { read: result[0], written: result[1] };
  }
}

const utf8Labels = new Set(['utf-8', 'utf8', 'unicode-1-1-utf-8', 'unicode11utf8',
  'unicode20utf8', 'x-unicode20utf8']);

// How many bytes at the end of u8 start a UTF-8 sequence that is not yet
// complete (0 if the last sequence is whole or invalid anyway).
function incompleteTail(u8) {
  const n = u8.length;
  for (let back = 1; back <= 3 && back <= n; back++) {
    const b = u8[n - back];
    if ((b & 0xc0) === 0x80) continue; // continuation byte: look further back
    const need = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

function toBytes(input) {
  if (input === undefined) return new Uint8Array(0);
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) {
    return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  }
  throw new TypeError('TextDecoder.decode: input must be an ArrayBuffer or an ArrayBuffer view');
}

class TextDecoder {
  #fatal;
  #ignoreBOM;
  #pending = null; // bytes of an incomplete sequence kept between stream calls
  #bomSeen = false;
  constructor(label = 'utf-8', options = {}) {
    const name = String(label).trim().toLowerCase();
    if (!utf8Labels.has(name)) {
      throw new RangeError(`TextDecoder: the encoding '${label}' is not supported (only utf-8)`);
    }
    this.#fatal = Boolean(options.fatal);
    this.#ignoreBOM = Boolean(options.ignoreBOM);
  }
  get encoding() { return 'utf-8'; }
  get fatal() { return this.#fatal; }
  get ignoreBOM() { return this.#ignoreBOM; }
  decode(input, options = {}) {
    let bytes = toBytes(input);
    if (this.#pending !== null) {
      const joined = new Uint8Array(this.#pending.length + bytes.length);
      joined.set(this.#pending);
      joined.set(bytes, this.#pending.length);
      bytes = joined;
      this.#pending = null;
    }
    const stream = Boolean(options.stream);
    if (stream) {
      const tail = incompleteTail(bytes);
      if (tail > 0) {
        this.#pending = bytes.slice(bytes.length - tail);
        bytes = bytes.subarray(0, bytes.length - tail);
      }
    }
    if (!this.#ignoreBOM && !this.#bomSeen && bytes.length >= 3 &&
        bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
      bytes = bytes.subarray(3);
    }
    if (bytes.length > 0) this.#bomSeen = true;
    const text = binding.utf8Decode(bytes, this.#fatal);
    if (!stream) this.#bomSeen = false;
    return text;
  }
}

define(global, 'TextEncoder', TextEncoder);
define(global, 'TextDecoder', TextDecoder);

// ---- globals that load on first use ----
// Each name is an accessor on globalThis until it is first read; then the
// builtin that makes it runs once and the names become plain values (or
// whatever a program assigns first). A program that never touches them
// pays nothing for them at startup or at a reload.

function lazyGlobals(builtin, names) {
  let exports;
  for (const name of names) {
    Object.defineProperty(global, name, {
      configurable: true,
      enumerable: false,
      get() {
        if (exports === undefined) exports = binding.builtin(builtin);
        define(global, name, exports[name]);
        return exports[name];
      },
      set(value) { define(global, name, value); },
    });
  }
}

lazyGlobals('web', ['DOMException', 'atob', 'btoa', 'Event', 'EventTarget',
  'AbortController', 'AbortSignal', 'structuredClone', 'crypto']);
lazyGlobals('url', ['URL', 'URLSearchParams']);

// fetch: the http module's (loaded by the first call; Request, Response
// and Headers are that module's exports).
define(global, 'fetch', async function fetch(input, init) {
  const http = await import('http');
  return http.fetch(input, init);
});

// ---- performance ----

const performance = {
  timeOrigin: Date.now() - binding.now(),
  now() { return binding.now(); },
};
define(global, 'performance', performance);

// ---- globalThis.dv8 ----

let envCache;
let metricValues = null; // dv8.metrics.read()'s array, made at its first call
const dv8 = {
  version: binding.version,
  versions: { dv8: binding.version, v8: binding.v8Version, uv: binding.uvVersion },
  args: Object.freeze(binding.args.slice()),
  execPath: binding.execPath,
  // systemd socket activation (LISTEN_FDS): the listening sockets this
  // process was given, for net.listenFd (docs/processes.md).
  listenFds: Object.freeze(binding.listenFds),
  pid: binding.pid,
  // A snapshot of the environment taken at first use; changing it does not
  // change the process environment.
  get env() {
    if (envCache === undefined) envCache = binding.environ();
    return envCache;
  },
  exit(code = 0) { binding.exit(code | 0); },
  hrtime() { return binding.hrtime(); },
  memoryUsage() { return binding.memoryUsage(); },
  // This thread's metrics (docs/metrics.md): metrics.read() fills and
  // returns one Float64Array (the same each time: nothing is allocated),
  // metrics.names() says what each of its values is, metrics.get(name)
  // reads one.
  metrics: {
    read() {
      metricValues ??= new Float64Array(binding.metricsNames().length);
      binding.metricsRead(metricValues);
      return metricValues;
    },
    names() { return binding.metricsNames(); },
    get(name) {
      const i = binding.metricsNames().indexOf(name);
      return i < 0 ? undefined : this.read()[i];
    },
  },
  // The thread's live host handles, oldest first: [{ id, type, module,
  // counters }] (module: the native module listing the type, if one does).
  handles() { return binding.handles(); },
  // Replace this thread's code with the entry file as it is on disk now,
  // once the current callback returns (docs/reload.md).
  reload(options = {}) {
    if (typeof options !== 'object' || options === null)
      throw new TypeError('reload: options must be an object');
    binding.reload(options.threads === true);
  },
  // { count, failures, lastPrepareMs, lastPauseMs }.
  reloadStats() { return binding.reloadStats(); },
  inspect(value, options) { return fmt().inspect(value, { promiseState, ...options }); },
};
define(global, 'dv8', dv8);
