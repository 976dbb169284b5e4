// net: the object layer, what `import ... from 'net'` gives. A Server per
// listening socket, a Socket per connection, over the id functions of
// 'net/raw' (modules/net/net.c), which it re-exports: code written for ids
// keeps working, and listen, connect and open take either form.
//
// Embedded in net.so (DV8_MODULE_JS) and evaluated in each context that
// imports 'net'. No allocation per event: each socket reads into its own
// buffer, handed to the C side once, and `data` gets a view of it that is
// made once per socket (and once more per distinct read length, the last
// one kept). Handlers are one object per server or socket, copied when
// bound; they are called with the socket (or server) first.
//
// Crossing: a Server or Socket is serialised (serdes) as its handle
// reference; in a reload's or an upgrade's new code the reviver registered
// below makes it a Server or Socket again, bound to nothing until
// reload(handlers). Sent to a thread (anywhere in a message's value) one
// arrives there the same way, made by the same reviver; the sender's
// object is then moved (thread.js calls its MOVED method). A thread given
// ids (send's handles list) makes them objects with adopt(id, handlers).
import * as raw from 'net/raw';
import { HANDLE_ID, addHandleReviver } from 'serdes';

export * from 'net/raw';

const { EOF, EFULL, ECLOSED, ETIMEDOUT } = raw;
const LAYER_READY = 1; // a layer's event: ready for JS (include/dv8_net.h)
const INTERNAL = Symbol('net.internal');
const MOVED = Symbol.for('dv8.moved');
// A socket's read buffer starts small (what most reads need: a request, a
// message, a TLS record) and grows once a read fills it. Zeroing and
// paging in 64 KiB per connection was a tenth of a TLS server's CPU per
// handshake beyond the C floor's, and idle connections hold a quarter.
const BUFFER_SIZE = 16384;
const BUFFER_MAX = 65536;

// Socket states.
const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
const MOVED_AWAY = 4; // sent to a thread: the stream is the other side's
const STAYED = 5; // an upgrade's: the connection stayed with the process before
const STATES = ['connecting', 'open', 'closing', 'closed', 'moved', 'stayed'];

const noop = () => {};
const HANDLER_NAMES = ['open', 'data', 'drain', 'end', 'close', 'error'];

// The handlers as bound: every one a function (missing ones do nothing;
// a missing `end` ends the socket in turn).
function handlersOf(h, what) {
  if (typeof h !== 'object' || h === null)
    throw new TypeError(`${what}: handlers must be an object ({ open, data, drain, end, close, error })`);
  const out = { open: noop, data: noop, drain: noop, end: null, close: noop, error: noop };
  for (const name of HANDLER_NAMES) {
    const fn = h[name];
    if (fn === undefined) continue;
    if (typeof fn !== 'function') throw new TypeError(`${what}: handlers.${name} must be a function`);
    out[name] = fn;
  }
  return out;
}

// A handler threw: said on stderr as an uncaught error is, with its stack;
// the socket it was called for is closed, the server and its other
// connections go on.
function report(err, where) {
  console.error(`Uncaught exception in a net ${where} handler (the socket is closed, the server goes on):`);
  console.error(err);
}

function checkOptions(options, what) {
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`${what}: options must be an object`);
}

// Set by the classes' static blocks: what listen, connect, open and a
// server's accept do with objects.
let listenObjects;
let connectObjects;
let openObjects;
let accepted;

// Live objects of this context by id: a handle met twice in a state is
// one object.
const live = new Map();

export class Socket {
  #id;
  #h;
  #state;
  #buf = null;
  #lastLength = -1;
  #lastView = null;
  #ended = false; // the peer has ended
  #ending = false; // end() called
  #shutDown = false; // ... and its queued writes are out, the side closed
  #paused = false;
  #error = undefined; // why it closed, for close()
  #counters = null; // the final counters, once closed
  #peer = null;
  #local = null;
  #writeOnly = false; // open(fd, handlers, { read: false }): stdout, say

  constructor(token, id, handlers, state) {
    if (token !== INTERNAL)
      throw new TypeError('Socket: made by net.connect, net.open, a server or net.adopt, not by new');
    this.#id = id;
    this.#h = handlers;
    this.#state = state;
    if (id > 0 && state !== STAYED) live.set(id, this);
  }

  // serdes: the id; -1 once closed, -2 once moved (refused, saying so).
  get [HANDLE_ID]() {
    if (this.#state === MOVED_AWAY) return -2;
    return this.#state >= CLOSED ? -1 : this.#id;
  }

  // Sent to a thread (thread.js): the stream is the other side's now.
  // Every method answers as a closed socket's does; state is 'moved'.
  [MOVED]() {
    this.#state = MOVED_AWAY;
    live.delete(this.#id);
  }

  get moved() { return this.#state === MOVED_AWAY; }
  // An upgrade's new code: the connection could not come (TLS) and the
  // process before serves it until it ends. Closed here.
  get stayed() { return this.#state === STAYED; }

  // The handle id, for the functions of 'net/raw'.
  get id() { return this.#id; }
  get state() { return STATES[this.#state]; }
  get closed() { return this.#state >= CLOSING; }

  #onRead = (n) => {
    if (n > 0) {
      const buf = this.#buf;
      let view;
      if (n === buf.length) view = buf;
      else if (n === this.#lastLength) view = this.#lastView;
      else {
        view = this.#lastView = buf.subarray(0, n);
        this.#lastLength = n;
      }
      try {
        this.#h.data(this, view);
      } catch (err) {
        this.#threw(err, 'data');
      }
      if (n === buf.length && n < BUFFER_MAX) this.#grow(buf);
      return;
    }
    if (n === EOF) {
      this.#ended = true;
      // After end(): closed once the shutdown is done (its queued writes
      // out), not before.
      if (this.#ending) return this.#shutDown ? this.close() : undefined;
      const end = this.#h.end;
      if (end === null) return this.end();
      try {
        end(this);
      } catch (err) {
        this.#threw(err, 'end');
      }
      return;
    }
    this.#fail(n, 'read');
  };

  #onDrain = (status) => {
    if (status < 0) return this.#fail(status, 'write');
    if (this.#state !== OPEN) return;
    try {
      this.#h.drain(this);
    } catch (err) {
      this.#threw(err, 'drain');
    }
  };

  #onConnect = (status) => {
    if (this.#state !== CONNECTING) return;
    if (status < 0) {
      // A timeout has closed the stream already.
      if (status === ETIMEDOUT) this.#state = CLOSING;
      return this.#fail(status, 'connect', status === ETIMEDOUT);
    }
    this.#opened();
  };

  #onClose = (counters) => {
    if (this.#state === MOVED_AWAY) return;
    this.#state = CLOSED;
    this.#counters = counters ?? null;
    live.delete(this.#id);
    try {
      this.#h.close(this, this.#error);
    } catch (err) {
      report(err, 'close');
    }
  };

  // Reading starts; open(socket), once a layer over the stream (TLS) is
  // ready for it (its handshake done: the layer's event 1).
  #opened() {
    this.#state = OPEN;
    this.#bind();
    if (!this.#openWhenReady()) this.#callOpen();
  }

  // A layer not ready yet (TLS mid-handshake; also one that came so in a
  // reload's state): open(socket) when it is. false if nothing waits.
  #openWhenReady() {
    if (raw.layered(this.#id) !== 1) return false;
    raw.onLayer(this.#id, (what) => {
      if (what !== LAYER_READY) return;
      raw.onLayer(this.#id, null);
      if (this.#state === OPEN) this.#callOpen();
    });
    return true;
  }

  #callOpen() {
    try {
      this.#h.open(this);
    } catch (err) {
      this.#threw(err, 'open');
    }
  }

  #bind() {
    if (!this.#writeOnly) {
      if (this.#buf === null) this.#buf = new Uint8Array(BUFFER_SIZE);
      const rc = raw.readStart(this.#id, this.#buf, this.#onRead);
      if (rc < 0) return this.#fail(rc, 'read');
    }
    raw.onDrain(this.#id, this.#onDrain);
  }

  // A read filled the buffer: the next ones get a bigger one (a paused
  // socket's on a later read: readStart would resume it).
  #grow(buf) {
    if (this.#buf !== buf || this.#paused || this.#state !== OPEN) return;
    this.#buf = new Uint8Array(BUFFER_MAX);
    this.#lastLength = -1;
    this.#lastView = null;
    raw.readStart(this.#id, this.#buf, this.#onRead);
  }

  #threw(err, where) {
    report(err, where);
    this.close();
  }

  // An unexpected failure: error(socket, err), then the socket closes and
  // close(socket, err) follows.
  #fail(code, what, gone = false) {
    if (this.#state >= CLOSED || this.#error !== undefined) return;
    let err = raw.error(code, what);
    // A layer's failure (TLS) says why: OpenSSL's reason.
    const reason = this.#id > 0 ? raw.layerReason(this.#id) : undefined;
    if (reason !== undefined) {
      const layered = new Error(reason, { cause: err });
      layered.code = err.code === 'ETIMEDOUT' ? 'ETIMEDOUT' : 'EPROTO';
      layered.errno = err.errno;
      layered.reason = reason.replace(/^[^:]*: /, '');
      err = layered;
    }
    this.#error = err;
    try {
      this.#h.error(this, err);
    } catch (e) {
      report(e, 'error');
    }
    if (gone) return this.#closedAlready();
    this.close();
  }

  // The stream left the table without a close of ours: close(socket, err)
  // comes all the same, from a microtask (never inside the caller's call).
  #closedAlready() {
    this.#state = CLOSING;
    queueMicrotask(() => this.#onClose(null));
  }

  // 'written' (the kernel took it all), 'queued' (the rest waits: wait for
  // drain before writing much more), 'full' (the queue is past its limit:
  // nothing was written) or 'closed'.
  write(data, length) {
    if (this.#state >= CLOSING) return 'closed';
    if (typeof data === 'string') data = encoder.encode(data);
    const rc = raw.write(this.#id, data, length);
    if (rc === 0) return 'written';
    if (rc === 1) return 'queued';
    if (rc === EFULL) return 'full';
    if (rc === ECLOSED) {
      this.#closedAlready();
      return 'closed';
    }
    this.#fail(rc, 'write');
    return 'closed';
  }

  // Half-close once the queued writes are out; the socket closes when the
  // peer has ended too. false if it was closed already.
  end() {
    if (this.#state >= CLOSING) return false;
    if (this.#ending) return true;
    this.#ending = true;
    // A shutdown that fails (the peer reset) closes: the read side or a
    // write says why.
    const rc = raw.shutdown(this.#id, (status) => {
      this.#shutDown = true;
      if (this.#ended || this.#writeOnly || status < 0) this.close();
    });
    if (rc < 0) this.close();
    return true;
  }

  // Closes at once (queued writes are dropped); close(socket) follows.
  // false if it was closed already.
  close() {
    if (this.#state >= CLOSING) return false;
    this.#state = CLOSING;
    if (raw.close(this.#id, this.#onClose) < 0) this.#closedAlready();
    return true;
  }

  pause() {
    if (this.#state >= CLOSING) return false;
    this.#paused = true;
    return raw.pause(this.#id) >= 0;
  }

  resume() {
    if (this.#state >= CLOSING) return false;
    this.#paused = false;
    return raw.resume(this.#id) >= 0;
  }

  get paused() { return this.#paused; }

  setNoDelay(on = true) {
    if (this.#state >= CLOSING) return false;
    return raw.setNoDelay(this.#id, Boolean(on)) === 0;
  }

  setKeepAlive(on = true, seconds = 60) {
    if (this.#state >= CLOSING) return false;
    return raw.setKeepAlive(this.#id, Boolean(on), seconds) === 0;
  }

  setQueueLimit(bytes) {
    if (this.#state >= CLOSING) return false;
    return raw.setQueueLimit(this.#id, bytes) === 0;
  }

  // Bytes waiting for the kernel.
  get queued() {
    if (this.#state >= CLOSING) return 0;
    const n = raw.queued(this.#id);
    return n < 0 ? 0 : n;
  }

  #address(peer) {
    if (this.#state >= CLOSING) return undefined;
    const a = peer ? raw.peer(this.#id) : raw.address(this.#id);
    return typeof a === 'object' ? a : undefined;
  }

  get remoteAddress() { return (this.#peer ??= this.#address(true))?.address ?? this.#peer?.path; }
  get remotePort() { return (this.#peer ??= this.#address(true))?.port; }
  get remoteFamily() { return (this.#peer ??= this.#address(true))?.family; }
  get localAddress() { return (this.#local ??= this.#address(false))?.address ?? this.#local?.path; }
  get localPort() { return (this.#local ??= this.#address(false))?.port; }

  // The stream's counters (modules/net/README.md), the final ones once
  // closed (null if it closed without them: a connect that timed out).
  counters() {
    if (this.#state >= CLOSED) return this.#counters;
    const c = raw.counters(this.#id);
    return typeof c === 'object' ? c : this.#counters;
  }

  get bytesRead() { return this.counters()?.bytes_read ?? 0; }
  get bytesWritten() { return this.counters()?.bytes_written ?? 0; }

  // Binds this socket to handlers: after a reload or an upgrade (the
  // socket came in the state), or to change them. Reading goes on where it
  // was: a socket the old code had paused stays paused until resumed.
  reload(handlers) {
    const h = handlersOf(handlers, 'Socket.reload');
    if (this.#state === MOVED_AWAY) throw new Error('Socket.reload: the socket has moved to another thread');
    if (this.#state === STAYED) {
      // Bound as any other, it closes at once: code that keeps a set of
      // its sockets forgets this one in its close handler.
      this.#h = h;
      queueMicrotask(() => {
        if (this.#h !== h) return;
        try {
          h.close(this, undefined);
        } catch (err) {
          report(err, 'close');
        }
      });
      return this;
    }
    if (this.#state >= CLOSING) throw new Error(`Socket.reload: the socket is ${STATES[this.#state]}`);
    this.#h = h;
    if (this.#state === CONNECTING) {
      raw.onConnect(this.#id, this.#onConnect);
      return this;
    }
    this.#bind();
    this.#openWhenReady();
    return this;
  }

  toString() { return `Socket(${this.#id}, ${STATES[this.#state]})`; }

  // Every connect failure (refused, unreachable, timed out, a bad address)
  // goes to error(socket, err), then close(socket, err).
  static #connect(options, handlers) {
    checkOptions(options, 'connect');
    const h = handlersOf(handlers, 'connect');
    const { host = '127.0.0.1', port, path, timeout } = options;
    const socket = new Socket(INTERNAL, 0, h, CONNECTING);
    let id;
    if (path !== undefined) {
      if (typeof path !== 'string') throw new TypeError('connect: options.path must be a string');
      id = raw.connectUnix(path, socket.#onConnect);
    } else {
      if (typeof host !== 'string') throw new TypeError('connect: options.host must be a string');
      if (typeof port !== 'number') throw new TypeError('connect: options.port must be a number');
      if (timeout !== undefined && typeof timeout !== 'number')
        throw new TypeError('connect: options.timeout must be a number (ms)');
      id = raw.connect(host, port, socket.#onConnect, timeout);
    }
    if (id < 0) {
      queueMicrotask(() => socket.#fail(id, 'connect', true));
      return socket;
    }
    socket.#id = id;
    live.set(id, socket);
    return socket;
  }

  // open(fd, handlers, { read = true }): a Socket over a descriptor
  // (stdin 0...), reading at once; with read: false it only writes (stdout
  // 1, stderr 2, a pipe's write end: reading those fails).
  static #open(fd, handlers, options = {}) {
    const h = handlersOf(handlers, 'open');
    checkOptions(options, 'open');
    const id = raw.open(fd);
    if (id < 0) throw raw.error(id, `open descriptor ${fd}`);
    const socket = new Socket(INTERNAL, id, h, CONNECTING);
    socket.#writeOnly = options.read === false;
    socket.#opened();
    return socket;
  }

  static {
    connectObjects = (options, handlers) => Socket.#connect(options, handlers);
    openObjects = (fd, handlers, options) => Socket.#open(fd, handlers, options);
    accepted = (id, handlers) => new Socket(INTERNAL, id, handlers, CONNECTING).#opened();
  }
}

const encoder = new TextEncoder();

export class Server {
  #id;
  #h;
  #closed = false;
  #moved = false;

  constructor(token, id, handlers) {
    if (token !== INTERNAL) throw new TypeError('Server: made by net.listen or net.adopt, not by new');
    this.#id = id;
    this.#h = handlers;
    if (id > 0) live.set(id, this);
  }

  // serdes: the id; -1 once closed, -2 once moved (refused, saying so).
  get [HANDLE_ID]() {
    if (this.#moved) return -2;
    return this.#closed ? -1 : this.#id;
  }

  // Sent to a thread (thread.js): it listens there now. Closed here.
  [MOVED]() {
    this.#closed = true;
    this.#moved = true;
    live.delete(this.#id);
  }

  get id() { return this.#id; }
  get closed() { return this.#closed; }
  get moved() { return this.#moved; }

  #onConnection = (id) => {
    if (id < 0) {
      // EMFILE or ENFILE: accepting waits for a free descriptor.
      try {
        this.#h.error(this, raw.error(id, 'accept'));
      } catch (err) {
        report(err, 'error');
      }
      return;
    }
    accepted(id, this.#h);
  };

  // The address it listens on: { family, address, port } or { path }.
  get address() {
    if (this.#closed) return undefined;
    const a = raw.address(this.#id);
    return typeof a === 'object' ? a : undefined;
  }

  get port() { return this.address?.port; }

  // Stops and restarts accepting (connections wait in the kernel's queue).
  pause() { return !this.#closed && raw.pause(this.#id) >= 0; }
  resume() { return !this.#closed && raw.resume(this.#id) >= 0; }

  // Stops listening; the connections it made go on. false if closed
  // already.
  close() {
    if (this.#closed) return false;
    this.#closed = true;
    live.delete(this.#id);
    raw.close(this.#id);
    return true;
  }

  // The handlers for the connections it makes from now on (after a reload
  // or an upgrade: the server came in the state).
  reload(handlers) {
    const h = handlersOf(handlers, 'Server.reload');
    if (this.#moved) throw new Error('Server.reload: the server has moved to another thread');
    if (this.#closed) throw new Error('Server.reload: the server is closed');
    if (raw.layered(this.#id) === 2)
      throw new Error("Server.reload: this server's connections had a layer (TLS) in the process before the upgrade; bind it with that module (tls.reloadServer(server, options, handlers)) so that none is served plain");
    this.#h = h;
    const rc = raw.onConnection(this.#id, this.#onConnection);
    if (rc < 0) throw raw.error(rc, 'Server.reload');
    return this;
  }

  toString() { return `Server(${this.#id}${this.#moved ? ', moved' : this.#closed ? ', closed' : ''})`; }

  static #listen(options, handlers) {
    checkOptions(options, 'listen');
    const h = handlersOf(handlers, 'listen');
    const { host = '127.0.0.1', port, path, fd, backlog = 511 } = options;
    const server = new Server(INTERNAL, 0, h);
    const onConnection = server.#onConnection;
    let id;
    let where;
    if (path !== undefined) {
      if (typeof path !== 'string') throw new TypeError('listen: options.path must be a string');
      id = raw.listenUnix(path, backlog, onConnection);
      where = path;
    } else if (fd !== undefined) {
      id = raw.listenFd(fd, backlog, onConnection);
      where = `descriptor ${fd}`;
    } else {
      if (typeof host !== 'string') throw new TypeError('listen: options.host must be a string');
      if (typeof port !== 'number') throw new TypeError('listen: options.port must be a number (0: any free port)');
      id = raw.listen(host, port, backlog, onConnection);
      where = `${host}:${port}`;
    }
    if (id < 0) throw raw.error(id, `listen on ${where}`);
    server.#id = id;
    live.set(id, server);
    return server;
  }

  static {
    listenObjects = (options, handlers) => Server.#listen(options, handlers);
  }
}

// net.listen({ host, port | path | fd, backlog }, handlers) -> Server,
// or the id form listen(host, port, backlog, onConnection) -> id.
export function listen(options, handlers, ...rest) {
  if (typeof options === 'object' && options !== null) return listenObjects(options, handlers);
  return raw.listen(options, handlers, ...rest);
}

// net.connect({ host, port | path, timeout }, handlers) -> Socket, or the
// id form connect(host, port, onConnect, timeoutMs) -> id.
export function connect(options, handlers, ...rest) {
  if (typeof options === 'object' && options !== null) return connectObjects(options, handlers);
  return raw.connect(options, handlers, ...rest);
}

// net.open(fd, handlers, { read }) -> Socket, or the id form open(fd) ->
// id.
export function open(fd, handlers, options) {
  if (handlers !== undefined) return openObjects(fd, handlers, options);
  return raw.open(fd);
}

// The object for a stream of this thread: a Server or a Socket (made if
// need be, unbound), or undefined if id is no stream. In an upgrade's
// state, a connection that stayed with the process before (stayed): a
// Socket that says so.
function revive(id, stayed) {
  if (stayed === true) return new Socket(INTERNAL, id, handlersOf({}, 'adopt'), STAYED);
  const known = live.get(id);
  if (known !== undefined) return known;
  const server = raw.isServer(id);
  if (typeof server !== 'boolean') return undefined;
  if (server) return new Server(INTERNAL, id, handlersOf({}, 'adopt'));
  return new Socket(INTERNAL, id, handlersOf({}, 'adopt'), raw.onConnect(id, noop) === 0 ? CONNECTING : OPEN);
}

// adopt(id, handlers): the Server or Socket for a stream id (one a thread
// received, one from state.handles), bound to handlers.
export function adopt(id, handlers) {
  if (!Number.isSafeInteger(id) || id <= 0) throw new TypeError('adopt: id must be a handle id');
  const object = revive(id);
  if (object === undefined) throw raw.error(ECLOSED, `adopt: handle ${id} is no open stream`);
  return object.reload(handlers);
}

addHandleReviver(revive);

const all = { ...raw, listen, connect, open, adopt, Socket, Server };
delete all.default;
export default all;
