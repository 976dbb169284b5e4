// The web platform's globals that are not the language's own: DOMException,
// atob/btoa, Event and EventTarget, AbortController and AbortSignal,
// structuredClone, crypto. This file is the body of
// `(function (binding) { ... })`; bootstrap.js runs it the first time one of
// these globals is touched and defines them from what it returns, so a
// program that uses none of them pays nothing at startup.
'use strict';

// ---- DOMException ----

// The legacy numeric codes of the names that have one (WebIDL's table).
const legacyCodes = {
  IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4,
  InvalidCharacterError: 5, NoModificationAllowedError: 7, NotFoundError: 8,
  NotSupportedError: 9, InvalidStateError: 11, SyntaxError: 12,
  InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
  TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20,
  URLMismatchError: 21, QuotaExceededError: 22, TimeoutError: 23,
  InvalidNodeTypeError: 24, DataCloneError: 25,
};

// An Error subclass, as node's is, so that `instanceof Error` holds and the
// stack is kept.
class DOMException extends Error {
  #name;
  constructor(message = '', options = 'Error') {
    super(String(message));
    this.#name = typeof options === 'object' && options !== null
      ? String(options.name ?? 'Error') : String(options);
    if (typeof options === 'object' && options !== null && 'cause' in options) {
      Object.defineProperty(this, 'cause', { value: options.cause, writable: true, configurable: true });
    }
  }
  get name() { return this.#name; }
  get code() { return legacyCodes[this.#name] ?? 0; }
}
for (const [name, code] of Object.entries(legacyCodes)) {
  const constant = name.replace(/Error$/, '').replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase() + '_ERR';
  Object.defineProperty(DOMException, constant, { value: code, enumerable: true });
}

// ---- atob / btoa (the HTML standard's forgiving base64) ----

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const sextet = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) sextet[alphabet.charCodeAt(i)] = i;

function btoa(data) {
  if (arguments.length === 0) throw new TypeError("btoa: 1 argument required, but only 0 present");
  const s = String(data);
  let out = '';
  for (let i = 0; i < s.length; i += 3) {
    const a = s.charCodeAt(i), b = s.charCodeAt(i + 1), c = s.charCodeAt(i + 2);
    if (a > 255 || b > 255 || c > 255) throw new DOMException('Invalid character', 'InvalidCharacterError');
    const n = (a << 16) | ((b || 0) << 8) | (c || 0); // NaN past the end reads as 0
    out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] +
      (i + 1 < s.length ? alphabet[(n >> 6) & 63] : '=') +
      (i + 2 < s.length ? alphabet[n & 63] : '=');
  }
  return out;
}

function atob(data) {
  if (arguments.length === 0) throw new TypeError("atob: 1 argument required, but only 0 present");
  const bad = () => new DOMException('The string to be decoded is not correctly encoded.', 'InvalidCharacterError');
  let s = String(data).replace(/[\t\n\f\r ]/g, '');
  if (s.length % 4 === 0) s = s.replace(/==?$/, '');
  if (s.length % 4 === 1) throw bad();
  let out = '';
  let bits = 0, n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? sextet[c] : -1;
    if (v < 0) throw bad();
    bits = (bits << 6) | v;
    n += 6;
    if (n >= 8) {
      n -= 8;
      out += String.fromCharCode((bits >> n) & 255);
    }
  }
  return out;
}

// ---- Event / EventTarget (the DOM standard, without a tree: an event
// reaches only its target) ----

const NONE = 0, AT_TARGET = 2;

class Event {
  #type;
  #bubbles;
  #cancelable;
  #composed;
  #canceled = false;
  #stopImmediate = false;
  #stop = false;
  #passive = false;
  #dispatching = false;
  #target = null;
  #currentTarget = null;
  #phase = NONE;
  #timeStamp = binding.now();
  constructor(type, init = {}) {
    if (arguments.length === 0) throw new TypeError("Event: 1 argument required, but only 0 present");
    if (init !== undefined && init !== null && typeof init !== 'object') {
      throw new TypeError('Event: options must be an object');
    }
    this.#type = String(type);
    this.#bubbles = Boolean(init?.bubbles);
    this.#cancelable = Boolean(init?.cancelable);
    this.#composed = Boolean(init?.composed);
  }
  get type() { return this.#type; }
  get bubbles() { return this.#bubbles; }
  get cancelable() { return this.#cancelable; }
  get composed() { return this.#composed; }
  get defaultPrevented() { return this.#canceled; }
  get returnValue() { return !this.#canceled; }
  set returnValue(v) { if (!v) this.preventDefault(); }
  get cancelBubble() { return this.#stop; }
  set cancelBubble(v) { if (v) this.#stop = true; }
  get target() { return this.#target; }
  get srcElement() { return this.#target; }
  get currentTarget() { return this.#currentTarget; }
  get eventPhase() { return this.#phase; }
  get timeStamp() { return this.#timeStamp; }
  get isTrusted() { return false; }
  composedPath() { return this.#dispatching ? [this.#currentTarget] : []; }
  preventDefault() { if (this.#cancelable && !this.#passive) this.#canceled = true; }
  stopPropagation() { this.#stop = true; }
  stopImmediatePropagation() { this.#stop = true; this.#stopImmediate = true; }
  [Symbol.for('dv8.inspect.custom')](depth, options, inspect) {
    const fields = { type: this.#type, defaultPrevented: this.#canceled, cancelable: this.#cancelable,
      timeStamp: this.#timeStamp };
    return `${this.constructor.name} ${inspect(fields, options)}`;
  }

  // EventTarget's dispatch reaches the private state through these.
  static begin(e, target) {
    if (!(#type in e)) {
      throw new TypeError(`dispatchEvent: the event must be an Event (got ${e === null ? 'null' : typeof e})`);
    }
    if (e.#dispatching) throw new DOMException('The event is already being dispatched', 'InvalidStateError');
    e.#dispatching = true;
    e.#target = target;
    e.#currentTarget = target;
    e.#phase = AT_TARGET;
  }
  static setPassive(e, passive) { e.#passive = passive; }
  static stoppedImmediately(e) { return e.#stopImmediate; }
  static end(e) {
    e.#dispatching = false;
    e.#currentTarget = null;
    e.#phase = NONE;
    e.#stop = false;
    e.#stopImmediate = false;
    e.#passive = false;
    return !e.#canceled;
  }
}
for (const [name, value] of [['NONE', 0], ['CAPTURING_PHASE', 1], ['AT_TARGET', 2], ['BUBBLING_PHASE', 3]]) {
  Object.defineProperty(Event, name, { value, enumerable: true });
  Object.defineProperty(Event.prototype, name, { value, enumerable: true });
}
const { begin, setPassive, stoppedImmediately, end } = Event;
delete Event.begin;
delete Event.setPassive;
delete Event.stoppedImmediately;
delete Event.end;

function flattenOptions(options) {
  if (typeof options === 'boolean' || options === undefined || options === null) {
    return { capture: Boolean(options), once: false, passive: false, signal: undefined };
  }
  return {
    capture: Boolean(options.capture), once: Boolean(options.once),
    passive: Boolean(options.passive), signal: options.signal,
  };
}

// A listener that throws is reported as an uncaught error (as browsers and
// node do), after the dispatch: the other listeners still run.
function reportListenerError(err) {
  binding.queueMicrotask(() => { throw err; });
}

class EventTarget {
  #listeners = new Map(); // type -> [{ callback, capture, once, passive, removed }]
  addEventListener(type, callback, options) {
    if (arguments.length < 2) throw new TypeError('addEventListener: 2 arguments required');
    const { capture, once, passive, signal } = flattenOptions(options);
    if (callback === null || callback === undefined) return;
    if (typeof callback !== 'function' && typeof callback !== 'object') {
      throw new TypeError('addEventListener: the listener must be a function or an object with handleEvent');
    }
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new TypeError('addEventListener: options.signal must be an AbortSignal');
    }
    if (signal?.aborted) return;
    type = String(type);
    let list = this.#listeners.get(type);
    if (list === undefined) this.#listeners.set(type, list = []);
    if (list.some((l) => l.callback === callback && l.capture === capture)) return;
    const entry = { callback, capture, once, passive, removed: false };
    list.push(entry);
    if (signal !== undefined) {
      signal.addEventListener('abort', () => this.removeEventListener(type, callback, { capture }));
    }
  }
  removeEventListener(type, callback, options) {
    const { capture } = flattenOptions(options);
    const list = this.#listeners.get(String(type));
    if (list === undefined) return;
    const i = list.findIndex((l) => l.callback === callback && l.capture === capture);
    if (i < 0) return;
    list[i].removed = true;
    list.splice(i, 1);
  }
  dispatchEvent(event) {
    begin(event, this);
    const list = this.#listeners.get(event.type);
    if (list !== undefined) {
      for (const l of list.slice()) { // listeners added during dispatch wait
        if (l.removed) continue;
        if (l.once) this.removeEventListener(event.type, l.callback, { capture: l.capture });
        setPassive(event, l.passive);
        try {
          if (typeof l.callback === 'function') l.callback.call(this, event);
          else if (typeof l.callback.handleEvent === 'function') l.callback.handleEvent(event);
          else throw new TypeError("the listener's handleEvent is not a function");
        } catch (err) {
          reportListenerError(err);
        }
        if (stoppedImmediately(event)) break;
      }
    }
    return end(event);
  }
}

// ---- AbortController / AbortSignal (the DOM standard) ----

const token = Symbol('AbortSignal');

class AbortSignal extends EventTarget {
  #aborted = false;
  #reason = undefined;
  #onabort = null;
  #onabortBound = false;
  #followers = [];
  constructor(key) {
    if (key !== token) throw new TypeError('Illegal constructor');
    super();
  }
  get aborted() { return this.#aborted; }
  get reason() { return this.#reason; }
  [Symbol.for('dv8.inspect.custom')]() { return `AbortSignal { aborted: ${this.#aborted} }`; }
  throwIfAborted() { if (this.#aborted) throw this.#reason; }
  get onabort() { return this.#onabort; }
  set onabort(fn) {
    this.#onabort = typeof fn === 'function' || (typeof fn === 'object' && fn !== null) ? fn : null;
    // An event handler attribute keeps the place of its first setting
    // among the listeners, as the HTML standard says.
    if (!this.#onabortBound) {
      this.#onabortBound = true;
      this.addEventListener('abort', (e) => {
        const h = this.#onabort;
        if (typeof h === 'function') h.call(this, e);
      });
    }
  }

  static abort(reason) {
    const signal = new AbortSignal(token);
    signal.#aborted = true;
    signal.#reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    return signal;
  }
  // A signal that aborts ms milliseconds from now with a TimeoutError. Its
  // timer does not keep the program running (as in node).
  static timeout(ms) {
    const delay = Number(ms);
    if (!Number.isFinite(delay) || delay < 0 || delay > 4294967295) {
      throw new RangeError(`AbortSignal.timeout: the delay must be from 0 to 4294967295 ms (got ${String(ms)})`);
    }
    const signal = new AbortSignal(token);
    setTimeout(() => {
      signal.#abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    }, Math.trunc(delay)).unref();
    return signal;
  }
  // A signal that aborts when the first of signals does, with its reason.
  static any(signals) {
    const list = [...signals];
    for (const s of list) {
      if (!(s instanceof AbortSignal)) throw new TypeError('AbortSignal.any: every item must be an AbortSignal');
    }
    const signal = new AbortSignal(token);
    const first = list.find((s) => s.#aborted);
    if (first !== undefined) {
      signal.#aborted = true;
      signal.#reason = first.#reason;
      return signal;
    }
    for (const s of list) s.#followers.push(signal);
    return signal;
  }

  #abort(reason) {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    const followers = this.#followers;
    this.#followers = [];
    this.dispatchEvent(new Event('abort'));
    for (const f of followers) f.#abort(this.#reason);
  }
  static abortSignal(signal, reason) { signal.#abort(reason); }
}
const abortSignal = AbortSignal.abortSignal;
delete AbortSignal.abortSignal;

class AbortController {
  #signal = new AbortSignal(token);
  get signal() { return this.#signal; }
  abort(reason) { abortSignal(this.#signal, reason); }
  [Symbol.for('dv8.inspect.custom')]() { return `AbortController { signal: AbortSignal { aborted: ${this.#signal.aborted} } }`; }
}

// ---- structuredClone (serdes underneath) ----
// The value is encoded by serdes and decoded at once. Every ArrayBuffer met
// is encoded by reference (serdes's moveBuffers) and the decoder is handed
// copies, so ArrayBuffers stay ArrayBuffers and views that shared a buffer
// share its copy. What serdes refuses (functions, symbols, cycles, WeakMaps,
// Promises...) is a DataCloneError saying what and where.

let serdes;

function structuredClone(value, options) {
  if (arguments.length === 0) throw new TypeError('structuredClone: 1 argument required, but only 0 present');
  if (serdes === undefined) serdes = binding.builtin('serdes');
  let transfer = [];
  if (options !== undefined && options !== null) {
    if (typeof options !== 'object') throw new TypeError('structuredClone: options must be an object');
    if (options.transfer !== undefined) transfer = [...options.transfer];
  }
  for (let i = 0; i < transfer.length; i++) {
    const b = transfer[i];
    if (!(b instanceof ArrayBuffer)) {
      throw new DOMException(`transfer[${i}] is not an ArrayBuffer`, 'DataCloneError');
    }
    if (transfer.indexOf(b) !== i) throw new DOMException(`transfer[${i}] is listed twice`, 'DataCloneError');
  }
  const buffers = [];
  let bytes;
  try {
    bytes = serdes.encode(value, { moveBuffers: buffers, maxDepth: 1000 });
  } catch (err) {
    if (err instanceof serdes.SerdesError) {
      const message = err.message.replace(/^serdes: /, '').replace(/serializ(e|ed)\b/g, 'clon$1');
      throw new DOMException(message, 'DataCloneError');
    }
    throw err;
  }
  const copies = buffers.map((b) => b.slice(0));
  const clone = serdes.decode(bytes, 0, bytes.length, { transfer: copies, maxDepth: 1000 });
  for (const b of transfer) binding.detach(b);
  return clone;
}

// ---- crypto (OpenSSL's RAND_bytes, from the crypto module on first use) ----

let nativeCrypto;
function randomFill(view) {
  if (nativeCrypto === undefined) nativeCrypto = binding.loadNative('crypto');
  return nativeCrypto.randomFill(view);
}

const integerArrays = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array,
  Int32Array, Uint32Array, BigInt64Array, BigUint64Array];

function getRandomValues(array) {
  if (arguments.length === 0) throw new TypeError('getRandomValues: 1 argument required, but only 0 present');
  if (!ArrayBuffer.isView(array)) {
    throw new TypeError('getRandomValues: the argument must be an integer-type TypedArray');
  }
  if (!integerArrays.some((C) => array instanceof C)) {
    throw new DOMException('The data argument must be an integer-type TypedArray', 'TypeMismatchError');
  }
  if (array.byteLength > 65536) {
    throw new DOMException(`The ArrayBufferView's byte length (${array.byteLength}) exceeds ` +
      'the number of bytes of entropy available via this API (65536)', 'QuotaExceededError');
  }
  randomFill(array);
  return array;
}

// randomUUID draws from a pool of random bytes refilled 16 UUIDs at a time.
const uuidPool = new Uint8Array(256);
let uuidAt = uuidPool.length;
const hex = [];
for (let i = 0; i < 256; i++) hex.push(i.toString(16).padStart(2, '0'));

function randomUUID() {
  if (uuidAt === uuidPool.length) {
    randomFill(uuidPool);
    uuidAt = 0;
  }
  const b = uuidPool;
  const i = uuidAt;
  uuidAt += 16;
  b[i + 6] = (b[i + 6] & 0x0f) | 0x40; // version 4
  b[i + 8] = (b[i + 8] & 0x3f) | 0x80; // variant 10
  return hex[b[i]] + hex[b[i + 1]] + hex[b[i + 2]] + hex[b[i + 3]] + '-' +
    hex[b[i + 4]] + hex[b[i + 5]] + '-' + hex[b[i + 6]] + hex[b[i + 7]] + '-' +
    hex[b[i + 8]] + hex[b[i + 9]] + '-' + hex[b[i + 10]] + hex[b[i + 11]] +
    hex[b[i + 12]] + hex[b[i + 13]] + hex[b[i + 14]] + hex[b[i + 15]];
}

const crypto = { getRandomValues, randomUUID };
Object.defineProperty(crypto, Symbol.toStringTag, { value: 'Crypto' });

return {
  DOMException, atob, btoa, Event, EventTarget, AbortSignal, AbortController,
  structuredClone, crypto,
};
