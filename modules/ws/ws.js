// ws: WebSockets (RFC 6455), server and client: what `import ... from
// 'ws'` gives (WebSocket is also a global).
//
//   http.serve({ port: 8080 }, (req) => ws.upgrade(req, {
//     open(sock) { sock.send('welcome') },
//     message(sock, data) { sock.send(data) }, // a string, or bytes
//     close(sock, code, reason) {},
//   }));
//   const c = new WebSocket('ws://127.0.0.1:8080/'); // as in browsers
//
// The framing is C's (modules/ws/ws.c, on wslay): a layer over the stream
// reads frames, joins fragments, answers pings, checks UTF-8 and limits,
// and puts whole messages (in parts, for big ones) as records into the
// socket's read buffer; the reads of one poll reach JS in one call. A
// connection's state is C's, so a WebSocket crosses a reload as it is
// (half-read frames too): the new code gets it back from its state and
// binds it with reload(handlers).
//
// Embedded in ws.so, over 'ws/raw', 'net/raw', 'http' and 'tls'.
import * as netRaw from 'net/raw';
import * as raw from 'ws/raw';
import * as http from 'http';
import * as tls from 'tls';
import { HANDLE_ID, addHandleReviver } from 'serdes';

export { raw };

const HANDLE_DATA = Symbol.for('dv8.handleData');
const INTERNAL = Symbol('ws.internal');
const REC_TEXT = 1;
const REC_BINARY = 2;
const REC_CLOSE = 3;
const REC_FAIL = 4;
const REC_PING = 5;
const REC_PONG = 6;
const OP_CONTINUATION = 0;
const OP_TEXT = 1;
const OP_BINARY = 2;
const OP_PING = 9;
const OP_PONG = 10;
const { EOF } = netRaw;

// Defaults: the largest message taken (1009 past it), how long a
// connection may be silent before a ping asks whether the peer is there
// (and as long again for any answer), how long our close waits for the
// peer's, and how long a client's handshake may take.
const DEFAULTS = {
  maxPayload: 16 * 1024 * 1024,
  idleTimeout: 120000,
  closeTimeout: 5000,
  handshakeTimeout: 30000,
};
const MAX_HANDSHAKE = 16384;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

// A socket's read buffer: small at first (what chat-sized messages need:
// 10,000 idle sockets hold 40 MiB), bigger once a message came in parts
// (a big message then takes fewer calls). C fills it with records and
// posts it, as net posts plain reads: the reads of one poll reach JS in
// one call, which made echo 1.4x faster than one shared buffer read at
// once.
const BUFFER_START = 4096;
const BUFFER_BIG = 65536;

function limitsOf(options, what) {
  const o = {};
  for (const [name, def] of Object.entries(DEFAULTS)) {
    const v = options[name] ?? def;
    if (!Number.isSafeInteger(v) || v < 0) throw new TypeError(`${what}: options.${name} must be a non-negative integer`);
    o[name] = v;
  }
  if (o.maxPayload < 1) throw new RangeError(`${what}: options.maxPayload must be at least 1 byte`);
  return o;
}

// An error for a code (net's), with the layer's reason when it gave one
// (TLS: OpenSSL's; ws: a ping not answered...).
function failure(code, what, reason) {
  const err = netRaw.error(code, what);
  if (reason === undefined || reason === null || reason === '') return err;
  const e = new Error(`${what}: ${reason}`, { cause: err });
  e.code = err.code;
  e.errno = err.errno;
  return e;
}

function report(err, where) {
  console.error(`Uncaught exception in a WebSocket ${where} handler (the connection closes with 1011, the others go on):`);
  console.error(err);
}

// The bytes of a message or a control frame's payload.
function bytesOf(data, what) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (typeof data === 'string') return encoder.encode(data);
  throw new TypeError(`${what}: data must be a string, an ArrayBuffer or a typed array`);
}

const HANDLERS = ['open', 'message', 'close', 'drain', 'ping', 'pong', 'error'];

function handlersOf(h, what) {
  if (typeof h !== 'object' || h === null) throw new TypeError(`${what}: handlers must be an object`);
  const out = {};
  for (const name of HANDLERS) {
    const f = h[name];
    if (f !== undefined && typeof f !== 'function') throw new TypeError(`${what}: handlers.${name} must be a function`);
    out[name] = f;
  }
  for (const name of Object.keys(h))
    if (!HANDLERS.includes(name)) throw new TypeError(`${what}: unknown handler '${name}' (${HANDLERS.join(', ')})`);
  return out;
}

export class MessageEvent extends Event {
  #data;
  constructor(type, init = {}) {
    super(type);
    this.#data = init.data;
  }
  get data() { return this.#data; }
}

export class CloseEvent extends Event {
  #code;
  #reason;
  #wasClean;
  constructor(type, init = {}) {
    super(type);
    this.#code = init.code ?? 0;
    this.#reason = init.reason ?? '';
    this.#wasClean = init.wasClean ?? false;
  }
  get code() { return this.#code; }
  get reason() { return this.#reason; }
  get wasClean() { return this.#wasClean; }
}

const live = new Map(); // this context's WebSockets by id

// A broadcast sends one string to many sockets: the second time in a row
// a string is sent, it is encoded here once and its bytes go (no UTF-8
// conversion per socket). A short one is cheaper to convert again.
let lastText = '';
let lastBytes = null;

export class WebSocket extends EventTarget {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  CONNECTING = 0;
  OPEN = 1;
  CLOSING = 2;
  CLOSED = 3;

  #id = 0;
  #client = false;
  #state = 0;
  #handlers = null; // the server's (or reload's) handlers; null: events
  #limits;
  #protocol = '';
  #url = '';
  #binaryType = 'arraybuffer';
  #parts = null; // a big message's parts so far
  #partsBinary = false;
  #fragmenting = 0; // the opcode of a message sent in fragments, under way
  #code = 1005; // the close's code and reason, for the close event
  #reason = '';
  #clean = false; // both closes went
  #closeSent = false;
  #error = null;
  #timer = null;
  #drainWaiting = false;
  #stayed = false;
  #buf = null;
  #view = null;
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;

  // new WebSocket(url, protocols, { tls, maxPayload, idleTimeout,
  // closeTimeout, handshakeTimeout }): a client, as browsers make it (the
  // third argument is dv8's: a private CA for wss:, limits).
  constructor(url, protocols = [], options = {}) {
    super();
    if (url === INTERNAL) {
      const { id, client, protocol, href, limits, state, stayed = false } = protocols;
      this.#stayed = stayed;
      this.#id = id;
      this.#client = client;
      this.#protocol = protocol;
      this.#url = href;
      this.#limits = limits;
      this.#state = state;
      if (!stayed) live.set(id, this);
      return;
    }
    let u;
    try {
      u = new URL(String(url));
    } catch {
      throw new DOMException(`WebSocket: '${url}' is not a URL`, 'SyntaxError');
    }
    if (u.protocol === 'http:') u.protocol = 'ws:';
    else if (u.protocol === 'https:') u.protocol = 'wss:';
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new DOMException(`WebSocket: the URL's scheme must be ws: or wss: (was ${u.protocol})`, 'SyntaxError');
    if (u.hash !== '') throw new DOMException('WebSocket: the URL has a fragment', 'SyntaxError');
    const list = typeof protocols === 'string' ? [protocols] : Array.from(protocols ?? [], String);
    for (const p of list)
      if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(p)) throw new DOMException(`WebSocket: '${p}' is not a protocol name`, 'SyntaxError');
    if (new Set(list).size !== list.length) throw new DOMException('WebSocket: a protocol is named twice', 'SyntaxError');
    if (typeof options !== 'object' || options === null) throw new TypeError('WebSocket: options must be an object');
    this.#client = true;
    this.#url = u.href;
    this.#limits = limitsOf(options, 'WebSocket');
    this.#connect(u, list, options.tls);
  }

  get url() { return this.#url; }
  get readyState() { return this.#state; }
  get protocol() { return this.#protocol; }
  get extensions() { return ''; }
  get id() { return this.#id; }
  // In an upgrade's new process: the connection stayed with the process
  // before (a frame was half read, a close under way, or TLS), whose code
  // finishes it. Such a WebSocket is closed here: reload binds nothing.
  get stayed() { return this.#stayed; }
  // Bytes sent but not yet taken by the kernel.
  get bufferedAmount() {
    if (this.#id === 0 || this.#state === 3) return 0;
    const q = netRaw.queued(this.#id);
    return typeof q === 'number' && q > 0 ? q : 0;
  }
  get binaryType() { return this.#binaryType; }
  set binaryType(t) {
    if (t !== 'arraybuffer' && t !== 'uint8array')
      throw new DOMException(`WebSocket: binaryType '${t}' is not supported ('arraybuffer' or 'uint8array')`, 'SyntaxError');
    this.#binaryType = t;
  }

  // ---- crossing a reload or an upgrade ----

  get [HANDLE_ID]() { return this.#state === 3 || this.#id === 0 ? -1 : this.#id; }
  get [HANDLE_DATA]() {
    return {
      kind: 'ws.socket',
      data: { client: this.#client, protocol: this.#protocol, url: this.#url, limits: this.#limits, state: this.#state },
    };
  }

  // Binds the socket to handlers (after a reload or an upgrade, the new
  // code's; or a client's, instead of events). After an upgrade the
  // stream came plain: WebSocket goes on it again.
  reload(handlers) {
    this.#handlers = handlersOf(handlers, 'WebSocket.reload');
    if (this.#stayed) { // closed here: code that keeps a set forgets it
      try {
        this.#handlers.close?.(this, 1006, 'the connection stayed with the process before the upgrade');
      } catch (err) {
        report(err, 'close');
      }
      return this;
    }
    if (this.#state === 3) return this;
    if (this.#state === 0) return this; // a client's handshake binds itself
    const rc = raw.accept(this.#id, EMPTY, this.#client ? 1 : 0, this.#limits.maxPayload,
      this.#limits.idleTimeout, this.#limits.closeTimeout, 0);
    if (rc < 0 && rc !== -17 /* EEXIST: the layer is there (a reload) */) {
      this.#finish(1006, `the connection could not be taken over: ${netRaw.errname(rc)}`);
      return this;
    }
    this.#bind();
    return this;
  }

  // ---- sending ----

  // send(data, { binary, fin }): a string goes as text, bytes as binary
  // (options.binary overrides). fin false sends a fragment: the message
  // goes on with the next send, and ends with the one whose fin is not
  // false. Returns 'written', 'queued' (wait for drain) or 'closed'.
  send(data, options = undefined) {
    if (this.#state === 0) throw new DOMException('WebSocket: send before the connection is open', 'InvalidStateError');
    if (this.#state !== 1) return 'closed';
    let payload = data;
    let binary = typeof data !== 'string';
    if (binary) payload = bytesOf(data, 'WebSocket.send');
    else if (data === lastText && data.length > 64) payload = lastBytes ??= encoder.encode(data);
    else if (lastText !== data) {
      lastText = data;
      lastBytes = null;
    }
    if (options !== undefined) {
      if (options.binary !== undefined) binary = Boolean(options.binary);
      if (binary && typeof payload === 'string') payload = encoder.encode(payload);
    }
    const fin = options?.fin !== false;
    let opcode = binary ? OP_BINARY : OP_TEXT;
    if (this.#fragmenting !== 0) opcode = OP_CONTINUATION;
    const rc = raw.send(this.#id, payload, opcode, fin ? 1 : 0);
    if (rc < 0) return this.#sendFailed(rc);
    this.#fragmenting = fin ? 0 : this.#fragmenting || opcode;
    if (rc === 1) {
      this.#drainWaiting = true;
      return 'queued';
    }
    return 'written';
  }

  ping(data = EMPTY) { return this.#control(OP_PING, data, 'WebSocket.ping'); }
  pong(data = EMPTY) { return this.#control(OP_PONG, data, 'WebSocket.pong'); }

  #control(op, data, what) {
    const b = bytesOf(data, what);
    if (b.length > 125) throw new RangeError(`${what}: a control frame holds at most 125 bytes`);
    if (this.#state !== 1) return 'closed';
    const rc = raw.control(this.#id, op, b);
    return rc < 0 ? this.#sendFailed(rc) : 'written';
  }

  #sendFailed(rc) {
    if (rc === netRaw.EPIPE || rc === -32) return 'closed';
    this.#error = netRaw.error(rc, 'WebSocket.send');
    this.#terminate(1006, this.#error.message);
    return 'closed';
  }

  // close(code, reason): the close handshake (code 1000 or 3000-4999, a
  // reason of at most 123 bytes); the close event comes once the peer
  // answered and the connection is closed (or closeTimeout passed).
  close(code = undefined, reason = '') {
    if (code !== undefined && (!Number.isInteger(code) || (code !== 1000 && (code < 3000 || code > 4999))))
      throw new DOMException(`WebSocket.close: the code must be 1000 or 3000 to 4999 (was ${code})`, 'InvalidAccessError');
    const r = encoder.encode(String(reason));
    if (r.length > 123) throw new DOMException('WebSocket.close: the reason is over 123 bytes', 'SyntaxError');
    if (this.#state === 2 || this.#state === 3) return;
    if (this.#state === 0) {
      this.#terminate(1006, 'closed before the connection was open');
      return;
    }
    this.#closeWith(code ?? 0, r);
  }

  // Sends a close with any code a server may send (1001 going away, 1008
  // policy, 1011 an error of ours...).
  #closeWith(code, reasonBytes) {
    this.#state = 2;
    this.#closeSent = true;
    const rc = raw.close(this.#id, code, reasonBytes);
    if (rc < 0) this.#terminate(1006, 'the connection failed');
  }

  // Ends the connection now, without a close handshake.
  terminate() {
    if (this.#state === 3) return;
    this.#terminate(1006, '');
  }

  #terminate(code, reason) {
    if (this.#id !== 0) netRaw.close(this.#id);
    this.#finish(code, reason);
  }

  // ---- reading ----

  #bind(size = BUFFER_START) {
    this.#buf = new Uint8Array(size);
    this.#view = new DataView(this.#buf.buffer);
    netRaw.readStart(this.#id, this.#buf, this.#onRead);
    netRaw.onDrain(this.#id, this.#onDrain);
  }

  #onRead = (n) => {
    if (n < 0) return this.#ended(n);
    const shared = this.#buf;
    const view = this.#view;
    let at = 0;
    while (at < n && this.#state !== 3) {
      const type = shared[at];
      if (type === 0) break; // the rest is padding
      const arg = view.getUint16(at + 2, true);
      const size = view.getUint32(at + 4, true);
      const from = at + 8;
      const to = at + size - shared[at + 1];
      at += size;
      if (type === REC_TEXT || type === REC_BINARY) {
        const last = arg === 1;
        if (this.#parts === null && last) {
          this.#message(type === REC_TEXT ? decoder.decode(shared.subarray(from, to)) : shared.slice(from, to), type === REC_BINARY);
          continue;
        }
        (this.#parts ??= []).push(shared.slice(from, to));
        this.#partsBinary = type === REC_BINARY;
        // Big messages come: a bigger buffer, from the next read on.
        if (shared.length < BUFFER_BIG && this.#state === 1) this.#bind(BUFFER_BIG);
        if (last) {
          const parts = this.#parts;
          this.#parts = null;
          const all = new Uint8Array(parts.reduce((t, p) => t + p.length, 0));
          let o = 0;
          for (const p of parts) {
            all.set(p, o);
            o += p.length;
          }
          this.#message(this.#partsBinary ? all : decoder.decode(all), this.#partsBinary);
        }
      } else if (type === REC_CLOSE) {
        this.#peerClosed(arg, decoder.decode(shared.subarray(from, to)));
      } else if (type === REC_FAIL) {
        this.#failed(arg, decoder.decode(shared.subarray(from, to)));
      } else if (type === REC_PING) {
        this.#emit('ping', shared.slice(from, to));
      } else if (type === REC_PONG) {
        this.#emit('pong', shared.slice(from, to));
      }
    }
  };

  #message(data, binary) {
    if (this.#handlers !== null) {
      const f = this.#handlers.message;
      if (f === undefined) return;
      try {
        f(this, data, binary);
      } catch (err) {
        report(err, 'message');
        if (this.#state === 1) this.#closeWith(1011, EMPTY);
      }
      return;
    }
    const value = binary && this.#binaryType === 'arraybuffer' ? data.buffer : data;
    this.#dispatch('message', new MessageEvent('message', { data: value }));
  }

  #emit(name, arg) {
    if (this.#handlers !== null) {
      const f = this.#handlers[name];
      if (f === undefined) return;
      try {
        f(this, arg);
      } catch (err) {
        report(err, name);
        if (this.#state === 1) this.#closeWith(1011, EMPTY);
      }
    }
  }

  #dispatch(type, event) {
    const f = this[`on${type}`];
    try {
      if (typeof f === 'function') f.call(this, event);
    } catch (err) {
      report(err, type);
    }
    this.dispatchEvent(event);
  }

  // The peer's close: ours answered it (C did, unless ours went first).
  // A server then ends the connection; a client waits for the server to
  // (closeTimeout at most).
  #peerClosed(code, reason) {
    this.#code = code;
    this.#reason = reason;
    this.#clean = true;
    this.#state = 2;
    if (this.#client) {
      this.#timer = setTimeout(() => this.#terminate(this.#code, this.#reason), this.#limits.closeTimeout);
      this.#timer.unref?.();
    } else {
      this.#shutdown();
    }
  }

  // C failed the connection (a protocol error, invalid UTF-8, a message
  // over the limit: its close with that code went).
  #failed(code, reason) {
    this.#code = code;
    this.#reason = reason;
    this.#error = new Error(`WebSocket: ${reason} (closed with ${code})`);
    this.#error.code = code;
    this.#state = 2;
    this.#shutdown();
  }

  // Our side ends once what is queued went; then the connection closes.
  #shutdown() {
    const rc = netRaw.shutdown(this.#id, () => this.#terminate(this.#code, this.#reason));
    if (rc < 0) this.#terminate(this.#code, this.#reason);
  }

  #ended(n) {
    if (this.#state === 3) return;
    if (n !== EOF && this.#error === null) this.#error = failure(n, 'WebSocket', raw.reason(this.#id));
    // The peer ended: after both closes it is the clean end; before, the
    // connection was cut (1006).
    if (this.#clean) return this.#terminate(this.#code, this.#reason);
    this.#terminate(1006, this.#error?.message ?? 'the connection was cut before the close handshake');
  }

  #onDrain = (status) => {
    if (status < 0) return this.#terminate(1006, 'a write failed');
    if (!this.#drainWaiting) return;
    this.#drainWaiting = false;
    this.#emit('drain');
  };

  #finish(code, reason) {
    if (this.#state === 3) return;
    const wasOpen = this.#state !== 0 || this.#client;
    this.#state = 3;
    if (this.#timer !== null) clearTimeout(this.#timer);
    live.delete(this.#id);
    if (this.#error !== null) {
      if (this.#handlers !== null) this.#emit('error', this.#error);
      else {
        // As a browser's ErrorEvent: what failed, in words.
        const event = new Event('error');
        Object.defineProperties(event, { error: { value: this.#error }, message: { value: this.#error.message } });
        this.#dispatch('error', event);
      }
    }
    if (!wasOpen) return;
    if (this.#handlers !== null) {
      const f = this.#handlers.close;
      if (f !== undefined) {
        try {
          f(this, code, reason);
        } catch (err) {
          report(err, 'close');
        }
      }
      return;
    }
    this.#dispatch('close', new CloseEvent('close', { code, reason, wasClean: this.#clean }));
  }

  // ---- the server's side: after ws.upgrade's 101 ----

  static _accepted(id, rest, protocol, url, limits, handlers) {
    const sock = new WebSocket(INTERNAL, { id, client: false, protocol, href: url, limits, state: 1 });
    sock.#handlers = handlers;
    const rc = raw.accept(id, rest, 0, limits.maxPayload, limits.idleTimeout, limits.closeTimeout, 1);
    if (rc < 0) {
      netRaw.close(id);
      sock.#state = 3;
      live.delete(id);
      return;
    }
    sock.#emit('open');
    if (sock.#state === 1) sock.#bind();
  }

  // ---- the client's side: the handshake ----

  #connect(u, protocols, tlsOptions) {
    const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    const port = Number(u.port || (u.protocol === 'wss:' ? 443 : 80));
    const key = raw.newKey();
    const lines = [
      `GET ${u.pathname}${u.search} HTTP/1.1`,
      `host: ${u.host}`,
      'upgrade: websocket',
      'connection: Upgrade',
      `sec-websocket-key: ${key}`,
      'sec-websocket-version: 13',
    ];
    if (protocols.length > 0) lines.push(`sec-websocket-protocol: ${protocols.join(', ')}`);
    const request = encoder.encode(`${lines.join('\r\n')}\r\n\r\n`);
    const fail = (why) => {
      this.#error = why instanceof Error ? why : new Error(`WebSocket: ${why}`);
      this.#terminate(1006, this.#error.message);
    };
    const buf = new Uint8Array(MAX_HANDSHAKE);
    let got = 0;
    const onHead = (n) => {
      if (n < 0) return fail(failure(n, `WebSocket: the handshake with ${u.host}`, netRaw.layerReason(this.#id)));
      got += n;
      const end = findHeadEnd(buf, got);
      if (end < 0) {
        if (got === MAX_HANDSHAKE) return fail(`the server's answer to the handshake is over ${MAX_HANDSHAKE} bytes`);
        return netRaw.readStart(this.#id, buf.subarray(got), onHead);
      }
      netRaw.pause(this.#id);
      clearTimeout(this.#timer);
      this.#timer = null;
      const why = checkAnswer(buf.subarray(0, end), key, protocols);
      if (typeof why === 'string') return fail(why);
      this.#protocol = why.protocol;
      const rc = raw.accept(this.#id, buf.slice(end, got), 1, this.#limits.maxPayload, this.#limits.idleTimeout, this.#limits.closeTimeout, 0);
      if (rc < 0) return fail(netRaw.error(rc, 'WebSocket'));
      this.#state = 1;
      if (this.#handlers !== null) this.#emit('open');
      else this.#dispatch('open', new Event('open'));
      if (this.#state === 1) this.#bind();
    };
    const onConnect = (status) => {
      if (status < 0) return fail(failure(status, `WebSocket: connect to ${u.host}`, netRaw.layerReason(this.#id)));
      const rc = netRaw.write(this.#id, request, request.length);
      if (rc < 0) return fail(netRaw.error(rc, 'WebSocket: the handshake'));
      netRaw.readStart(this.#id, buf, onHead);
    };
    const id = netRaw.connect(host, port, onConnect, this.#limits.handshakeTimeout);
    if (id < 0) {
      queueMicrotask(() => fail(netRaw.error(id, `WebSocket: connect to ${u.host}`)));
      return;
    }
    this.#id = id;
    live.set(id, this);
    if (u.protocol === 'wss:') {
      try {
        const context = tls.createContext({ ...(tlsOptions ?? {}), alpn: ['http/1.1'] });
        tls.attachClient(id, { context, servername: host }, 'WebSocket');
      } catch (err) {
        queueMicrotask(() => fail(err));
        return;
      }
    }
    this.#timer = setTimeout(() => fail(`no answer to the handshake within ${this.#limits.handshakeTimeout} ms`), this.#limits.handshakeTimeout);
  }

  toString() { return `WebSocket(${this.#id}, ${['connecting', 'open', 'closing', 'closed'][this.#state]})`; }
}

// Where the head ends in buf[0..n) (after its empty line), or -1.
function findHeadEnd(buf, n) {
  for (let i = 3; i < n; i++)
    if (buf[i] === 10 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) return i + 1;
  return -1;
}

// The server's answer to a client's handshake: { protocol } or why not.
function checkAnswer(head, key, offered) {
  const text = decoder.decode(head);
  const lines = text.split('\r\n');
  const status = /^HTTP\/1\.1 (\d{3})/.exec(lines[0]);
  if (status === null) return `the server's answer is not HTTP/1.1: '${lines[0].slice(0, 80)}'`;
  if (status[1] !== '101') return `the server answered ${lines[0].slice(9, 80)}, not 101 Switching Protocols`;
  const fields = new Map();
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const c = line.indexOf(':');
    if (c <= 0) return `a malformed header line in the server's answer: '${line.slice(0, 80)}'`;
    const name = line.slice(0, c).trim().toLowerCase();
    const value = line.slice(c + 1).trim();
    fields.set(name, fields.has(name) ? `${fields.get(name)}, ${value}` : value);
  }
  if ((fields.get('upgrade') ?? '').toLowerCase() !== 'websocket') return "the server's answer does not upgrade to websocket";
  if (!tokens(fields.get('connection')).includes('upgrade')) return "the server's answer lacks connection: upgrade";
  if (fields.get('sec-websocket-accept') !== raw.acceptKey(key)) return "the server's sec-websocket-accept does not match the key";
  if (fields.has('sec-websocket-extensions')) return `the server chose extensions that were not offered: ${fields.get('sec-websocket-extensions')}`;
  const protocol = fields.get('sec-websocket-protocol') ?? '';
  if (protocol !== '' && !offered.includes(protocol)) return `the server chose protocol '${protocol}', which was not offered`;
  if (protocol === '' && offered.length > 0) return `the server chose none of the protocols offered (${offered.join(', ')})`;
  return { protocol };
}

function tokens(value) {
  return (value ?? '').split(',').map((t) => t.trim().toLowerCase()).filter((t) => t !== '');
}

// upgrade(request, handlers, options) -> Response: the answer to a
// WebSocket handshake, from an http.serve handler. A valid handshake is
// answered 101 and the connection becomes a WebSocket bound to handlers:
// open(ws), message(ws, data, isBinary) (data: a string for text, a
// Uint8Array for binary), close(ws, code, reason), drain(ws), ping(ws,
// data), pong(ws, data), error(ws, err). Anything else is answered 400
// (426 for another version, 403 when options.origin refuses).
// options: protocols (the subprotocols this server speaks: the first the
// client offers of them is chosen; or a function (offered, request) -> the
// chosen one or undefined), origin (a function (origin, request) -> boolean), and the
// limits maxPayload, idleTimeout, closeTimeout.
export function upgrade(req, handlers, options = {}) {
  if (!(req instanceof http.Request)) throw new TypeError('ws.upgrade: request must be the http.Request a handler got');
  const h = handlersOf(handlers, 'ws.upgrade');
  if (typeof options !== 'object' || options === null) throw new TypeError('ws.upgrade: options must be an object');
  const limits = limitsOf(options, 'ws.upgrade');
  const refuse = (status, why, headers = {}) =>
    new http.Response(`${why}\n`, { status, headers: { connection: 'close', ...headers } });
  const fields = req.headers;
  if (req.method !== 'GET') return refuse(400, 'a WebSocket handshake is a GET request');
  if (req.httpVersion !== '1.1') return refuse(400, 'a WebSocket handshake needs HTTP/1.1');
  if (!tokens(fields.get('upgrade')).includes('websocket')) return refuse(400, 'the request does not ask to upgrade to websocket');
  if (!tokens(fields.get('connection')).includes('upgrade')) return refuse(400, 'the request lacks connection: upgrade');
  if (fields.get('sec-websocket-version') !== '13')
    return refuse(426, 'this server speaks WebSocket version 13', { 'sec-websocket-version': '13' });
  const key = fields.get('sec-websocket-key') ?? '';
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) return refuse(400, 'sec-websocket-key is not 16 bytes in base64');
  if (options.origin !== undefined) {
    if (typeof options.origin !== 'function') throw new TypeError('ws.upgrade: options.origin must be a function (origin, request) -> boolean');
    if (options.origin(fields.get('origin') ?? '', req) !== true) return refuse(403, 'this origin may not open a WebSocket here');
  }
  const offered = tokens(fields.get('sec-websocket-protocol')).map((t) => t);
  let protocol = '';
  if (offered.length > 0 && options.protocols !== undefined) {
    if (typeof options.protocols === 'function') protocol = options.protocols(offered, req) ?? '';
    else if (Array.isArray(options.protocols)) protocol = offered.find((p) => options.protocols.includes(p)) ?? '';
    else throw new TypeError('ws.upgrade: options.protocols must be an array of names or a function');
    if (protocol !== '' && !offered.includes(protocol)) throw new TypeError(`ws.upgrade: the protocol chosen ('${protocol}') was not offered`);
  }
  const headers = { upgrade: 'websocket', 'sec-websocket-accept': raw.acceptKey(key) };
  if (protocol !== '') headers['sec-websocket-protocol'] = protocol;
  const url = req.url.replace(/^http/, 'ws');
  return http.switchProtocols(headers, (id, rest) => WebSocket._accepted(id, rest, protocol, url, limits, h));
}

// The object for a WebSocket id in a reload's or an upgrade's new code:
// unbound until reload(handlers). One that stayed with the process before
// an upgrade is closed here, and says so (stayed).
addHandleReviver((id, data, stayed = false) => {
  if (typeof data !== 'object' || data === null) return undefined;
  const known = stayed ? undefined : live.get(id);
  if (known !== undefined) return known;
  const limits = limitsOf(data.limits ?? {}, 'ws');
  const state = stayed ? 3 : data.state === 2 ? 2 : 1;
  return new WebSocket(INTERNAL, { id, client: data.client === true, protocol: String(data.protocol ?? ''), href: String(data.url ?? ''), limits, state, stayed });
}, 'ws.socket');

const all = { upgrade, WebSocket, MessageEvent, CloseEvent, raw };
export default all;
