// persist: the persistent root, what `import ... from 'persist'` gives
// (docs/persist.md). A root is an object whose top-level keys are kept in
// a store (modules/persist/persist.c, one SQLite file per root): the keys a
// turn of the event loop changed are committed together when the turn
// ends; a turn that ends in an uncaught exception commits nothing.
//
// How changes are seen: the root and the plain objects and arrays under it
// are Proxies over plain data, and every write through them marks its
// top-level key changed. A key the program may also reach another way is
// watched instead: one an object was assigned to (the program may keep
// that object and change it later; bytes are copied instead) and one a
// Map, Set, Date or binary value was read from (those come back as they
// are, as native code takes them).
// At the end of every turn a watched key is encoded again and written when
// its bytes changed. A turn that writes nothing through the root costs
// nothing unless keys are watched.
//
// Embedded in persist.so (DV8_MODULE_JS) and evaluated in each context
// that imports 'persist'; the stores stay open across reloads (they are the
// thread's), so a reload's new code starts from what the old code's last
// turn committed.
import * as raw from 'persist/raw';
import { encode, encodeInto, decode, EFULL, SerdesError } from 'serdes';
import { isMainThread } from 'thread';

const TURN_END = 0, TURN_THREW = 1, TURN_RELOAD = 2, TURN_LEAVE = 3;
const UV_EFTYPE = -4028;

const roots = new Map(); // name -> the state of this context's view of it
let armed = false;
let always = false; // the hook at the end of every turn (keys are watched)
const rawOf = new WeakMap(); // view -> the data it shows
let hooked = false;
let errorHandler = null;
let retryTimer = null;
let scratch = new Uint8Array(64 * 1024);


// ---- reading the store ----

function decodeEntry(st, key, bytes) {
  try {
    return decode(bytes);
  } catch (err) {
    throw raw.error(UV_EFTYPE, `persist: root '${st.name}' (${raw.dir}/${st.name}.db), key '${key}': ${err.message}`);
  }
}

function ensureOpen(st) {
  if (st.id !== 0) return;
  if (raw.repl)
    throw new Error('persist: the REPL keeps its state by replaying its inputs (docs/persist.md); a root would see each change twice');
  const id = raw.open(st.name);
  if (!hooked) {
    raw.hook(onTurn);
    hooked = true;
  }
  // After an upgrade that failed, the root this code had is still what was
  // committed: it goes on with it.
  if (st.data === null) {
    const data = Object.create(null);
    try {
      const entries = raw.load(id);
      for (let i = 0; i < entries.length; i += 2) data[entries[i]] = decodeEntry(st, entries[i], entries[i + 1]);
    } catch (err) {
      raw.close(id);
      throw err;
    }
    st.data = data;
  }
  st.id = id;
}

// ---- changes ----

function armTurn() {
  if (!armed) {
    armed = true;
    raw.arm(0);
  }
}

function mark(st, key) {
  st.dirty.add(key);
  armTurn();
}

function watch(st, key) {
  if (!st.watched.has(key)) st.watched.set(key, null);
  if (!always) {
    always = true;
    raw.arm(1);
  }
}

// Bytes written to a top-level key are copied into the root's turn arena
// (one buffer, reused turn after turn) rather than into a buffer of their
// own: a Pending. The commit writes them from there, and from then on they
// are Stored: read back from the store when the program reads them. A turn
// that writes megabytes of bytes allocates nothing for them, and the root
// keeps no copy in memory of bytes only written.
class Pending {
  constructor(off, head, length) {
    this.off = off; // where its encoding starts in the arena
    this.head = head; // the MessagePack bin header's length
    this.length = length; // the bytes'
  }
}
const STORED = Object.freeze({ stored: true });

// Copies u8 into the arena as its MessagePack encoding (a bin, as serdes
// writes a Uint8Array), which the commit hands to the store as it is.
function pend(st, u8) {
  const n = u8.length;
  const head = n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
  let a = st.arena;
  const off = st.arenaUsed;
  if (off + head + n > a.length) {
    const bigger = new Uint8Array(Math.max(a.length * 2, off + head + n));
    bigger.set(a.subarray(0, off));
    a = st.arena = bigger;
  }
  if (head === 2) { a[off] = 0xc4; a[off + 1] = n; }
  else if (head === 3) { a[off] = 0xc5; a[off + 1] = n >>> 8; a[off + 2] = n; }
  else { a[off] = 0xc6; a[off + 1] = n >>> 24; a[off + 2] = n >>> 16; a[off + 3] = n >>> 8; a[off + 4] = n; }
  a.set(u8, off + head);
  st.arenaUsed = off + head + n;
  return new Pending(off, head, n);
}

// st.data[key] as the program sees it: Pending and Stored bytes made
// Uint8Arrays (kept from then on).
function valueOf(st, key) {
  const v = st.data[key];
  if (v instanceof Pending) return (st.data[key] = st.arena.slice(v.off + v.head, v.off + v.head + v.length));
  if (v !== STORED) return v;
  const bytes = raw.get(st.id, key);
  return (st.data[key] = bytes === undefined ? undefined : decodeEntry(st, key, bytes));
}

// The arena is reused by the next turn: what still points into it is
// copied out first (a commit that failed keeps its changes).
function settleArena(st, committed) {
  if (st.arenaUsed === 0) return;
  for (const key of st.dirty) {
    const v = st.data[key];
    if (v instanceof Pending) st.data[key] = committed ? STORED : st.arena.slice(v.off + v.head, v.off + v.head + v.length);
  }
  st.arenaUsed = 0;
}

// What a write puts in. An object is taken as it is (the program may go on
// using it: the key is watched), after a check that it can be stored, so
// that what cannot fails here rather than at the commit. A view, or an
// object holding views, is copied: data is in one place of the root.
function copyIn(st, key, value, path, top = false) {
  const t = typeof value;
  if (t === 'function' || t === 'symbol')
    throw new TypeError(`persist: ${path}: cannot store a ${t}`);
  if (t !== 'object' || value === null) return value;
  const data = rawOf.get(value);
  try {
    if (data !== undefined) return decode(encode(data, { name: path, handles: false }));
    // Bytes are copied, not watched: they are often a buffer that is about
    // to be reused (a socket's reads).
    if (value instanceof Uint8Array) return top && value.constructor === Uint8Array ? pend(st, value) : new Uint8Array(value);
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return decode(encode(value, { name: path }));
    try {
      encode(value, { name: path, handles: false });
    } catch (err) {
      if (!(err instanceof SerdesError) || !/cannot serialize a Proxy/.test(err.message)) throw err;
      return decode(encode(value, { proxies: true, name: path, handles: false }));
    }
  } catch (err) {
    // A handle is the process's: after a restart there is nothing to hold.
    if (err instanceof SerdesError && /a handle \(/.test(err.message))
      throw new TypeError(`persist: ${err.message.replace('cannot be serialized here', 'cannot be stored: handles do not outlive the process (store what reopens it)')}`);
    throw err;
  }
  watch(st, key);
  return value;
}

// What a read gives: plain objects and arrays as views that see writes.
function view(st, value, key) {
  if (typeof value !== 'object' || value === null) return value;
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null || Array.isArray(value)) {
    let p = st.views.get(value);
    if (p === undefined) {
      p = new Proxy(value, handlerFor(st, key));
      st.views.set(value, p);
      rawOf.set(p, value);
    }
    return p;
  }
  watch(st, key);
  return value;
}

function handlerFor(st, key) {
  let h = st.handlers.get(key);
  if (h !== undefined) return h;
  const path = `root.${key}`;
  h = {
    get(target, prop) {
      return view(st, Reflect.get(target, prop), key);
    },
    set(target, prop, value) {
      const v = typeof prop === 'symbol' ? value : copyIn(st, key, value, path);
      mark(st, key);
      return Reflect.set(target, prop, v);
    },
    deleteProperty(target, prop) {
      mark(st, key);
      return Reflect.deleteProperty(target, prop);
    },
    defineProperty(target, prop, desc) {
      if (desc.get !== undefined || desc.set !== undefined)
        throw new TypeError(`persist: ${path}: a getter or setter cannot be stored`);
      if ('value' in desc) desc = { ...desc, value: copyIn(st, key, desc.value, path) };
      mark(st, key);
      return Reflect.defineProperty(target, prop, desc);
    },
    getOwnPropertyDescriptor(target, prop) {
      const d = Reflect.getOwnPropertyDescriptor(target, prop);
      if (d !== undefined && d.configurable && 'value' in d) d.value = view(st, d.value, key);
      return d;
    },
    setPrototypeOf() {
      throw new TypeError(`persist: ${path}: the prototype of stored data cannot change`);
    },
  };
  st.handlers.set(key, h);
  return h;
}

function checkKey(key) {
  if (typeof key === 'symbol') throw new TypeError("persist: a root's keys are strings");
}

// The root itself: its target is an empty stand-in, its keys are st.data's
// (which a rollback or a load replaces).
function rootHandler(st) {
  const own = (key) => Object.prototype.hasOwnProperty.call(st.data, key);
  return {
    get(_, key) {
      if (typeof key === 'symbol') return undefined;
      ensureOpen(st);
      return own(key) ? view(st, valueOf(st, key), key) : undefined;
    },
    set(_, key, value) {
      checkKey(key);
      ensureOpen(st);
      st.data[key] = copyIn(st, key, value, `root.${key}`, true);
      mark(st, key);
      return true;
    },
    deleteProperty(_, key) {
      checkKey(key);
      ensureOpen(st);
      if (own(key)) {
        delete st.data[key];
        mark(st, key);
      }
      return true;
    },
    has(_, key) {
      if (typeof key === 'symbol') return false;
      ensureOpen(st);
      return own(key);
    },
    ownKeys() {
      ensureOpen(st);
      return Object.keys(st.data);
    },
    getOwnPropertyDescriptor(_, key) {
      if (typeof key === 'symbol') return undefined;
      ensureOpen(st);
      if (!own(key)) return undefined;
      return { value: view(st, valueOf(st, key), key), writable: true, enumerable: true, configurable: true };
    },
    defineProperty(_, key, desc) {
      checkKey(key);
      if (desc.get !== undefined || desc.set !== undefined)
        throw new TypeError(`persist: root.${key}: a getter or setter cannot be stored`);
      ensureOpen(st);
      st.data[key] = copyIn(st, key, desc.value, `root.${key}`, true);
      mark(st, key);
      return true;
    },
    getPrototypeOf() {
      return null;
    },
    setPrototypeOf() {
      throw new TypeError("persist: the root's prototype cannot change");
    },
  };
}

function stateOf(name) {
  let st = roots.get(name);
  if (st === undefined) {
    st = { name, id: 0, data: null, dirty: new Set(), watched: new Map(), options: new Map(), arena: new Uint8Array(16384), arenaUsed: 0, views: new WeakMap(), handlers: new Map(), proxy: null, failing: false };
    st.proxy = new Proxy(Object.create(null), rootHandler(st));
    roots.set(name, st);
  }
  return st;
}

// ---- commits ----

// The bytes of st.data[key], in scratch (grown as needed): their length.
function encodeKey(st, key) {
  let options = st.options.get(key);
  if (options === undefined) {
    options = { name: `root.${key}`, handles: false };
    st.options.set(key, options);
  }
  let v = st.data[key];
  if (v instanceof Pending) v = st.arena.subarray(v.off + v.head, v.off + v.head + v.length);
  for (;;) {
    const n = encodeInto(v, scratch, 0, options);
    if (n !== EFULL) return n;
    scratch = new Uint8Array(scratch.length * 2);
  }
}

function sameBytes(a, b, n) {
  if (a === null || a.length !== n) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

// One commit's state, kept here rather than made per commit: the code of
// its last step, whether it has begun, and the watched keys it wrote with
// their bytes (key, bytes, ...).
let rc = 0, begun = false;
const seen = [];

// Writes key's length bytes of from (at at) in st's transaction, begun at
// the first write; a key of length null is deleted.
function write(st, key, length, from = scratch, at = 0) {
  if (!begun) {
    rc = raw.begin(st.id);
    begun = true;
    if (rc !== 0) return;
  }
  rc = length === null ? raw.del(st.id, key) : raw.put(st.id, key, from, length, at);
}

// Commits st's changed keys, and the watched keys whose bytes changed: 0,
// or why not (an Error).
function commit(st) {
  if (st.id === 0 || (st.dirty.size === 0 && st.watched.size === 0)) return 0;
  rc = 0;
  begun = false;
  seen.length = 0;
  try {
    // Changed keys first, in the order they changed: a new key's place in
    // the store (and so in the root read back) is when it was made.
    for (const key of st.dirty) {
      if (rc !== 0) break;
      if (!Object.prototype.hasOwnProperty.call(st.data, key)) {
        write(st, key, null);
        st.watched.delete(key);
        continue;
      }
      const v = st.data[key];
      if (v instanceof Pending) { // encoded already, in the arena
        write(st, key, v.head + v.length, st.arena, v.off);
        if (st.watched.has(key)) seen.push(key, st.arena.slice(v.off, v.off + v.head + v.length));
        continue;
      }
      const n = encodeKey(st, key);
      write(st, key, n);
      if (st.watched.has(key)) seen.push(key, scratch.slice(0, n));
    }
    for (const [key, last] of st.watched) {
      if (rc !== 0) break;
      if (st.dirty.has(key) || st.data[key] === STORED) continue;
      const n = encodeKey(st, key);
      if (sameBytes(last, scratch, n)) continue;
      write(st, key, n);
      seen.push(key, scratch.slice(0, n));
    }
  } catch (err) {
    if (begun) raw.rollback(st.id);
    settleArena(st, false);
    return err;
  }
  if (!begun) return 0;
  if (rc === 0) rc = raw.commit(st.id);
  else raw.rollback(st.id);
  if (rc !== 0) {
    settleArena(st, false);
    return raw.error(rc, `persist: commit of root '${st.name}' (${raw.dir}/${st.name}.db): ${raw.errmsg(st.id)}`);
  }
  settleArena(st, true);
  st.dirty.clear();
  for (let i = 0; i < seen.length; i += 2) st.watched.set(seen[i], seen[i + 1]);
  seen.length = 0; // keeps no bytes alive
  return 0;
}

// A turn's end: each root with changes commits; one that cannot keeps its
// changes in memory and tries again (at the next turn that changes
// something, and after a second).
function commitAll(throwing) {
  for (const st of roots.values()) {
    const why = commit(st);
    if (why === 0) {
      if (st.failing) {
        st.failing = false;
        report(null, st);
      }
      continue;
    }
    if (throwing) throw why;
    if (!st.failing) report(why, st); // once, until it commits again
    st.failing = true;
    if (retryTimer === null) {
      retryTimer = setTimeout(() => {
        retryTimer = null;
        armTurn(); // this timer's turn commits what is waiting
      }, 1000);
      retryTimer.unref();
    }
  }
}

function report(err, st) {
  if (errorHandler !== null) {
    if (err !== null) errorHandler(err, st.name);
    return;
  }
  if (err !== null)
    console.error(`dv8: ${err.message}; its changes are kept in memory and committed with a later turn`);
  else
    console.error(`dv8: persist: root '${st.name}' commits again`);
}

// A turn that threw: its changes go, the keys are read from the store
// again (views taken of them before show the old data).
function rollback(st) {
  if (st.id === 0) return;
  // Watched keys too: their objects may have changed; what is read back
  // is reached through views only, so they are watched no more.
  for (const key of st.watched.keys()) st.dirty.add(key);
  st.watched.clear();
  for (const key of st.dirty) {
    const bytes = raw.get(st.id, key);
    if (bytes === undefined) delete st.data[key];
    else st.data[key] = decodeEntry(st, key, bytes);
  }
  st.dirty.clear();
  st.arenaUsed = 0;
}

function closeAll() {
  for (const st of roots.values()) {
    if (st.id !== 0) raw.close(st.id);
    st.id = 0;
  }
}

function onTurn(reason) {
  armed = false;
  if (always) {
    let watching = false;
    for (const st of roots.values()) if (st.watched.size > 0) watching = true;
    if (!watching) {
      always = false;
      raw.arm(-1);
    }
  }
  if (reason === TURN_THREW) {
    for (const st of roots.values()) rollback(st);
  } else if (reason === TURN_END) {
    commitAll(false);
  } else if (reason === TURN_RELOAD) {
    commitAll(true);
    // The new code reads the root from the store.
  } else if (reason === TURN_LEAVE) {
    commitAll(true);
    closeAll();
  }
}

// ---- the API ----

// In a thread, root is a stand-in whose every use says what to do instead.
function threadRoot() {
  const no = () => {
    throw new Error("persist: a thread's root needs a name: open(name)");
  };
  return new Proxy(Object.create(null), {
    get: no, set: no, has: no, deleteProperty: no, ownKeys: no,
    getOwnPropertyDescriptor: no, defineProperty: no,
  });
}

// The main thread's root, DIR/main.db: opened at its first use.
export const root = isMainThread ? stateOf('main').proxy : threadRoot();

// The root named name (DIR/NAME.db), opened at its first use: a thread's
// own, or more than one in a program. Open in one thread of one process at
// a time.
export function open(name) {
  if (typeof name !== 'string') throw new TypeError('persist.open: name must be a string');
  const st = stateOf(name);
  ensureOpen(st);
  return st.proxy;
}

// Commits every open root's changes now (a turn commits at its end
// anyway); throws what stops a commit.
export function flush() {
  commitAll(true);
}

// fn(err, name): a commit at a turn's end failed (the changes stay in
// memory and are committed later); fn(null...) is not called. null: the
// default, a line on stderr.
export function onError(fn) {
  if (fn !== null && typeof fn !== 'function') throw new TypeError('persist.onError: argument must be a function or null');
  errorHandler = fn;
}

// The store directory (--persist DIR), or undefined.
export const dir = raw.dir;
// Commits are synced in groups every syncMs milliseconds; 0: each one.
export const syncMs = raw.groupMs > 0 ? raw.groupMs : 0;
