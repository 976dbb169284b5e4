// serdes: JS values <-> MessagePack, for state handed over on a reload and
// messages between threads and processes. docs/serdes.md has the type table.
//
// A builtin: the body of `function (binding) { ... }`, returning the exports
// of the 'serdes' module. The walkers are JS on purpose: walking objects
// through V8's C++ API costs a boundary crossing per property, and measured
// slower than JIT-compiled JS (docs/serdes.md, "Why JS").
//
// Encoder and decoder keep their state in closure variables (fast for the
// JIT); a getter that calls encode() while an encode runs gets a saved and
// restored state (see nested()).
'use strict';

const EXT_TIMESTAMP = -1;
const EXT_SPECIAL = 0x50; // payload 0: undefined, 1: invalid Date
const EXT_MAP = 0x51;
const EXT_SET = 0x52;
const EXT_BIGINT = 0x53;
const EXT_TYPED = 0x54;
const EXT_ERROR = 0x55;
const EXT_REGEXP = 0x56;
const EXT_HANDLE = 0x57;
const EXT_TRANSFER = 0x58;
const EXT_HANDLE_DATA = 0x59;

const EFULL = -30007; // DV8_EFULL: the caller's buffer is too small
const DEFAULT_DEPTH = 32; // msgpack-c's own reader refuses deeper input
const MAX_DEPTH = 1000; // what V8's default stack holds, with room to spare
// The largest encoding: what a sparse array or a value shared many times
// over can make of a small heap is bounded by it (docs/serdes.md).
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
const MAX_BYTES = 2 ** 32; // the longest Uint8Array V8 makes
// The buffer may grow this far past maxBytes: room is reserved for the
// widest form of what comes next (9 bytes for a number, 3 per character of
// a short string), and an encoding that ends within maxBytes must not be
// refused for it. The size is checked exactly at the end.
const RESERVE = 256;

// Element types of EXT_TYPED, in this order; Uint8Array is plain bin.
const TYPED = [
  Int8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array,
  Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array,
  DataView,
];
const ERRORS = {
  Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError,
  URIError, AggregateError,
};

const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);
const f32 = new Float32Array(1);
const f32b = new Uint8Array(f32.buffer);
const hasOwn = Object.prototype.hasOwnProperty;
const getProto = Object.getPrototypeOf;
const ObjectProto = Object.prototype;
const toTag = (v) => Object.prototype.toString.call(v).slice(8, -1);

class SerdesError extends Error {
  constructor(message, offset) {
    super(message);
    this.name = 'SerdesError';
    this.code = 'ESERDES';
    if (offset !== undefined) this.offset = offset;
  }
}

// An extension type this module does not know: kept as its type and bytes,
// so that it encodes back to what it was.
class Extension {
  constructor(type, data) {
    if (!Number.isInteger(type) || type < -128 || type > 127)
      throw new TypeError('Extension: type must be an integer in -128..127');
    if (!(data instanceof Uint8Array))
      throw new TypeError('Extension: data must be a Uint8Array');
    this.type = type;
    this.data = data;
  }
}

// A MessagePack timestamp to the nanosecond, which a Date cannot hold.
// decode() makes these instead of Dates with { timestamps: 'exact' }.
class Timestamp {
  constructor(seconds, nanoseconds = 0) {
    if (!Number.isSafeInteger(seconds))
      throw new TypeError('Timestamp: seconds must be a safe integer');
    if (!Number.isInteger(nanoseconds) || nanoseconds < 0 || nanoseconds > 999999999)
      throw new TypeError('Timestamp: nanoseconds must be an integer in 0..999999999');
    this.seconds = seconds;
    this.nanoseconds = nanoseconds;
  }
  toDate() { return new Date(this.seconds * 1000 + Math.floor(this.nanoseconds / 1e6)); }
}

// A host handle (socket, pipe, timer...) by id: the host resolves it when
// state moves to a new context, thread or process.
class Handle {
  constructor(id) {
    if (!Number.isSafeInteger(id) || id <= 0)
      throw new TypeError('Handle: id must be a positive integer');
    this.id = id;
  }
}

// An object that stands for a host handle (a net Socket or Server, say)
// has its id under this key: it is encoded as a handle reference. Where the
// ids are those of the same handle table (a reload's or an upgrade's state),
// the decoder gives such a reference to the revivers registered by the
// context's modules (addHandleReviver), so that the object arrives as the
// same kind of object; elsewhere it decodes as a Handle.
// The core's own (the timers' Timeout, contexts/bootstrap.js) come first,
// left on the context's binding by the bootstrap.
const HANDLE_ID = Symbol.for('dv8.handle');
const revivers = Array.isArray(binding.handleRevivers) ? binding.handleRevivers : [];
// A handle object that is more than its handle (a helper process's Helper:
// a child, a channel stream and the channel's counters and half-read
// frame) also has, under HANDLE_DATA, { kind, data }: it is encoded as a
// handle reference with that plain data beside it (0x59), and decoded by
// the reviver registered for its kind alone, given the id and the data.
const HANDLE_DATA = Symbol.for('dv8.handleData');
const kindRevivers = new Map();

// addHandleReviver(fn(id)), or addHandleReviver(fn(id, data), kind) for
// the handles written with data of that kind.
function addHandleReviver(fn, kind) {
  if (typeof fn !== 'function') throw new TypeError('addHandleReviver: fn must be a function');
  if (kind === undefined) revivers.push(fn);
  else if (typeof kind !== 'string') throw new TypeError('addHandleReviver: kind must be a string');
  else kindRevivers.set(kind, fn);
}

// The object a reviver makes for handle id, or a Handle if none claims it.
function reviveHandle(id, data, kind) {
  if (kind !== undefined) {
    const fn = kindRevivers.get(kind);
    const v = fn === undefined ? undefined : fn(id, data);
    return v === undefined ? new Handle(id) : v;
  }
  for (let i = 0; i < revivers.length; i++) {
    const v = revivers[i](id);
    if (v !== undefined) return v;
  }
  return new Handle(id);
}

// The reviver of an upgrade's state where the handles with these ids
// stayed with the process before (a TLS connection: its keys are that
// process's memory): those are given to the revivers as (id, true), for
// them to make an object that says so (net: a Socket in state 'stayed'),
// the rest as reviveHandle does. One with data goes to its kind's reviver
// as (id, data, true) first (ws: a WebSocket that says it stayed).
function stayedReviver(ids) {
  const stayed = new Set(ids);
  return (id, data, kind) => {
    if (!stayed.has(id)) return reviveHandle(id, data, kind);
    const fn = kind === undefined ? undefined : kindRevivers.get(kind);
    const own = fn === undefined ? undefined : fn(id, data, true);
    if (own !== undefined) return own;
    for (let i = 0; i < revivers.length; i++) {
      const v = revivers[i](id, true);
      if (v !== undefined) return v;
    }
    return new Handle(id);
  };
}

// ---- encoder ----

// Small results are carved out of a shared chunk (like node's Buffer pool):
// no copy, one allocation for many messages.
const CHUNK = 16384;
let chunkAB = new ArrayBuffer(CHUNK); // .buffer of a typed array is a C++ call
let chunk = new Uint8Array(chunkAB);
let chunkUsed = 0;

let buf; // where the bytes go
let cap; // buf.length: a typed array's length is a getter call in V8 10.2's optimized code
let bufAB; // buf's ArrayBuffer when encode() owns buf
let pos; // next byte
let start; // where this value began in buf
let into; // encoding into a caller's buffer: never grow
let surelyFull; // into: a value's bytes alone were more than the room left
let float32; // floats that are exact as float32 go as float32
let depthLimit;
let maxBytes; // the largest encoding
let transferList; // ArrayBuffers that move instead of being copied
let moveAll = false; // every ArrayBuffer met joins transferList (reload)

// Whether buffer b moves (is encoded as an index into transferList).
function moves(b) {
  if (transferList === undefined) return false;
  if (transferList.includes(b)) return true;
  if (!moveAll || !(b instanceof ArrayBuffer)) return false;
  transferList.push(b);
  return true;
}
let handleOf; // maps an object to a host handle id, or undefined
let moveHandles; // handle objects met, each encoded as its place here + 1
let busy = false;
let throughProxies = false; // options.proxies

// Plain objects and arrays the encoder walked, checked for Proxies in one
// call into C++ at the end: JS cannot tell a Proxy from its target, and a
// call per object would cost more than encoding it.
let visited = [];
let visitedCount = 0;
const PROXY_BATCH = 8192; // arguments per call

const findProxy = binding.findProxy;

// The list is kept from one encode to the next (growing it is what costs)
// and emptied of its values, so that it keeps nothing alive. A few objects
// go as fixed arguments: a direct call into C++ costs a third of an apply.
function checkProxies() {
  const n = visitedCount;
  if (n === 0) return;
  if (throughProxies) {
    for (let i = 0; i < n; i++) visited[i] = undefined;
    visitedCount = 0;
    return;
  }
  const list = visited;
  visitedCount = 0;
  let found = -1;
  if (n <= 4) {
    found = findProxy(list[0], n > 1 ? list[1] : null, n > 2 ? list[2] : null, n > 3 ? list[3] : null);
  } else {
    if (list.length !== n) list.length = n; // a runtime call, only on a new size
    for (let i = 0; i < n && found < 0; i += PROXY_BATCH) {
      const part = n <= PROXY_BATCH ? list : list.slice(i, i + PROXY_BATCH);
      const k = findProxy.apply(null, part);
      if (k >= 0) found = i + k;
    }
  }
  const bad = found >= 0 ? list[found] : undefined;
  for (let i = 0; i < n; i++) list[i] = undefined;
  if (bad !== undefined) throw fail('cannot serialize a Proxy', bad);
}

class Full {} // thrown when a caller's buffer is too small
const FULL = new Full();

// Room for a value of at least least bytes (n at most) at pos. Encoding
// into a caller's buffer, a value that cannot fit even at its smallest
// settles it: encodeInto answers EFULL without the copy it otherwise
// makes to be sure (a big message would be encoded twice to learn that).
function room(least, n, what) {
  if (into && pos + least > cap) surelyFull = true;
  grow(n, what);
}

// Room for n more bytes. what: the value about to be written, to name
// when it is what takes the encoding past maxBytes (see overLimit()).
// Past maxBytes, encodeInto refuses as encode does: a bigger target would
// not help.
function grow(n, what) {
  const used = pos - start;
  const most = Math.min(maxBytes + RESERVE, MAX_BYTES);
  if (n > most - used) throw overLimit(what);
  if (into) throw FULL;
  const size = Math.min(Math.max(2 * used + n, CHUNK * 4), most);
  const ab = new ArrayBuffer(size);
  const next = new Uint8Array(ab);
  next.set(used === cap ? buf : new Uint8Array(bufAB, start, used));
  buf = next;
  cap = size;
  bufAB = ab;
  pos = used;
  start = 0;
}

// typeof compared to a constant compiles to a type check; a switch on
// typeof calls the Typeof builtin.
function encodeValue(v, depth) {
  if (typeof v === 'string') return encodeString(v);
  if (typeof v === 'number') return encodeNumber(v);
  if (typeof v === 'object') {
    if (v !== null) return encodeObject(v, depth);
    if (pos >= cap) grow(1);
    buf[pos++] = 0xc0;
    return;
  }
  if (typeof v === 'boolean') {
    if (pos >= cap) grow(1);
    buf[pos++] = v ? 0xc3 : 0xc2;
    return;
  }
  if (typeof v === 'undefined') {
    encodeExtHeader(EXT_SPECIAL, 1);
    buf[pos++] = 0;
    return;
  }
  if (typeof v === 'bigint') return encodeBigInt(v);
  throw fail(`cannot serialize a ${typeof v}`, v);
}

function encodeNumber(v) {
  if (pos + 9 > cap) grow(9);
  const b = buf;
  if (Number.isSafeInteger(v) && (v !== 0 || 1 / v > 0)) {
    if (v >= 0) {
      if (v < 0x80) { b[pos++] = v; return; }
      if (v < 0x100) { b[pos] = 0xcc; b[pos + 1] = v; pos += 2; return; }
      if (v < 0x10000) { b[pos] = 0xcd; b[pos + 1] = v >>> 8; b[pos + 2] = v; pos += 3; return; }
      if (v < 0x100000000) {
        b[pos] = 0xce; b[pos + 1] = v >>> 24; b[pos + 2] = v >>> 16; b[pos + 3] = v >>> 8; b[pos + 4] = v;
        pos += 5;
        return;
      }
      b[pos++] = 0xcf;
      return writeU64(v);
    }
    if (v >= -32) { b[pos++] = v & 0xff; return; }
    if (v >= -128) { b[pos] = 0xd0; b[pos + 1] = v; pos += 2; return; }
    if (v >= -32768) { b[pos] = 0xd1; b[pos + 1] = v >> 8; b[pos + 2] = v; pos += 3; return; }
    if (v >= -2147483648) {
      b[pos] = 0xd2; b[pos + 1] = v >> 24; b[pos + 2] = v >> 16; b[pos + 3] = v >> 8; b[pos + 4] = v;
      pos += 5;
      return;
    }
    b[pos++] = 0xd3;
    return writeU64(v);
  }
  if (float32 && (Math.fround(v) === v || v !== v)) {
    f32[0] = v;
    b[pos] = 0xca; b[pos + 1] = f32b[3]; b[pos + 2] = f32b[2]; b[pos + 3] = f32b[1]; b[pos + 4] = f32b[0];
    pos += 5;
    return;
  }
  f64[0] = v;
  b[pos] = 0xcb;
  b[pos + 1] = f64b[7]; b[pos + 2] = f64b[6]; b[pos + 3] = f64b[5]; b[pos + 4] = f64b[4];
  b[pos + 5] = f64b[3]; b[pos + 6] = f64b[2]; b[pos + 7] = f64b[1]; b[pos + 8] = f64b[0];
  pos += 9;
}

// A safe integer beyond 32 bits, two's complement, big-endian.
function writeU64(v) {
  let hi = Math.floor(v / 4294967296);
  let lo = v - hi * 4294967296;
  hi >>>= 0; // negative v: floor keeps the two's complement high word
  buf[pos] = hi >>> 24; buf[pos + 1] = hi >>> 16; buf[pos + 2] = hi >>> 8; buf[pos + 3] = hi;
  buf[pos + 4] = lo >>> 24; buf[pos + 5] = lo >>> 16; buf[pos + 6] = lo >>> 8; buf[pos + 7] = lo;
  pos += 8;
}

// Most strings (keys above all) are short ASCII: one small loop that the
// JIT inlines into its callers, handing anything else to encodeText.
function encodeString(s) {
  const n = s.length;
  if (n < 32) {
    if (pos + 1 + n > cap) grow(1 + n);
    const b = buf;
    const p = pos + 1;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return encodeText(s);
      b[p + i] = c;
    }
    b[pos] = 0xa0 | n;
    pos = p + n;
    return;
  }
  return encodeText(s);
}

function encodeText(s) {
  const n = s.length;
  if (n < 64) {
    // Short strings in JS: a call into C++ costs more than the loop. The
    // header is guessed from the length in units (right for ASCII) and the
    // bytes moved in the rare case it was wrong.
    const hdr = n < 32 ? 1 : 2;
    if (pos + 2 + n * 3 > cap) grow(2 + n * 3);
    const b = buf;
    let p = pos + hdr;
    for (let i = 0; i < n; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) {
        b[p++] = c;
      } else if (c < 0x800) {
        b[p++] = 0xc0 | (c >> 6);
        b[p++] = 0x80 | (c & 0x3f);
      } else {
        if (c >= 0xd800 && c <= 0xdfff) {
          const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
          if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
            c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            i++;
            b[p++] = 0xf0 | (c >> 18);
            b[p++] = 0x80 | ((c >> 12) & 0x3f);
            b[p++] = 0x80 | ((c >> 6) & 0x3f);
            b[p++] = 0x80 | (c & 0x3f);
            continue;
          }
          c = 0xfffd; // a lone surrogate, as TextEncoder writes it
        }
        b[p++] = 0xe0 | (c >> 12);
        b[p++] = 0x80 | ((c >> 6) & 0x3f);
        b[p++] = 0x80 | (c & 0x3f);
      }
    }
    const len = p - pos - hdr;
    if (len < 32) {
      if (hdr === 2) for (let i = pos + 1; i < p - 1; i++) b[i] = b[i + 1];
      b[pos] = 0xa0 | len;
      pos += 1 + len;
    } else {
      if (hdr === 1) for (let i = p; i > pos + 1; i--) b[i] = b[i - 1];
      b[pos] = 0xd9;
      b[pos + 1] = len;
      pos += 2 + len;
    }
    return;
  }
  let max = n * 3;
  // Near maxBytes, the worst case is not reserved: the exact size is.
  if (max > maxBytes - (pos - start)) {
    max = binding.utf8Length(s);
    if (max > maxBytes - (pos - start)) throw overLimit(s);
  }
  const hdr = max < 0x100 ? 2 : max < 0x10000 ? 3 : 5;
  if (pos + hdr + max > cap) room(1 + n, hdr + max, s); // UTF-8: a byte per unit at least
  const len = binding.utf8Write(s, buf, pos + hdr);
  // The header was sized for the worst case; a smaller one moves the bytes.
  const need = len < 0x20 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : 5;
  if (need !== hdr) buf.copyWithin(pos + need, pos + hdr, pos + hdr + len);
  writeLenHeader(need, len, 0xa0, 0xd9);
  pos += len;
}

// Writes the header of a str (fix 0xa0, 8-bit 0xd9, then 16, 32) in `size`
// bytes, for strings whose bytes are already in place.
function writeLenHeader(size, len, fix, op8) {
  const b = buf;
  if (size === 1) b[pos] = fix | len;
  else if (size === 2) { b[pos] = op8; b[pos + 1] = len; }
  else if (size === 3) { b[pos] = op8 + 1; b[pos + 1] = len >>> 8; b[pos + 2] = len; }
  else { b[pos] = op8 + 2; b[pos + 1] = len >>> 24; b[pos + 2] = len >>> 16; b[pos + 3] = len >>> 8; b[pos + 4] = len; }
  pos += size;
}

function encodeArrayHeader(n) {
  if (pos + 5 > cap) grow(5);
  if (n < 16) buf[pos++] = 0x90 | n;
  else if (n < 0x10000) { buf[pos] = 0xdc; buf[pos + 1] = n >>> 8; buf[pos + 2] = n; pos += 3; }
  else { buf[pos] = 0xdd; buf[pos + 1] = n >>> 24; buf[pos + 2] = n >>> 16; buf[pos + 3] = n >>> 8; buf[pos + 4] = n; pos += 5; }
}

function encodeMapHeader(n) {
  if (pos + 5 > cap) grow(5);
  if (n < 16) buf[pos++] = 0x80 | n;
  else if (n < 0x10000) { buf[pos] = 0xde; buf[pos + 1] = n >>> 8; buf[pos + 2] = n; pos += 3; }
  else { buf[pos] = 0xdf; buf[pos + 1] = n >>> 24; buf[pos + 2] = n >>> 16; buf[pos + 3] = n >>> 8; buf[pos + 4] = n; pos += 5; }
}

function encodeBin(u8, v = u8) {
  const n = u8.length;
  if (n > maxBytes - (pos - start)) throw overLimit(v);
  if (pos + 5 + n > cap) room(1 + n, 5 + n, v);
  if (n < 0x100) { buf[pos] = 0xc4; buf[pos + 1] = n; pos += 2; }
  else if (n < 0x10000) { buf[pos] = 0xc5; buf[pos + 1] = n >>> 8; buf[pos + 2] = n; pos += 3; }
  else { buf[pos] = 0xc6; buf[pos + 1] = n >>> 24; buf[pos + 2] = n >>> 16; buf[pos + 3] = n >>> 8; buf[pos + 4] = n; pos += 5; }
  if (n < 32) for (let i = 0; i < n; i++) buf[pos + i] = u8[i];
  else buf.set(u8, pos);
  pos += n;
}

// Ext header for a payload of known size (v: the value it is for).
function encodeExtHeader(type, n, v) {
  if (v !== undefined && n > maxBytes - (pos - start)) throw overLimit(v);
  if (pos + 6 + n > cap) room(2 + n, 6 + n, v);
  const b = buf;
  switch (n) {
    case 1: b[pos] = 0xd4; b[pos + 1] = type; pos += 2; return;
    case 2: b[pos] = 0xd5; b[pos + 1] = type; pos += 2; return;
    case 4: b[pos] = 0xd6; b[pos + 1] = type; pos += 2; return;
    case 8: b[pos] = 0xd7; b[pos + 1] = type; pos += 2; return;
    case 16: b[pos] = 0xd8; b[pos + 1] = type; pos += 2; return;
  }
  if (n < 0x100) { b[pos] = 0xc7; b[pos + 1] = n; b[pos + 2] = type; pos += 3; }
  else if (n < 0x10000) { b[pos] = 0xc8; b[pos + 1] = n >>> 8; b[pos + 2] = n; b[pos + 3] = type; pos += 4; }
  else { b[pos] = 0xc9; b[pos + 1] = n >>> 24; b[pos + 2] = n >>> 16; b[pos + 3] = n >>> 8; b[pos + 4] = n; b[pos + 5] = type; pos += 6; }
}

// fixext's header byte for a payload of 1, 2, 4, 8 or 16 bytes.
const FIXEXT = [0, 0xd4, 0xd5, 0, 0xd6, 0, 0, 0, 0xd7, 0, 0, 0, 0, 0, 0, 0, 0xd8];

// An ext whose payload is MessagePack written by fn(): the payload is
// written after a 3-byte ext8 header and moved if another header is
// shorter (fixext: 2 bytes) or it needs a wider one.
function encodeNestedExt(type, fn, v, depth) {
  if (pos + 3 > cap) grow(3);
  const at = pos - start; // buf may be replaced while fn() writes
  pos += 3;
  fn(v, depth);
  const hdrAt = start + at;
  const n = pos - hdrAt - 3;
  if (n <= 16 && FIXEXT[n] !== 0) {
    buf.copyWithin(hdrAt + 2, hdrAt + 3, pos);
    pos--;
    buf[hdrAt] = FIXEXT[n]; buf[hdrAt + 1] = type;
    return;
  }
  if (n < 0x100) {
    buf[hdrAt] = 0xc7; buf[hdrAt + 1] = n; buf[hdrAt + 2] = type;
    return;
  }
  const extra = n < 0x10000 ? 1 : 3;
  if (pos + extra > cap) grow(extra);
  const h = start + at;
  buf.copyWithin(h + 3 + extra, h + 3, pos);
  pos += extra;
  if (extra === 1) { buf[h] = 0xc8; buf[h + 1] = n >>> 8; buf[h + 2] = n; buf[h + 3] = type; }
  else { buf[h] = 0xc9; buf[h + 1] = n >>> 24; buf[h + 2] = n >>> 16; buf[h + 3] = n >>> 8; buf[h + 4] = n; buf[h + 5] = type; }
}

// The fewest bytes an array (per = 1) or map (per = 2) of n items takes:
// its header, and a byte an item.
function leastBytes(n, per) {
  return per * n + (n < 16 ? 1 : n < 0x10000 ? 3 : 5);
}

// Depth counts MessagePack arrays and maps, those inside extensions too,
// exactly as the decoder counts them.
function deeper(depth, v) {
  if (depth >= depthLimit) throw fail(`nesting deeper than ${depthLimit}`, v);
  return depth + 1;
}

function encodeObject(v, depth) {
  // .constructor is an inline-cached load; getPrototypeOf is a runtime call
  const c = v.constructor;
  if (c === Object || (c === undefined && getProto(v) === null)) {
    visited[visitedCount++] = v;
    if (handleOf !== undefined && handleOf !== null) {
      const id = handleOf(v);
      if (id !== undefined) return encodeHandle(id);
    }
    return encodePlain(v, depth);
  }
  if (Array.isArray(v)) {
    visited[visitedCount++] = v;
    depth = deeper(depth, v);
    const n = v.length;
    // A byte an element at least, holes as much as values: a sparse array
    // past the limit is refused before its holes are walked.
    if (n > maxBytes - (pos - start) - 5 && leastBytes(n, 1) > maxBytes - (pos - start))
      throw overLimit(v, `array of ${n} elements`);
    encodeArrayHeader(n);
    let i = 0;
    try {
      for (; i < n; i++) encodeValue(v[i], depth);
    } catch (err) {
      if (overLimitError(err)) err.steps.push(`[${i}]`);
      throw err;
    }
    return;
  }
  if (v instanceof Uint8Array && v.constructor === Uint8Array) {
    if (moves(v.buffer)) return encodeTransfer(v, depth);
    return encodeBin(v);
  }
  return encodeSpecial(v, depth);
}

// for-in is V8's fastest way through an object's keys (its enum cache, no
// array); the map header is written once the keys are counted, and the body
// moved in the rare case 16 or more need a wider header.
function encodePlain(v, depth) {
  depth = deeper(depth, v);
  if (pos >= cap) grow(1);
  const at = pos - start;
  pos++;
  let n = 0;
  let k;
  try {
    for (k in v) {
      encodeString(k);
      encodeValue(v[k], depth);
      n++;
    }
  } catch (err) {
    if (overLimitError(err)) err.steps.push(keyPath(k));
    throw err;
  }
  const h = start + at;
  if (n < 16) {
    buf[h] = 0x80 | n;
    return;
  }
  const extra = n < 0x10000 ? 2 : 4;
  if (pos + extra > cap) grow(extra);
  const h2 = start + at;
  buf.copyWithin(h2 + 1 + extra, h2 + 1, pos);
  pos += extra;
  if (extra === 2) { buf[h2] = 0xde; buf[h2 + 1] = n >>> 8; buf[h2 + 2] = n; }
  else { buf[h2] = 0xdf; buf[h2 + 1] = n >>> 24; buf[h2 + 2] = n >>> 16; buf[h2 + 3] = n >>> 8; buf[h2 + 4] = n; }
}

// A class instance or the like: its own enumerable fields, as JSON has them.
function encodeOwnFields(v, depth) {
  depth = deeper(depth, v);
  const keys = Object.keys(v);
  encodeMapHeader(keys.length);
  let i = 0;
  try {
    for (; i < keys.length; i++) {
      encodeString(keys[i]);
      encodeValue(v[keys[i]], depth);
    }
  } catch (err) {
    if (overLimitError(err)) err.steps.push(keyPath(keys[i]));
    throw err;
  }
}

// Everything that is not a plain object, an array or a Uint8Array.
function encodeSpecial(v, depth) {
  if (!throughProxies && binding.findProxy(v) === 0) throw fail('cannot serialize a Proxy', v);
  if (v instanceof Date) return encodeDate(v);
  if (v instanceof Map) return encodeNestedExt(EXT_MAP, encodeMapEntries, v, depth);
  if (v instanceof Set) return encodeNestedExt(EXT_SET, encodeSetValues, v, depth);
  if (v instanceof ArrayBuffer) {
    if (moves(v)) return encodeTransfer(v, depth);
    return encodeBin(new Uint8Array(v), v);
  }
  if (ArrayBuffer.isView(v)) {
    if (moves(v.buffer)) return encodeTransfer(v, depth);
    return encodeTyped(v);
  }
  if (v instanceof Error) return encodeNestedExt(EXT_ERROR, encodeErrorFields, v, depth);
  if (v instanceof RegExp) return encodeNestedExt(EXT_REGEXP, encodeRegExp, v, depth);
  if (v instanceof Timestamp) return encodeTimestamp(v.seconds, v.nanoseconds);
  if (v instanceof Extension) {
    encodeExtHeader(v.type, v.data.length, v);
    buf.set(v.data, pos);
    pos += v.data.length;
    return;
  }
  if (handleOf === null && (v instanceof Handle || v[HANDLE_ID] !== undefined))
    throw fail(`a handle (${v.constructor?.name ?? 'Handle'}) cannot be serialized here`, v);
  if (v instanceof Handle) return moveHandles !== undefined ? encodeMoved(v) : encodeHandle(v.id);
  if (handleOf !== undefined && handleOf !== null) {
    const id = handleOf(v);
    if (id !== undefined) return encodeHandle(id);
  }
  const hid = v[HANDLE_ID];
  if (hid !== undefined) {
    if (hid === -2) throw fail('a moved handle cannot be serialized: it went to another thread', v);
    if (!Number.isSafeInteger(hid) || hid <= 0) throw fail('a closed handle cannot be serialized', v);
    if (moveHandles !== undefined) {
      // A handle with state of its own in JS (a Helper's channel) crosses
      // a reload with it, not a thread.
      if (v[HANDLE_DATA] !== undefined) throw fail(`a ${v.constructor?.name ?? 'handle'} cannot move to another thread`, v);
      return encodeMoved(v);
    }
    const extra = v[HANDLE_DATA];
    if (extra !== undefined) return encodeNestedExt(EXT_HANDLE_DATA, encodeHandleData, [extra.kind, hid, extra.data], depth);
    return encodeHandle(hid);
  }
  if (v instanceof Number || v instanceof String || v instanceof Boolean ||
      v instanceof BigInt) return encodeValue(v.valueOf(), depth);
  const tag = toTag(v);
  if (tag === 'Object' && typeof v !== 'function' && !(v instanceof Promise))
    return encodeOwnFields(v, depth);
  throw fail(`cannot serialize a ${typeof v === 'function' ? 'function' : tag}`, v);
}

function encodeMapEntries(m, depth) {
  depth = deeper(depth, m);
  if (leastBytes(m.size, 2) > maxBytes - (pos - start)) throw overLimit(m, `Map of ${m.size} entries`);
  encodeMapHeader(m.size);
  let i = 0;
  let key;
  let inKey = true;
  try {
    for (const [k, val] of m) {
      key = k;
      inKey = true;
      encodeValue(k, depth);
      inKey = false;
      encodeValue(val, depth);
      i++;
    }
  } catch (err) {
    if (overLimitError(err)) err.steps.push(inKey ? `.keys()[${i}]` : `.get(${describeKey(key)})`);
    throw err;
  }
}

function encodeSetValues(s, depth) {
  depth = deeper(depth, s);
  if (leastBytes(s.size, 1) > maxBytes - (pos - start)) throw overLimit(s, `Set of ${s.size} values`);
  encodeArrayHeader(s.size);
  let i = 0;
  try {
    for (const val of s) {
      encodeValue(val, depth);
      i++;
    }
  } catch (err) {
    if (overLimitError(err)) err.steps.push(`.values()[${i}]`);
    throw err;
  }
}

// [name, message, stack, own properties other than those]; the cause goes
// with the properties.
function encodeErrorFields(e, depth) {
  depth = deeper(depth, e);
  encodeArrayHeader(4);
  encodeValue(String(e.name), depth);
  encodeValue(String(e.message), depth);
  encodeValue(typeof e.stack === 'string' ? e.stack : null, depth);
  const extra = {};
  let any = false;
  for (const k of Object.keys(e)) {
    if (k === 'name' || k === 'message' || k === 'stack') continue;
    extra[k] = e[k];
    any = true;
  }
  if (hasOwn.call(e, 'cause')) { extra.cause = e.cause; any = true; }
  if (any) encodeOwnFields(extra, depth);
  else encodeValue(null, depth);
}

function encodeRegExp(r, depth) {
  deeper(depth, r);
  encodeArrayHeader(2);
  encodeString(r.source);
  encodeString(r.flags);
}

function encodeDate(d) {
  const ms = d.getTime();
  if (ms !== ms) {
    encodeExtHeader(EXT_SPECIAL, 1);
    buf[pos++] = 1;
    return;
  }
  const sec = Math.floor(ms / 1000);
  return encodeTimestamp(sec, (ms - sec * 1000) * 1e6);
}

// The standard timestamp extension in its smallest form.
function encodeTimestamp(sec, nsec) {
  if (nsec === 0 && sec >= 0 && sec < 0x100000000) {
    encodeExtHeader(EXT_TIMESTAMP, 4);
    buf[pos] = sec >>> 24; buf[pos + 1] = sec >>> 16; buf[pos + 2] = sec >>> 8; buf[pos + 3] = sec;
    pos += 4;
  } else if (sec >= 0 && sec < 0x400000000) {
    // 30 bits of nanoseconds, then 34 bits of seconds
    encodeExtHeader(EXT_TIMESTAMP, 8);
    const hi = nsec * 4 + Math.floor(sec / 0x100000000);
    const lo = sec >>> 0;
    buf[pos] = hi >>> 24; buf[pos + 1] = hi >>> 16; buf[pos + 2] = hi >>> 8; buf[pos + 3] = hi;
    buf[pos + 4] = lo >>> 24; buf[pos + 5] = lo >>> 16; buf[pos + 6] = lo >>> 8; buf[pos + 7] = lo;
    pos += 8;
  } else {
    encodeExtHeader(EXT_TIMESTAMP, 12);
    buf[pos] = nsec >>> 24; buf[pos + 1] = nsec >>> 16; buf[pos + 2] = nsec >>> 8; buf[pos + 3] = nsec;
    pos += 4;
    writeU64(sec);
  }
}

// BigInts between 2^53 and 2^64 are core 64-bit integers (which decode as
// BigInt again); every other BigInt is an extension, so it comes back a
// BigInt and not a Number.
function encodeBigInt(v) {
  if (v > 9007199254740991n || v < -9007199254740991n) {
    if (v >= -0x8000000000000000n && v <= 0xffffffffffffffffn) {
      if (pos + 9 > cap) grow(9);
      buf[pos++] = v < 0n ? 0xd3 : 0xcf;
      return writeBig64(BigInt.asUintN(64, v));
    }
  }
  // Two's complement, big-endian, as few bytes as hold the sign.
  const magnitude = v < 0n ? -v - 1n : v; // n signed bits hold < 2^(n-1)
  const bytes = Math.floor(magnitude.toString(2).length / 8) + 1;
  const hex = BigInt.asUintN(bytes * 8, v).toString(16).padStart(bytes * 2, '0');
  encodeExtHeader(EXT_BIGINT, bytes);
  for (let i = 0; i < bytes; i++) buf[pos + i] = parseInt(hex.substr(i * 2, 2), 16);
  pos += bytes;
}

function writeBig64(u) {
  const hi = Number(u >> 32n);
  const lo = Number(u & 0xffffffffn);
  buf[pos] = hi >>> 24; buf[pos + 1] = hi >>> 16; buf[pos + 2] = hi >>> 8; buf[pos + 3] = hi;
  buf[pos + 4] = lo >>> 24; buf[pos + 5] = lo >>> 16; buf[pos + 6] = lo >>> 8; buf[pos + 7] = lo;
  pos += 8;
}

// [element type, bytes in the host's (little-endian) order].
function encodeTyped(v) {
  const kind = TYPED.indexOf(v.constructor);
  if (kind < 0) throw fail(`cannot serialize a ${toTag(v)}`, v);
  const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  encodeExtHeader(EXT_TYPED, bytes.length + 1, v);
  buf[pos++] = kind;
  buf.set(bytes, pos);
  pos += bytes.length;
}

function encodeHandle(id) {
  encodeNestedExt(EXT_HANDLE, encodeValue, id, 0);
}

// moveHandles: the handle object joins the list (once) and is written as
// its place in it, 1 first: what a thread's message moves (thread.js).
function encodeMoved(v) {
  let i = moveHandles.indexOf(v);
  if (i < 0) i = moveHandles.push(v) - 1;
  encodeHandle(i + 1);
}

// [kind, handle id, data].
function encodeHandleData(v, depth) {
  depth = deeper(depth, v);
  encodeArrayHeader(3);
  encodeValue(v[0], depth);
  encodeNumber(v[1]);
  encodeValue(v[2], depth);
}

// [index in the transfer list, element type or -1 for an ArrayBuffer,
//  byteOffset, length]: the buffer itself moves beside the bytes.
function encodeTransfer(v, depth) {
  encodeNestedExt(EXT_TRANSFER, (x) => {
    deeper(depth, x);
    const isView = ArrayBuffer.isView(x);
    encodeArrayHeader(4);
    encodeNumber(transferList.indexOf(isView ? x.buffer : x));
    encodeNumber(isView ? (x instanceof Uint8Array ? -2 : TYPED.indexOf(x.constructor)) : -1);
    encodeNumber(isView ? x.byteOffset : 0);
    encodeNumber(isView ? (x instanceof DataView ? x.byteLength : x.length) : x.byteLength);
  }, v, depth);
}

// ---- errors with the path of the bad value ----

let rootName = 'value';
let rootValue;

function fail(reason, bad) {
  const err = new SerdesError(reason);
  err.bad = bad;
  return err;
}

// The encoding would pass maxBytes. what: the value that takes it past (a
// long string, a bin, a sparse array...), if known, and how to describe it.
// The error's path is gathered on its way out of encode(): each array,
// object, Map and Set it leaves adds its step (the catch blocks above), so
// no walk over the value, which may be a huge one, is needed to find it.
// Without what, the path is that of the value being written when the limit
// was reached.
function overLimit(what, description) {
  let reason;
  if (what === undefined) reason = `the encoding passes the limit of ${maxBytes} bytes (maxBytes) here`;
  else {
    if (description === undefined) {
      description = typeof what === 'string' ? `string of ${what.length} characters`
        : what instanceof Extension ? `Extension of ${what.data.length} bytes`
          : `${toTag(what)} of ${what.byteLength} bytes`;
    }
    reason = `${description} takes the encoding past the limit of ${maxBytes} bytes (maxBytes)`;
  }
  const err = new SerdesError(reason);
  err.steps = [];
  err.limit = maxBytes; // what was passed: a caller may say it its own way
  return err;
}

// Whether err is overLimit()'s, gathering its path. (Other errors pass
// through the same catch blocks: encodeInto's FULL often, as a batch
// fills.)
function overLimitError(err) {
  return err instanceof SerdesError && err.steps !== undefined;
}

function keyPath(k) {
  return /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
}

function describeKey(k) {
  return typeof k === 'string' ? JSON.stringify(k) : typeof k === 'object' && k !== null ? '{...}' : String(k);
}

// [child, path] pairs of v in the order the encoder visits them. Only used
// to explain an error, so it may be slow.
function children(v, path) {
  const out = [];
  if (typeof v !== 'object' || v === null || binding.findProxy(v) === 0) return out;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) out.push([v[i], `${path}[${i}]`]);
  } else if (v instanceof Map) {
    let i = 0;
    for (const [k, val] of v) {
      out.push([k, `${path}.keys()[${i++}]`], [val, `${path}.get(${describeKey(k)})`]);
    }
  } else if (v instanceof Set) {
    let i = 0;
    for (const val of v) out.push([val, `${path}.values()[${i++}]`]);
  } else if (!ArrayBuffer.isView(v) && !(v instanceof ArrayBuffer) && !(v instanceof Date) &&
             !(v instanceof RegExp)) {
    for (const k of Object.keys(v)) {
      if (v instanceof Error && (k === 'name' || k === 'message' || k === 'stack')) continue;
      out.push([v[k], path + keyPath(k)]);
    }
    if (v instanceof Error && hasOwn.call(v, 'cause') && !Object.keys(v).includes('cause'))
      out.push([v.cause, `${path}.cause`]);
  }
  return out;
}

// Where `bad` first sits under the root, in the encoder's order.
function pathOf(root, bad) {
  const seen = new Set();
  const walk = (v, path) => {
    if (v === bad) return path;
    if (typeof v !== 'object' || v === null || seen.has(v)) return undefined;
    seen.add(v);
    for (const [kid, kidPath] of children(v, path)) {
      const found = walk(kid, kidPath);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return walk(root, rootName);
}

// The first reference back to an ancestor: [where it is, the ancestor's
// path], or undefined when the value is deep but has no cycle.
function findCycle(root) {
  const stack = [];
  const paths = [];
  const walk = (v, path) => {
    if (typeof v !== 'object' || v === null) return undefined;
    const i = stack.indexOf(v);
    if (i >= 0) return [path, paths[i]];
    if (stack.length > depthLimit + 1) return undefined;
    stack.push(v);
    paths.push(path);
    for (const [kid, kidPath] of children(v, path)) {
      const found = walk(kid, kidPath);
      if (found !== undefined) return found;
    }
    stack.pop();
    paths.pop();
    return undefined;
  };
  return walk(root, rootName);
}

function explain(err) {
  let path;
  if (err.steps !== undefined) {
    path = rootName + err.steps.reverse().join('');
    err.message = `${path}: ${err.message}`;
    err.path = path;
    delete err.steps;
    return err;
  }
  const cycle = err.message.startsWith('nesting deeper') ? findCycle(rootValue) : undefined;
  if (cycle !== undefined) {
    path = cycle[0];
    err.message = `cyclic reference to ${cycle[1]} (cycles cannot be serialized)`;
  } else {
    path = pathOf(rootValue, err.bad);
  }
  if (path === undefined) path = rootName;
  err.message = `${path}: ${err.message}`;
  err.path = path;
  delete err.bad;
  return err;
}

// ---- encode entry points ----

function readOptions(options) {
  float32 = false;
  depthLimit = DEFAULT_DEPTH;
  maxBytes = DEFAULT_MAX_BYTES;
  transferList = undefined;
  moveAll = false;
  handleOf = undefined;
  moveHandles = undefined;
  rootName = 'value';
  throughProxies = false;
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null)
    throw new TypeError('serdes: options must be an object');
  float32 = options.float32 === true;
  if (options.maxDepth !== undefined) depthLimit = checkDepth(options.maxDepth);
  if (options.maxBytes !== undefined) {
    const m = options.maxBytes;
    if (!Number.isInteger(m) || m < 1 || m > MAX_BYTES)
      throw new RangeError(`serdes: maxBytes must be an integer in 1..${MAX_BYTES}`);
    maxBytes = m;
  }
  if (options.transfer !== undefined) {
    if (!Array.isArray(options.transfer) || !options.transfer.every((b) => b instanceof ArrayBuffer))
      throw new TypeError('serdes: options.transfer must be an array of ArrayBuffers');
    transferList = options.transfer;
  }
  // moveBuffers: an array that receives every ArrayBuffer met, each
  // encoded by reference to it rather than copied: for a receiver in the
  // same process that gets the same buffers (a reload hands the old code's
  // buffers to the new code this way, without a copy).
  if (options.moveBuffers !== undefined) {
    if (!Array.isArray(options.moveBuffers) || options.transfer !== undefined)
      throw new TypeError('serdes: options.moveBuffers must be an array (and excludes transfer)');
    transferList = options.moveBuffers;
    moveAll = true;
  }
  // handles: false refuses handle objects (what outlives nothing, such as
  // persist's root, cannot hold them).
  if (options.handles === false) {
    handleOf = null;
  } else if (options.handles !== undefined) {
    if (typeof options.handles !== 'function')
      throw new TypeError('serdes: options.handles must be a function or false');
    handleOf = options.handles;
  }
  // moveHandles: an array that receives every handle object met (an object
  // with HANDLE_ID, a Handle), each encoded as its place in the array + 1
  // rather than its id: for a receiver whose handle table differs (a
  // thread), which decodes with handles: (i) => its own handle i.
  if (options.moveHandles !== undefined) {
    if (!Array.isArray(options.moveHandles))
      throw new TypeError('serdes: options.moveHandles must be an array');
    moveHandles = options.moveHandles;
  }
  if (options.name !== undefined) rootName = String(options.name);
  // proxies: Proxies are encoded as what their traps show (persist's views
  // of its root are Proxies over plain data).
  throughProxies = options.proxies === true;
}

function checkDepth(d) {
  if (!Number.isInteger(d) || d < 1 || d > MAX_DEPTH)
    throw new RangeError(`serdes: maxDepth must be an integer in 1..${MAX_DEPTH}`);
  return d;
}

// Walks value into buf from pos (state set up by the caller), then checks
// for Proxies; errors come out with the bad value's path.
function run(value) {
  rootValue = value;
  busy = true;
  try {
    encodeValue(value, 0);
    // The buffer may have gone a little past maxBytes (RESERVE); the
    // encoding may not.
    if (pos - start > maxBytes) {
      const err = new SerdesError(`the encoding's ${pos - start} bytes are past the limit of ${maxBytes} bytes (maxBytes)`);
      err.steps = [];
      err.limit = maxBytes;
      throw err;
    }
    checkProxies();
  } catch (err) {
    throw failed(err);
  } finally {
    busy = false;
    rootValue = undefined;
    if (visitedCount !== 0) { visited = []; visitedCount = 0; }
  }
}

// The error encode() throws for err: with the bad value's path, and a
// stack overflow (called from deep in the caller's own recursion) as a
// SerdesError too.
function failed(err) {
  if (err instanceof SerdesError && (err.bad !== undefined || err.steps !== undefined)) return explain(err);
  if (err instanceof RangeError && /call stack/.test(err.message))
    return new SerdesError(`${rootName}: nesting too deep for the stack`);
  return err;
}

// Runs fn with the encoder's state saved, for a getter that encodes while
// an encode is running.
function nested(fn) {
  const saved = [buf, cap, bufAB, pos, start, into, surelyFull, float32, depthLimit, maxBytes, transferList, moveAll, handleOf, moveHandles, rootName, rootValue, visited, visitedCount, throughProxies];
  visited = [];
  visitedCount = 0;
  chunkUsed = CHUNK; // the outer encode owns the rest of the chunk
  busy = false;
  try {
    return fn();
  } finally {
    [buf, cap, bufAB, pos, start, into, surelyFull, float32, depthLimit, maxBytes, transferList, moveAll, handleOf, moveHandles, rootName, rootValue, visited, visitedCount, throughProxies] = saved;
    busy = true;
  }
}

function encode(value, options) {
  if (busy) return nested(() => encode(value, options));
  readOptions(options);
  if (CHUNK - chunkUsed < 512) {
    chunkAB = new ArrayBuffer(CHUNK);
    chunk = new Uint8Array(chunkAB);
    chunkUsed = 0;
  }
  buf = chunk;
  bufAB = chunkAB;
  start = pos = chunkUsed;
  cap = Math.min(CHUNK, start + maxBytes + RESERVE);
  into = false;
  try {
    run(value);
  } catch (err) {
    buf = bufAB = undefined;
    throw err;
  }
  const out = new Uint8Array(bufAB, start, pos - start);
  if (buf === chunk) {
    chunkUsed = (pos + 7) & ~7;
    if (chunkUsed > CHUNK) chunkUsed = CHUNK;
  } else if (pos < cap >> 1) {
    buf = bufAB = undefined;
    return out.slice(); // do not keep a mostly empty buffer alive
  }
  buf = bufAB = undefined;
  return out;
}

// Encodes into target at offset: the byte count, or EFULL (nothing
// meaningful written) when target is too small.
function encodeInto(value, target, offset = 0, options) {
  if (!(target instanceof Uint8Array))
    throw new TypeError('encodeInto: target must be a Uint8Array');
  if (!Number.isInteger(offset) || offset < 0 || offset > target.length)
    throw new RangeError('encodeInto: offset must be an integer within target');
  if (busy) return nested(() => encodeInto(value, target, offset, options));
  readOptions(options);
  buf = target;
  start = pos = offset;
  // Past maxBytes, the encoding is refused as encode() refuses it (below).
  cap = Math.min(target.length, offset + maxBytes + RESERVE);
  into = true;
  surelyFull = false;
  try {
    run(value);
    return pos - offset;
  } catch (err) {
    if (err !== FULL) throw err;
  } finally {
    buf = undefined;
  }
  if (surelyFull) return EFULL;
  // Room is checked for the worst case (a header's widest form, 3 bytes
  // per UTF-16 unit); near the end of target, encode elsewhere and copy.
  const out = encode(value, options);
  if (out.length > target.length - offset) return EFULL;
  target.set(out, offset);
  return out.length;
}

// ---- decoder ----

let src; // Uint8Array being read
let at; // next byte
let limit; // end of the region
let views; // bin as views into src instead of copies
let srcAB; // src's ArrayBuffer, looked up (a C++ call) at the first view
let exactTime; // timestamps as Timestamp, not Date
let decodeDepth;
let transferIn;
let handleIn;

function bad(message, offset = at) {
  return new SerdesError(`${message} at byte ${offset}`, offset);
}

function need(n) {
  if (n > limit - at) throw bad(`truncated: ${n} bytes needed, ${limit - at} left`);
}

function u16() {
  need(2);
  const v = (src[at] << 8) | src[at + 1];
  at += 2;
  return v;
}

function u32() {
  need(4);
  const v = src[at] * 0x1000000 + ((src[at + 1] << 16) | (src[at + 2] << 8) | src[at + 3]);
  at += 4;
  return v;
}

function decodeValue(depth) {
  if (at >= limit) throw bad('truncated: a value was expected');
  const b = src[at++];
  if (b < 0x80) return b;
  if (b < 0x90) return decodeMap(b & 0x0f, depth);
  if (b < 0xa0) return decodeArray(b & 0x0f, depth);
  if (b < 0xc0) return decodeString(b & 0x1f);
  if (b >= 0xe0) return b - 0x100;
  switch (b) {
    case 0xc0: return null;
    case 0xc2: return false;
    case 0xc3: return true;
    case 0xc4: need(1); return decodeBin(src[at++]);
    case 0xc5: return decodeBin(u16());
    case 0xc6: return decodeBin(u32());
    case 0xc7: need(2); return decodeExt(src[at++], depth);
    case 0xc8: return decodeExt(u16(), depth);
    case 0xc9: return decodeExt(u32(), depth);
    case 0xca: {
      need(4);
      f32b[3] = src[at]; f32b[2] = src[at + 1]; f32b[1] = src[at + 2]; f32b[0] = src[at + 3];
      at += 4;
      return f32[0];
    }
    case 0xcb: {
      need(8);
      f64b[7] = src[at]; f64b[6] = src[at + 1]; f64b[5] = src[at + 2]; f64b[4] = src[at + 3];
      f64b[3] = src[at + 4]; f64b[2] = src[at + 5]; f64b[1] = src[at + 6]; f64b[0] = src[at + 7];
      at += 8;
      return f64[0];
    }
    case 0xcc: need(1); return src[at++];
    case 0xcd: return u16();
    case 0xce: return u32();
    case 0xcf: return decodeU64();
    case 0xd0: need(1); return (src[at++] << 24) >> 24;
    case 0xd1: return (u16() << 16) >> 16;
    case 0xd2: return u32() | 0;
    case 0xd3: return decodeI64();
    case 0xd4: return decodeExt(1, depth);
    case 0xd5: return decodeExt(2, depth);
    case 0xd6: return decodeExt(4, depth);
    case 0xd7: return decodeExt(8, depth);
    case 0xd8: return decodeExt(16, depth);
    case 0xd9: need(1); return decodeString(src[at++]);
    case 0xda: return decodeString(u16());
    case 0xdb: return decodeString(u32());
    case 0xdc: return decodeArray(u16(), depth);
    case 0xdd: return decodeArray(u32(), depth);
    case 0xde: return decodeMap(u16(), depth);
    case 0xdf: return decodeMap(u32(), depth);
  }
  throw bad('0xc1 is not a MessagePack type', at - 1);
}

// Numbers up to 2^53, BigInt beyond: never a wrong Number.
function decodeU64() {
  const hi = u32();
  const lo = u32();
  if (hi < 0x200000) return hi * 4294967296 + lo;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

function decodeI64() {
  const hi = u32() | 0;
  const lo = u32();
  if (hi >= -0x200000 && hi < 0x200000) {
    const v = hi * 4294967296 + lo;
    if (v !== -9007199254740992) return v;
  }
  return (BigInt(hi) << 32n) | BigInt(lo);
}

function decodeArray(n, depth) {
  if (++depth > decodeDepth) throw bad(`nesting deeper than ${decodeDepth}`, at - 1);
  // Each element takes a byte at least: a length beyond the input is a lie.
  if (n > limit - at) throw bad(`array of ${n} items in ${limit - at} bytes`);
  // V8 gives a long new Array(n) no storage until items come (it starts
  // sparse), so nothing is allocated ahead of the bytes that back it.
  const out = new Array(n);
  for (let i = 0; i < n; i++) out[i] = decodeValue(depth);
  return out;
}

// A map whose keys are all strings becomes an object; one with any other
// key (a number, nil, an array...) a Map, whose keys keep their type and
// order.
function decodeMap(n, depth) {
  if (++depth > decodeDepth) throw bad(`nesting deeper than ${decodeDepth}`, at - 1);
  if (n * 2 > limit - at) throw bad(`map of ${n} entries in ${limit - at} bytes`);
  const start = at;
  const out = {};
  for (let i = 0; i < n; i++) {
    const b = at < limit ? src[at] : 0;
    let k;
    if (b >= 0xa0 && b < 0xc0) {
      at++;
      k = decodeKey(b & 0x1f);
    } else {
      k = decodeValue(depth);
      if (typeof k !== 'string') return decodeMapAsMap(out, start, i, k, n, depth);
    }
    const v = decodeValue(depth);
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true });
    else out[k] = v;
  }
  return out;
}

// The map from start is a Map after all: its first entries (i, string
// keys, in obj already) are read again for their order (an object puts
// integer-like names first), their values skipped (and taken from obj:
// not made twice); then the rest.
function decodeMapAsMap(obj, start, i, firstKey, n, depth) {
  const end = at;
  const m = new Map();
  at = start;
  for (let j = 0; j < i; j++) {
    const k = decodeValue(depth);
    skipValue();
    m.set(k, obj[k]);
  }
  at = end;
  m.set(firstKey, decodeValue(depth));
  for (let j = i + 1; j < n; j++) {
    const k = decodeValue(depth);
    m.set(k, decodeValue(depth));
  }
  return m;
}

// Past one value (read before, so well-formed) without making it.
function skipValue() {
  const b = src[at++];
  if (b < 0x80 || b >= 0xe0) return;
  if (b < 0x90) return skipValues((b & 0x0f) * 2);
  if (b < 0xa0) return skipValues(b & 0x0f);
  if (b < 0xc0) return void (at += b & 0x1f);
  switch (b) {
    case 0xc4: case 0xd9: at += 1 + src[at]; return;
    // The length is read first: `at += u16()` would add it to the `at`
    // from before u16() moved past the length.
    case 0xc5: case 0xda: { const n = u16(); at += n; return; }
    case 0xc6: case 0xdb: { const n = u32(); at += n; return; }
    case 0xc7: at += 2 + src[at]; return; // the length, the type, the data
    case 0xc8: { const n = u16(); at += 1 + n; return; }
    case 0xc9: { const n = u32(); at += 1 + n; return; }
    case 0xcc: case 0xd0: at += 1; return;
    case 0xcd: case 0xd1: at += 2; return;
    case 0xca: case 0xce: case 0xd2: at += 4; return;
    case 0xcb: case 0xcf: case 0xd3: at += 8; return;
    case 0xd4: at += 2; return;
    case 0xd5: at += 3; return;
    case 0xd6: at += 5; return;
    case 0xd7: at += 9; return;
    case 0xd8: at += 17; return;
    case 0xdc: return skipValues(u16());
    case 0xdd: return skipValues(u32());
    case 0xde: return skipValues(u16() * 2);
    case 0xdf: return skipValues(u32() * 2);
  }
  // nil, false, true: the byte alone
}

function skipValues(n) {
  for (let i = 0; i < n; i++) skipValue();
}

// Short strings repeat (map keys above all, enum-like values too): they
// come from a cache indexed by a hash of their bytes, which are kept in one
// flat array to compare with. A miss costs the hash and a 16-byte copy.
const STR_BITS = 12;
const STR_CACHE = 1 << STR_BITS; // entries of up to SHORT bytes
const SHORT = 16;
const strCache = new Array(STR_CACHE).fill('');
const strBytes = new Uint8Array(STR_CACHE * SHORT);
const strLens = new Uint8Array(STR_CACHE); // 0: empty slot
const strIsKey = new Uint8Array(STR_CACHE); // 1: the slot's string is internalized
let strSlot = -1; // the slot decodeString last used, or -1
const fcc = String.fromCharCode;

function decodeString(n) {
  need(n);
  const b = src;
  const p = at;
  if (n <= SHORT) {
    if (n === 0) {
      strSlot = -1;
      return '';
    }
    // Length, first, middle and last bytes: cheap, and spread enough; a
    // collision costs a miss, never a wrong string.
    const h = Math.imul(b[p] ^ (b[p + (n >> 1)] << 8) ^ (b[p + n - 1] << 16) ^ (n << 24), 0x9e3779b1) >>> (32 - STR_BITS);
    const o = h * SHORT;
    at = p + n;
    strSlot = h;
    if (strLens[h] === n) {
      let i = 0;
      while (i < n && strBytes[o + i] === b[p + i]) i++;
      if (i === n) return strCache[h];
    }
    let high = 0;
    for (let i = 0; i < n; i++) high |= b[p + i];
    const s = high < 0x80 ? ascii(b, p, n) : binding.utf8Slice(b, p, p + n);
    strCache[h] = s;
    strLens[h] = n;
    strIsKey[h] = 0;
    for (let i = 0; i < n; i++) strBytes[o + i] = b[p + i];
    return s;
  }
  at = p + n;
  strSlot = -1;
  if (n <= 2 * SHORT) {
    let high = 0;
    for (let i = 0; i < n; i++) high |= b[p + i];
    if (high < 0x80) return ascii(b, p, SHORT) + ascii(b, p + SHORT, n - SHORT);
  }
  // Long or not ASCII: the native decoder, which also replaces bad bytes
  // as the Encoding standard says.
  return binding.utf8Slice(b, p, p + n);
}

// A map key. V8 compares property names by identity: a key that is not
// internalized sends every store through a string-table lookup, so a
// cached key is internalized the first time it is used as one.
function decodeKey(n) {
  const s = decodeString(n);
  const h = strSlot;
  if (h < 0 || strIsKey[h] === 1) return s;
  const k = internalize(s);
  strCache[h] = k;
  strIsKey[h] = 1;
  return k;
}

// Property names are kept internalized: reading one back yields V8's copy.
function internalize(s) {
  const o = {};
  o[s] = 0;
  for (const k in o) return k;
  return s;
}

// n (1..16) ASCII bytes from p: one builtin call makes the string.
function ascii(b, p, n) {
  switch (n) {
    case 1: return fcc(b[p]);
    case 2: return fcc(b[p], b[p + 1]);
    case 3: return fcc(b[p], b[p + 1], b[p + 2]);
    case 4: return fcc(b[p], b[p + 1], b[p + 2], b[p + 3]);
    case 5: return fcc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4]);
    case 6: return fcc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5]);
    case 7: return fcc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6]);
    case 8: return fcc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7]);
    case 9: return fcc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8]);
    case 10: return fcc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8], b[p + 9]);
    case 11: return fcc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8], b[p + 9], b[p + 10]);
    case 12: return fcc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8], b[p + 9], b[p + 10], b[p + 11]);
    case 13: return fcc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8], b[p + 9], b[p + 10], b[p + 11], b[p + 12]);
    case 14: return fcc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8], b[p + 9], b[p + 10], b[p + 11], b[p + 12], b[p + 13]);
    case 15: return fcc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8], b[p + 9], b[p + 10], b[p + 11], b[p + 12], b[p + 13], b[p + 14]);
    case 16: return fcc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8], b[p + 9], b[p + 10], b[p + 11], b[p + 12], b[p + 13], b[p + 14], b[p + 15]);
  }
  return '';
}

function decodeBin(n) {
  need(n);
  let out;
  if (views) {
    // A view made directly: subarray looks up the species constructor.
    if (srcAB === undefined) srcAB = src.buffer;
    out = new Uint8Array(srcAB, src.byteOffset + at, n);
  } else {
    out = src.slice(at, at + n);
  }
  at += n;
  return out;
}

function decodeExt(n, depth) {
  need(1);
  const type = (src[at++] << 24) >> 24;
  need(n);
  const from = at;
  const to = at + n;
  switch (type) {
    case EXT_TIMESTAMP: return decodeTimestamp(n, from);
    case EXT_SPECIAL: {
      if (n !== 1) throw bad(`special value of ${n} bytes`, from);
      const v = src[at++];
      if (v === 0) return undefined;
      if (v === 1) return new Date(NaN);
      throw bad(`unknown special value ${v}`, from);
    }
    case EXT_MAP: return inside(to, depth, () => {
      if (depth + 1 > decodeDepth) throw bad(`nesting deeper than ${decodeDepth}`);
      const m = new Map();
      if (at >= limit) throw bad('Map extension without a map inside', from);
      const b = src[at];
      let count;
      if (b >= 0x80 && b < 0x90) { count = b & 0x0f; at++; }
      else if (b === 0xde) { at++; count = u16(); }
      else if (b === 0xdf) { at++; count = u32(); }
      else throw bad('Map extension without a map inside');
      if (count * 2 > limit - at) throw bad(`map of ${count} entries in ${limit - at} bytes`);
      for (let i = 0; i < count; i++) {
        const k = decodeValue(depth + 1);
        m.set(k, decodeValue(depth + 1));
      }
      return m;
    });
    case EXT_SET: return inside(to, depth, () => {
      const items = decodeValue(depth);
      if (!Array.isArray(items)) throw bad('Set extension without an array inside', from);
      return new Set(items);
    });
    case EXT_BIGINT: return decodeBigInt(n);
    case EXT_TYPED: return decodeTyped(n);
    case EXT_ERROR: return inside(to, depth, () => {
      const f = decodeValue(depth);
      if (!Array.isArray(f) || f.length !== 4 || typeof f[0] !== 'string' || typeof f[1] !== 'string')
        throw bad('Error extension without [name, message, stack, properties]', from);
      const Ctor = hasOwn.call(ERRORS, f[0]) ? ERRORS[f[0]] : Error;
      const e = Ctor === AggregateError ? new AggregateError([], f[1]) : new Ctor(f[1]);
      if (e.name !== f[0]) Object.defineProperty(e, 'name', { value: f[0], writable: true, configurable: true });
      if (typeof f[2] === 'string') Object.defineProperty(e, 'stack', { value: f[2], writable: true, configurable: true });
      else delete e.stack;
      if (f[3] !== null && typeof f[3] === 'object') {
        for (const k of Object.keys(f[3])) {
          if (k === 'cause') Object.defineProperty(e, 'cause', { value: f[3].cause, writable: true, configurable: true });
          else if (k !== '__proto__') e[k] = f[3][k];
        }
      }
      return e;
    });
    case EXT_REGEXP: return inside(to, depth, () => {
      const f = decodeValue(depth);
      if (!Array.isArray(f) || f.length !== 2 || typeof f[0] !== 'string' || typeof f[1] !== 'string')
        throw bad('RegExp extension without [source, flags]', from);
      try {
        return new RegExp(f[0], f[1]);
      } catch (err) {
        throw bad(`bad RegExp: ${err.message}`, from);
      }
    });
    case EXT_HANDLE: return inside(to, depth, () => {
      const id = decodeValue(depth);
      if (!Number.isSafeInteger(id) || id <= 0) throw bad('handle extension without a handle id', from);
      if (handleIn === undefined) return new Handle(id);
      return handleIn(id);
    });
    case EXT_HANDLE_DATA: return inside(to, depth, () => {
      const f = decodeValue(depth);
      if (!Array.isArray(f) || f.length !== 3 || typeof f[0] !== 'string' || !Number.isSafeInteger(f[1]) || f[1] <= 0)
        throw bad('handle extension without [kind, handle id, data]', from);
      if (handleIn === undefined) return new Handle(f[1]);
      return handleIn(f[1], f[2], f[0]);
    });
    case EXT_TRANSFER: return inside(to, depth, () => decodeTransfer(from, depth));
  }
  const data = src.slice(at, to);
  at = to;
  return new Extension(type, data);
}

// Decodes one value that must fill the ext payload [at, to) exactly.
function inside(to, depth, fn) {
  const outer = limit;
  limit = to;
  const v = fn();
  if (at !== to) throw bad(`${to - at} bytes left over inside an extension`);
  limit = outer;
  return v;
}

function decodeTimestamp(n, from) {
  let sec;
  let nsec;
  if (n === 4) {
    sec = u32();
    nsec = 0;
  } else if (n === 8) {
    const hi = u32();
    const lo = u32();
    nsec = Math.floor(hi / 4);
    sec = (hi & 3) * 4294967296 + lo;
  } else if (n === 12) {
    nsec = u32();
    const hi = u32() | 0;
    const lo = u32();
    sec = hi * 4294967296 + lo;
    if (!Number.isSafeInteger(sec)) throw bad('timestamp seconds beyond 2^53', from);
  } else {
    throw bad(`timestamp of ${n} bytes (4, 8 or 12 expected)`, from);
  }
  if (nsec > 999999999) throw bad(`timestamp with ${nsec} nanoseconds`, from);
  if (exactTime) return new Timestamp(sec, nsec);
  return new Date(sec * 1000 + Math.floor(nsec / 1e6));
}

function decodeBigInt(n) {
  if (n === 0) throw bad('BigInt extension without bytes');
  let hex = '';
  for (let i = 0; i < n; i++) hex += (src[at + i] < 16 ? '0' : '') + src[at + i].toString(16);
  const negative = src[at] >= 0x80;
  at += n;
  const u = BigInt('0x' + hex);
  return negative ? BigInt.asIntN(n * 8, u) : u;
}

function decodeTyped(n) {
  if (n === 0) throw bad('typed array extension without an element type');
  const kind = src[at];
  const Ctor = TYPED[kind];
  if (Ctor === undefined) throw bad(`unknown typed array type ${kind}`);
  const len = n - 1;
  const size = Ctor === DataView ? 1 : Ctor.BYTES_PER_ELEMENT;
  if (len % size !== 0) throw bad(`${len} bytes are not a whole number of ${Ctor.name} elements`);
  const bytes = src.slice(at + 1, at + n); // a copy: aligned, and owned
  at += n;
  return Ctor === DataView ? new DataView(bytes.buffer) : new Ctor(bytes.buffer, 0, len / size);
}

function decodeTransfer(from, depth) {
  const f = decodeValue(depth);
  if (!Array.isArray(f) || f.length !== 4 || !f.every(Number.isSafeInteger))
    throw bad('transfer extension without [index, type, offset, length]', from);
  const [index, kind, offset, length] = f;
  const ab = transferIn === undefined ? undefined : transferIn[index];
  if (!(ab instanceof ArrayBuffer)) throw bad(`transferred buffer ${index} is missing`, from);
  if (kind === -1) return ab;
  const Ctor = kind === -2 ? Uint8Array : TYPED[kind];
  if (Ctor === undefined) throw bad(`unknown typed array type ${kind}`, from);
  const size = Ctor === DataView ? 1 : Ctor.BYTES_PER_ELEMENT;
  if (offset < 0 || length < 0 || offset + length * size > ab.byteLength || offset % size !== 0)
    throw bad('transferred view outside its buffer', from);
  return new Ctor(ab, offset, length);
}

function decode(bytes, begin, end, options) {
  if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
  else if (!(bytes instanceof Uint8Array))
    throw new TypeError('decode: bytes must be a Uint8Array or an ArrayBuffer');
  if (begin === undefined) begin = 0;
  const size = bytes.length;
  if (end === undefined) end = size;
  if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end > size || begin > end)
    throw new RangeError(`decode: region ${begin}..${end} is outside 0..${size}`);
  const saved = src !== undefined ? [src, srcAB, at, limit, views, exactTime, decodeDepth, transferIn, handleIn] : undefined;
  views = false;
  exactTime = false;
  decodeDepth = DEFAULT_DEPTH;
  transferIn = undefined;
  handleIn = undefined;
  if (options !== undefined) {
    if (typeof options !== 'object' || options === null)
      throw new TypeError('decode: options must be an object');
    views = options.views === true;
    if (options.timestamps !== undefined) {
      if (options.timestamps !== 'date' && options.timestamps !== 'exact')
        throw new TypeError("decode: options.timestamps must be 'date' or 'exact'");
      exactTime = options.timestamps === 'exact';
    }
    if (options.maxDepth !== undefined) decodeDepth = checkDepth(options.maxDepth);
    if (options.transfer !== undefined) transferIn = options.transfer;
    if (options.handles !== undefined) {
      if (typeof options.handles !== 'function')
        throw new TypeError('decode: options.handles must be a function');
      handleIn = options.handles;
    }
  }
  src = bytes;
  srcAB = undefined;
  at = begin;
  limit = end;
  try {
    if (begin === end) throw bad('no bytes to decode');
    const value = decodeValue(0);
    if (at !== end) throw bad(`${end - at} bytes after the value`);
    return value;
  } catch (err) {
    if (err instanceof RangeError && /call stack/.test(err.message))
      throw bad('nesting too deep for the stack');
    throw err;
  } finally {
    if (saved !== undefined) [src, srcAB, at, limit, views, exactTime, decodeDepth, transferIn, handleIn] = saved;
    else src = srcAB = undefined;
  }
}

return {
  encode, encodeInto, decode, Extension, Timestamp, Handle, SerdesError,
  HANDLE_ID, HANDLE_DATA, addHandleReviver, reviveHandle, stayedReviver, EFULL, DEFAULT_DEPTH, MAX_DEPTH, DEFAULT_MAX_BYTES, MAX_BYTES,
  types: Object.freeze({
    timestamp: EXT_TIMESTAMP, special: EXT_SPECIAL, map: EXT_MAP, set: EXT_SET,
    bigint: EXT_BIGINT, typedArray: EXT_TYPED, error: EXT_ERROR,
    regexp: EXT_REGEXP, handle: EXT_HANDLE, transfer: EXT_TRANSFER, handleData: EXT_HANDLE_DATA,
  }),
};
