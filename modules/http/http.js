// http: HTTP/1.1 servers, what `import ... from 'http'` gives.
//
//   http.serve({ port: 8080 }, (req) => new http.Response('hello'))
//
// A handler gets a Request (method, url, headers, the body as bytes, text,
// JSON or chunks) and returns a Response, or a promise of one. Answers go
// in the order the requests came, whatever order the handlers finish in.
//
// The reading is C's (modules/http/http.c): a layer over each connection
// the server accepts reads requests, checks them (limits, malformed and
// smuggling shapes: 400, 413, 431, 505; timeouts: 408) and puts them, as
// records, in one read buffer shared by all of this context's connections,
// read here as soon as they land. C keeps every request until its answer
// is complete, so that a reload's new code is given the ones the old code
// had not answered: a request is answered entirely by the old code or
// entirely by the new.
//
// Embedded in http.so (with client.js after it: fetch), over 'http/raw',
// 'net/raw' and 'tls'.
import * as netRaw from 'net/raw';
import * as raw from 'http/raw';
import * as tls from 'tls';
import { HANDLE_ID, addHandleReviver } from 'serdes';

export { raw };

const HANDLE_DATA = Symbol.for('dv8.handleData');
const METHODS = raw.methods();
const REC_HEAD = 1;
const REC_BODY = 2;
const REC_END = 3;
const REC_ERROR = 4;
const HF_KEEP_ALIVE = 1;
const HF_BODY = 4;
const HF_UPGRADE = 8;
const SEND_END = 1;
const SEND_CLOSE = 2;
const { EOF, ECLOSED } = netRaw;

// Defaults: a head's limit (431 past it), a body's (413), how long a head
// may take from its first byte and a body between its bytes (408), how
// long an idle keep-alive connection stays, and how many answers a
// connection may owe before it is read no more.
const DEFAULTS = {
  maxHeadSize: 16384,
  maxBodySize: 16 * 1024 * 1024,
  headersTimeout: 10000,
  bodyTimeout: 30000,
  idleTimeout: 5000,
  maxPipeline: 64,
};

const STATUS_TEXT = {
  100: 'Continue', 101: 'Switching Protocols', 200: 'OK', 201: 'Created', 202: 'Accepted',
  203: 'Non-Authoritative Information', 204: 'No Content', 205: 'Reset Content', 206: 'Partial Content',
  300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 304: 'Not Modified',
  307: 'Temporary Redirect', 308: 'Permanent Redirect', 400: 'Bad Request', 401: 'Unauthorized',
  402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  406: 'Not Acceptable', 407: 'Proxy Authentication Required', 408: 'Request Timeout', 409: 'Conflict',
  410: 'Gone', 411: 'Length Required', 412: 'Precondition Failed', 413: 'Content Too Large',
  414: 'URI Too Long', 415: 'Unsupported Media Type', 416: 'Range Not Satisfiable', 417: 'Expectation Failed',
  418: "I'm a teapot", 421: 'Misdirected Request', 422: 'Unprocessable Content', 425: 'Too Early',
  426: 'Upgrade Required', 428: 'Precondition Required', 429: 'Too Many Requests',
  431: 'Request Header Fields Too Large', 451: 'Unavailable For Legal Reasons',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Gateway Timeout', 505: 'HTTP Version Not Supported',
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ---- bytes and strings ----

// Header bytes as a string, one char per byte (RFC 9110: field values are
// octets; non-ASCII ones are obs-text, kept as they came).
function latin1(buf, from, to) {
  if (to - from <= 4096) return String.fromCharCode.apply(null, buf.subarray(from, to));
  let s = '';
  for (let i = from; i < to; i += 4096) s += String.fromCharCode.apply(null, buf.subarray(i, Math.min(to, i + 4096)));
  return s;
}

function concat(chunks, total) {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

// A body given to a Response (or fetch) as bytes, or null for a stream.
function bytesOf(body, what) {
  if (typeof body === 'string') return encoder.encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof URLSearchParams) return encoder.encode(body.toString());
  if (body !== null && typeof body === 'object' && (Symbol.asyncIterator in body || Symbol.iterator in body)) return null;
  throw new TypeError(`${what}: a body is a string, bytes (Uint8Array, ArrayBuffer, a view), URLSearchParams or an (async) iterable of those`);
}

// ---- Headers ----

// A head record's fields (u16 name length, u16 value length, name, value,
// each) as Headers, names in lower case.
function fieldsOf(bytes, count) {
  const names = new Array(count);
  const values = new Array(count);
  const dv = count > 0 ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) : null;
  let p = 0;
  for (let i = 0; i < count; i++) {
    const nl = dv.getUint16(p, true);
    const vl = dv.getUint16(p + 2, true);
    p += 4;
    names[i] = latin1(bytes, p, p + nl).toLowerCase();
    p += nl;
    values[i] = latin1(bytes, p, p + vl);
    p += vl;
  }
  return Headers.fromRaw(names, values);
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\0\r\n]/;

function checkName(name) {
  name = String(name);
  if (!TOKEN.test(name)) throw new TypeError(`Headers: '${name}' is not a valid header name`);
  return name.toLowerCase();
}

function checkValue(value, name) {
  value = String(value).trim();
  if (BAD_VALUE.test(value)) throw new TypeError(`Headers: the value of '${name}' holds CR, LF or NUL`);
  return value;
}

// Fields by lower-case name, in the order they were added; a name may
// come more than once (get() joins them with ', ', set-cookie apart).
export class Headers {
  #names = [];
  #values = [];

  constructor(init) {
    if (init === undefined || init === null) return;
    if (init instanceof Headers) {
      this.#names = init.#names.slice();
      this.#values = init.#values.slice();
    } else if (typeof init === 'object' && Symbol.iterator in init) {
      for (const pair of init) {
        if (pair === null || typeof pair !== 'object' || pair.length !== 2)
          throw new TypeError('Headers: each entry of an iterable is a [name, value] pair');
        this.append(pair[0], pair[1]);
      }
    } else if (typeof init === 'object') {
      for (const name of Object.keys(init)) this.append(name, init[name]);
    } else {
      throw new TypeError('Headers: init is a Headers, an iterable of [name, value] or an object');
    }
  }

  // Made from a request's raw fields (names already checked by C).
  static fromRaw(names, values) {
    const h = new Headers();
    h.#names = names;
    h.#values = values;
    return h;
  }

  append(name, value) {
    const n = checkName(name);
    this.#names.push(n);
    this.#values.push(checkValue(value, n));
  }

  set(name, value) {
    const n = checkName(name);
    const v = checkValue(value, n);
    this.#remove(n);
    this.#names.push(n);
    this.#values.push(v);
  }

  delete(name) { this.#remove(String(name).toLowerCase()); }

  #remove(n) {
    for (let i = this.#names.length - 1; i >= 0; i--)
      if (this.#names[i] === n) {
        this.#names.splice(i, 1);
        this.#values.splice(i, 1);
      }
  }

  get(name) {
    const n = String(name).toLowerCase();
    let out = null;
    for (let i = 0; i < this.#names.length; i++)
      if (this.#names[i] === n) out = out === null ? this.#values[i] : `${out}, ${this.#values[i]}`;
    return out;
  }

  getSetCookie() {
    const out = [];
    for (let i = 0; i < this.#names.length; i++) if (this.#names[i] === 'set-cookie') out.push(this.#values[i]);
    return out;
  }

  has(name) { return this.#names.includes(String(name).toLowerCase()); }

  // [name, value] sorted by name, values of one name joined (set-cookie
  // apart), as the web's Headers iterate.
  *entries() {
    const names = [...new Set(this.#names)].sort();
    for (const n of names) {
      if (n === 'set-cookie') for (const v of this.getSetCookie()) yield [n, v];
      else yield [n, this.get(n)];
    }
  }

  *keys() { for (const [n] of this.entries()) yield n; }
  *values() { for (const [, v] of this.entries()) yield v; }
  [Symbol.iterator]() { return this.entries(); }

  forEach(fn, self) {
    for (const [n, v] of this.entries()) fn.call(self, v, n, this);
  }

  // The fields as the head writes them: name: value CRLF each.
  toHead(skip) {
    let s = '';
    for (let i = 0; i < this.#names.length; i++) {
      const n = this.#names[i];
      if (skip !== undefined && skip.has(n)) continue;
      s += `${n}: ${this.#values[i]}\r\n`;
    }
    return s;
  }

  get size() { return this.#names.length; }
}

// ---- bodies ----

// A body being read: chunks as they come, and who waits for them.
class Body {
  chunks = [];
  total = 0;
  done = false;
  error = null;
  waiters = [];
  limit = Infinity;

  push(chunk) {
    this.chunks.push(chunk);
    this.total += chunk.length;
    this.wake();
  }

  end() {
    this.done = true;
    this.wake();
  }

  fail(err) {
    if (this.done) return;
    this.error = err;
    this.done = true;
    this.wake();
  }

  wake() {
    const w = this.waiters;
    if (w.length === 0) return;
    this.waiters = [];
    for (const fn of w) fn();
  }

  wait() { return new Promise((resolve) => this.waiters.push(resolve)); }
}

const EMPTY = new Uint8Array(0);

// What Request and Response share: the body read once, as bytes, text,
// JSON, an ArrayBuffer, or chunk by chunk (body, an async iterable).
class BodyMixin {
  #body; // a Body, a Uint8Array, or null
  #used = false;

  constructor(body) { this.#body = body; }

  get bodyUsed() { return this.#used; }

  #take(what) {
    if (this.#used) throw new TypeError(`${what}: the body was read already`);
    this.#used = true;
    return this.#body;
  }

  async bytes() {
    const b = this.#take('bytes');
    if (b === null) return EMPTY;
    if (b instanceof Uint8Array) return b;
    if (typeof b === 'string') return encoder.encode(b);
    if (b instanceof Body) {
      while (!b.done) await b.wait();
      if (b.error !== null) throw b.error;
      return concat(b.chunks, b.total);
    }
    const chunks = [];
    let total = 0;
    for await (const c of b) {
      const bytes = bytesOf(c, 'body') ?? EMPTY;
      chunks.push(bytes);
      total += bytes.length;
    }
    return chunks.length === 0 ? EMPTY : concat(chunks, total);
  }

  async arrayBuffer() {
    const b = await this.bytes();
    return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer : b.slice().buffer;
  }

  async text() {
    if (typeof this.#body === 'string' && !this.#used) return this.#take('text');
    return decoder.decode(await this.bytes());
  }

  async json() { return JSON.parse(await this.text()); }

  // The body as chunks (Uint8Array) as they come, or null for none.
  get body() {
    const b = this.#body;
    if (b === null) return null;
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        self.#take('body');
        if (typeof b === 'string') {
          if (b.length > 0) yield encoder.encode(b);
          return;
        }
        if (b instanceof Uint8Array) {
          if (b.length > 0) yield b;
          return;
        }
        if (!(b instanceof Body)) {
          for await (const c of b) yield bytesOf(c, 'body') ?? EMPTY;
          return;
        }
        for (let i = 0; ; ) {
          while (i < b.chunks.length) {
            const c = b.chunks[i];
            b.chunks[i++] = null; // read once: not kept
            yield c;
          }
          if (b.done) {
            if (b.error !== null) throw b.error;
            return;
          }
          await b.wait();
        }
      },
    };
  }

  // For the server: what the body is (a string, bytes, a stream, or none).
  get _rawBody() { return this.#body; }
}

// ---- Request ----

export class Request extends BodyMixin {
  #method;
  #target;
  #server = null;
  #fields = null;
  #count = 0;
  #headers = null;
  #url = null;
  #minor;

  constructor(input, init = {}) {
    if (input === INTERNAL) {
      super(init.body);
      this.#method = init.method;
      this.#target = init.target;
      this.#fields = init.fields;
      this.#count = init.count;
      this.#server = init.server;
      this.#minor = init.minor;
      return;
    }
    // Made by code (for fetch): an absolute URL, method, headers, body.
    const url = input instanceof Request ? input.url : String(input);
    const method = String(init.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const body = init.body === undefined || init.body === null ? null : bytesOf(init.body, 'Request') ?? init.body;
    if (body !== null && (method === 'GET' || method === 'HEAD'))
      throw new TypeError(`Request: a ${method} request has no body`);
    super(body);
    this.#method = method;
    this.#url = new URL(url).href;
    this.#headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    this.#minor = 1;
    if (!this.#headers.has('content-type')) {
      if (typeof init.body === 'string') this.#headers.set('content-type', TEXT_TYPE);
      else if (init.body instanceof URLSearchParams) this.#headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
    }
  }

  get method() { return this.#method; }
  // The request target as it came (/path?query).
  get target() { return this.#target ?? new URL(this.#url).pathname + new URL(this.#url).search; }
  get url() {
    if (this.#url === null) {
      const host = this.headers.get('host') ?? this.#server.hostName;
      this.#url = this.#target.startsWith('/') ? `${this.#server.scheme}://${host}${this.#target}` : this.#target;
    }
    return this.#url;
  }
  get headers() {
    if (this.#headers === null) this.#headers = fieldsOf(this.#fields, this.#count);
    return this.#headers;
  }
  get httpVersion() { return this.#minor === 0 ? '1.0' : '1.1'; }
  toString() { return `Request(${this.#method} ${this.#target ?? this.#url})`; }
}

const INTERNAL = Symbol('http.internal');

// ---- Response ----

const TEXT_TYPE = 'text/plain;charset=UTF-8';

export class Response extends BodyMixin {
  #status;
  #statusText;
  // Made when asked for or given: a string body's answer that sets none
  // writes its one line without a Headers object.
  #headers = null;
  #text;
  #url = '';
  #redirected = false;
  // A 101's: what takes the connection over once the answer is out.
  _switch = null;

  constructor(body = null, init = undefined) {
    if (body === INTERNAL) { // an answer fetch read
      super(init.body);
      this.#status = init.status;
      this.#statusText = init.statusText;
      this.#headers = init.headers;
      this.#url = init.url;
      this.#text = false;
      return;
    }
    if (init !== undefined && (typeof init !== 'object' || init === null)) throw new TypeError('Response: init must be an object');
    // A string stays a string (encoded once, into the answer).
    const b = body === null || body === undefined ? null : typeof body === 'string' ? body : bytesOf(body, 'Response') ?? body;
    super(b);
    this.#text = typeof body === 'string';
    if (init === undefined) {
      this.#status = 200;
      this.#statusText = 'OK';
      return;
    }
    const status = init.status ?? 200;
    if (!Number.isInteger(status) || status < 200 || status > 599)
      throw new RangeError(`Response: status must be an integer from 200 to 599 (was ${status})`);
    this.#status = status;
    this.#statusText = init.statusText === undefined ? STATUS_TEXT[status] ?? '' : String(init.statusText);
    if (/[\r\n]/.test(this.#statusText)) throw new TypeError('Response: statusText holds CR or LF');
    if (init.headers !== undefined) this.#headers = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
  }

  static json(data, init = {}) {
    const r = new Response(JSON.stringify(data), init);
    r.headers.set('content-type', 'application/json');
    return r;
  }

  static redirect(url, status = 302) {
    if (![301, 302, 303, 307, 308].includes(status)) throw new RangeError('Response.redirect: status must be 301, 302, 303, 307 or 308');
    return new Response(null, { status, headers: { location: String(url) } });
  }

  get status() { return this.#status; }
  get statusText() { return this.#statusText; }
  // fetch's: where the answer came from, and whether redirects led there.
  get url() { return this.#url; }
  get redirected() { return this.#redirected; }
  _setRedirected(v) { this.#redirected = v; }
  get ok() { return this.#status >= 200 && this.#status < 300; }
  get headers() {
    if (this.#headers === null) this.#headers = new Headers();
    if (this.#text) {
      this.#text = false;
      if (!this.#headers.has('content-type')) this.#headers.set('content-type', TEXT_TYPE);
    }
    return this.#headers;
  }

  // For the server: the header lines, less those it writes itself.
  _headLines() {
    if (this.#headers === null) return this.#text ? `content-type: ${TEXT_TYPE}\r\n` : '';
    return this.headers.toHead(OWN);
  }

  // For the server: whether the answer asks to close the connection.
  _close() { return this.#headers !== null && this.#headers.get('connection')?.toLowerCase() === 'close'; }

  toString() { return `Response(${this.#status})`; }
}

// ---- the Date header, once a second ----

let dateSecond = -1;
let dateLine = '';
function dateHeader() {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateLine = `date: ${new Date(s * 1000).toUTCString()}\r\n`;
  }
  return dateLine;
}

// ---- connections ----

// One read buffer for every connection of this context: C fills it and it
// is read here at once (DELIVER_NOW), before anything else can fill it.
const shared = new Uint8Array(raw.BUFFER_MIN);
const view = new DataView(shared.buffer);
// Where answers are put together: a head, then its body after it.
const OUT_SIZE = 65536;
const HEAD_ROOM = 16384;
const out = new Uint8Array(OUT_SIZE);

// Headers the server writes itself.
const OWN = new Set(['content-length', 'transfer-encoding', 'connection', 'date', 'keep-alive']);

function report(err, where) {
  console.error(`Uncaught exception in an http ${where} (the request is answered 500, the server goes on):`);
  console.error(err);
}

// A request and its answer, in the connection's queue.
class Exchange {
  req = null;
  body = null; // its Body, while the body comes
  res = null; // the Response, once the handler gave it
  status = 0; // an error's status (C's, or 500), answered without a handler
  reason = '';
  head = false; // a HEAD request
  upgrade = false; // an Upgrade request (its answer may switch protocols)
  keepAlive = true;
  minor = 1;
}

class Conn {
  id;
  server;
  queue = [];
  reading = null; // the exchange whose body is coming
  writing = false; // a streamed answer is under way
  ended = false; // the peer ended its side
  closing = false; // the last answer is out
  closed = false;

  constructor(id, server) {
    this.id = id;
    this.server = server;
    server.conns.add(this);
  }

  bind() {
    netRaw.readStart(this.id, shared, this.onRead);
    netRaw.onDrain(this.id, this.onDrain);
  }

  onRead = (n) => {
    if (n < 0) return this.#ended(n);
    let at = 0;
    while (at < n) {
      const type = shared[at];
      const size = view.getUint32(at + 4, true);
      if (type === REC_HEAD) this.#head(at);
      else if (type === REC_BODY) this.#body(shared.slice(at + 8, at + size - shared[at + 1]));
      else if (type === REC_END) this.#end();
      else if (type === REC_ERROR) this.#error(view.getUint16(at + 2, true), latin1(shared, at + 8, at + size - shared[at + 1]));
      at += size;
    }
    this.flush();
  };

  onDrain = (status) => {
    if (status < 0) return this.close();
    const w = this.drainWaiter;
    if (w !== undefined) {
      this.drainWaiter = undefined;
      w();
    }
  };

  #head(at) {
    const flags = shared[at + 1];
    const count = view.getUint16(at + 2, true);
    const method = METHODS[shared[at + 8]];
    const minor = shared[at + 9];
    const tlen = view.getUint16(at + 10, true);
    const p = at + 12;
    const target = latin1(shared, p, p + tlen);
    // The fields as bytes, made strings when the handler asks for them.
    const fields = count > 0 ? shared.slice(p + tlen, at + view.getUint32(at + 4, true)) : null;
    const ex = new Exchange();
    ex.head = method === 'HEAD';
    ex.upgrade = (flags & HF_UPGRADE) !== 0;
    ex.minor = minor;
    ex.keepAlive = (flags & HF_KEEP_ALIVE) !== 0 && (flags & HF_UPGRADE) === 0;
    let body = null;
    if (flags & HF_BODY) {
      body = ex.body = new Body();
      this.reading = ex;
    }
    ex.req = new Request(INTERNAL, { method, target, fields, count, body, server: this.server, minor });
    this.queue.push(ex);
    this.#call(ex);
  }

  #body(bytes) {
    const ex = this.reading;
    if (ex !== null && ex.body !== null) ex.body.push(bytes);
  }

  #end() {
    const ex = this.reading;
    if (ex === null) return;
    this.reading = null;
    if (ex.body !== null) ex.body.end();
  }

  // C's error: the answer to the request under way (cut short), or one of
  // its own; the connection closes after it.
  #error(status, reason) {
    let ex = this.reading;
    if (ex !== null) {
      this.reading = null;
      ex.body?.fail(new Error(`http: the request failed: ${status} ${reason}`));
    } else {
      ex = new Exchange();
      this.queue.push(ex);
    }
    ex.status = status;
    ex.reason = reason;
    ex.res = null;
    ex.keepAlive = false;
  }

  #call(ex) {
    let r;
    try {
      r = this.server.handler(ex.req, this.server.info);
    } catch (err) {
      report(err, 'handler');
      ex.status = 500;
      return;
    }
    if (r instanceof Response) {
      ex.res = r;
      return;
    }
    if (r !== null && typeof r === 'object' && typeof r.then === 'function') {
      r.then(
        (res) => this.#settled(ex, res),
        (err) => {
          // (A request C failed, cut short or timed out, is answered
          // already: its handler's failure to read it is no news.)
          if (ex.status === 0) report(err, 'handler');
          this.#settled(ex, null);
        },
      );
      return;
    }
    report(new TypeError(`http: the handler returned ${r === null ? 'null' : typeof r}, not a Response (or a promise of one)`), 'handler');
    ex.status = 500;
  }

  #settled(ex, res) {
    if (ex.status !== 0 || this.closed) return; // answered already (an error)
    if (res instanceof Response) ex.res = res;
    else {
      if (res !== null) report(new TypeError('http: the handler resolved to something that is not a Response'), 'handler');
      ex.status = 500;
    }
    this.flush();
  }

  // Answers what is ready, in order.
  flush() {
    while (!this.writing && !this.closed && this.queue.length > 0) {
      const ex = this.queue[0];
      if (ex.status === 0 && ex.res === null) break;
      this.queue.shift();
      if (ex.status !== 0) this.#answerStatus(ex);
      else this.#answer(ex);
    }
    if (!this.writing && this.queue.length === 0 && (this.ended || this.closing) && !this.closed) this.#finish();
  }

  #last(ex) {
    return !ex.keepAlive || this.server.closing || (this.ended && this.queue.length === 0);
  }

  #answerStatus(ex) {
    const status = ex.status;
    const text = STATUS_TEXT[status] ?? 'Error';
    const body = status === 500 ? 'Internal Server Error\n' : `${text}${ex.reason ? `: ${ex.reason}` : ''}\n`;
    const close = ex.reason !== '' || this.#last(ex);
    const head =
      `HTTP/1.1 ${status} ${text}\r\n${dateHeader()}content-type: text/plain;charset=UTF-8\r\n` +
      `${close ? 'connection: close\r\n' : ''}`;
    this.#sendText(head, body, close, ex.head);
  }

  #answer(ex) {
    const res = ex.res;
    if (res._switch !== null) return this.#switch(ex, res);
    const status = res.status;
    const close = this.#last(ex) || res._close();
    let head = `HTTP/1.1 ${status} ${res.statusText}\r\n${dateHeader()}${res._headLines()}`;
    if (close) head += 'connection: close\r\n';
    else if (ex.minor === 0) head += 'connection: keep-alive\r\n';
    const b = res._rawBody;
    const noBody = status === 204 || status === 304 || (status >= 100 && status < 200);
    if (b === null || noBody) {
      if (!noBody) head += 'content-length: 0\r\n';
      return this.#sendWhole(`${head}\r\n`, EMPTY, close);
    }
    if (typeof b === 'string') return this.#sendText(head, b, close, ex.head);
    if (b instanceof Uint8Array) {
      head += `content-length: ${b.length}\r\n\r\n`;
      return this.#sendWhole(head, ex.head ? EMPTY : b, close);
    }
    // A stream: chunked (HTTP/1.1), or to the end of the connection
    // (HTTP/1.0 has no chunks).
    if (ex.head) return this.#sendWhole(`${head}\r\n`, EMPTY, close);
    const chunked = ex.minor === 1;
    head += chunked ? 'transfer-encoding: chunked\r\n\r\n' : 'connection: close\r\n\r\n';
    this.#stream(res, encoder.encode(head), chunked, close || !chunked);
  }

  // A 101: the answer goes, then the connection is another protocol's
  // (ws), with what the client sent after its request. HTTP lets go of
  // it: C's layer is replaced by the new protocol's.
  #switch(ex, res) {
    if (!ex.upgrade) {
      report(new TypeError('http: a 101 (Switching Protocols) answers only a request that asks to upgrade'), 'handler');
      ex.status = 500;
      return this.#answerStatus(ex);
    }
    this.#sendWhole(`HTTP/1.1 101 Switching Protocols\r\n${res.headers.toHead(OWN)}connection: upgrade\r\n\r\n`, EMPTY, false);
    if (this.closed) return;
    const rest = raw.release(this.id);
    if (typeof rest === 'number') return this.close();
    // Nothing reads until the new protocol's code does.
    netRaw.pause(this.id);
    this.closed = true;
    this.server.conns.delete(this);
    this.queue.length = 0;
    try {
      res._switch(this.id, new Uint8Array(rest), ex.req);
    } catch (err) {
      report(err, 'upgrade');
      netRaw.close(this.id);
    }
  }

  // A string body: C encodes head and body into one write and puts the
  // body's length in the head.
  #sendText(head, body, close, headOnly) {
    this.#sent(raw.sendText(this.id, head, body, SEND_END | (close ? SEND_CLOSE : 0), headOnly), close);
  }

  // A head and a body of bytes in one write where they fit.
  #sendWhole(head, body, close) {
    const flags = SEND_END | (close ? SEND_CLOSE : 0);
    let rc;
    if (head.length + body.length <= HEAD_ROOM) {
      const h = encoder.encodeInto(head, out);
      if (h.read === head.length && h.written + body.length <= OUT_SIZE) {
        out.set(body, h.written);
        rc = raw.send(this.id, out, 0, h.written + body.length, flags);
        return this.#sent(rc, close);
      }
    }
    const hb = encoder.encode(head);
    rc = raw.send(this.id, hb, 0, hb.length, body.length > 0 ? 0 : flags);
    if (rc >= 0 && body.length > 0) rc = raw.send(this.id, body, 0, body.length, flags);
    this.#sent(rc, close);
  }

  #sent(rc, close) {
    if (rc < 0) return this.close();
    if (close) this.#closeAfter();
  }

  // A streamed body: chunk by chunk, waiting for drain when the queue
  // grows; the next answers wait for it.
  async #stream(res, head, chunked, close) {
    this.writing = true;
    let rc = raw.send(this.id, head, 0, head.length, 0);
    try {
      for await (const c of res.body) {
        if (this.closed) return;
        const bytes = bytesOf(c, 'Response body') ?? EMPTY;
        if (bytes.length === 0) continue;
        if (chunked) {
          const size = encoder.encode(`${bytes.length.toString(16)}\r\n`);
          rc = raw.send(this.id, size, 0, size.length, 0);
          if (rc >= 0) rc = raw.send(this.id, bytes, 0, bytes.length, 0);
          if (rc >= 0) rc = raw.send(this.id, CRLF, 0, 2, 0);
        } else {
          rc = raw.send(this.id, bytes, 0, bytes.length, 0);
        }
        if (rc < 0) return this.close();
        if (rc === 1) await new Promise((resolve) => (this.drainWaiter = resolve));
      }
    } catch (err) {
      // The body failed halfway: the answer cannot be completed, so the
      // connection closes (the client sees it cut short, never a mix).
      report(err, 'response body');
      return this.close();
    }
    if (this.closed) return;
    const flags = SEND_END | (close ? SEND_CLOSE : 0);
    rc = chunked ? raw.send(this.id, LAST_CHUNK, 0, LAST_CHUNK.length, flags) : raw.send(this.id, EMPTY, 0, 0, flags);
    this.writing = false;
    if (rc < 0) return this.close();
    if (close) this.#closeAfter();
    this.flush();
  }

  // The last answer is out: our side ends; the connection closes when the
  // peer ends (C drops what it sends meanwhile, and gives up after a while).
  #closeAfter() {
    this.closing = true;
    this.queue.length = 0;
    netRaw.shutdown(this.id, (status) => {
      if (status < 0 || this.ended) this.close();
    });
  }

  #ended(n) {
    if (n !== EOF) return this.close(); // reset, timed out, aborted
    this.ended = true;
    if (this.reading !== null) {
      this.reading.body?.fail(new Error('http: the client ended the connection before the body was complete'));
      const i = this.queue.indexOf(this.reading);
      if (i >= 0) this.queue.splice(i, 1);
      this.reading = null;
    }
    if (this.closing) return this.close();
    this.flush();
  }

  #finish() {
    if (this.closing) {
      if (this.ended) this.close();
      return;
    }
    this.close(); // the peer ended and everything is answered
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.server.conns.delete(this);
    if (this.reading !== null) this.reading.body?.fail(new Error('http: the connection closed'));
    this.queue.length = 0;
    netRaw.close(this.id);
  }
}

const CRLF = new Uint8Array([13, 10]);
const LAST_CHUNK = encoder.encode('0\r\n\r\n');

// ---- servers ----

function limitsOf(options, what) {
  const o = {};
  for (const [name, def] of Object.entries(DEFAULTS)) {
    const v = options[name] ?? def;
    if (!Number.isSafeInteger(v) || v < 0) throw new TypeError(`${what}: options.${name} must be a non-negative integer`);
    o[name] = v;
  }
  if (o.maxHeadSize < 256 || o.maxHeadSize > 32768) throw new RangeError(`${what}: options.maxHeadSize must be 256 to 32768 bytes`);
  if (o.maxPipeline < 1) throw new RangeError(`${what}: options.maxPipeline must be at least 1`);
  return o;
}

function applyLimits(id, l) {
  return raw.serve(id, l.maxHeadSize, l.maxBodySize, l.headersTimeout, l.bodyTimeout, l.idleTimeout, l.maxPipeline);
}

export class Server {
  #id;
  #limits;
  #carried; // connection ids from an upgrade's state, for reload()
  handler = null;
  conns = new Set();
  closing = false;
  hostName;
  scheme;
  info;

  constructor(token, id, limits, hostName, secure, carried = []) {
    if (token !== INTERNAL) throw new TypeError('http.Server: made by http.serve, not by new');
    this.#id = id;
    this.#limits = limits;
    this.hostName = hostName;
    this.scheme = secure ? 'https' : 'http';
    this.#carried = carried;
    this.info = { server: this };
  }

  get [HANDLE_ID]() { return this.closing ? -1 : this.#id; }
  // Crosses a reload or an upgrade with its limits: the new code's is an
  // http Server again (reload(handler) binds it and its connections).
  // Its connections' ids go too: an upgrade sends the idle ones to the new
  // process plain (ids are kept), where reload() puts HTTP on them again.
  get [HANDLE_DATA]() {
    const conns = this.closing ? [] : raw.connections(this.#id);
    return { kind: 'http.server', data: { limits: this.#limits, host: this.hostName, scheme: this.scheme, conns } };
  }

  get id() { return this.#id; }
  get address() {
    const a = netRaw.address(this.#id);
    return typeof a === 'object' ? a : undefined;
  }
  get port() { return this.address?.port; }
  get connections() { return this.conns.size; }

  #onConnection = (id) => {
    if (id < 0) return; // EMFILE: accepting waits for a descriptor
    new Conn(id, this).bind();
  };

  listen() {
    const rc = netRaw.onConnection(this.#id, this.#onConnection);
    if (rc < 0) throw netRaw.error(rc, 'http.serve');
  }

  // The new code's handler, for this server and the connections it made
  // (after a reload: the requests the old code had not answered come
  // again, to this handler).
  //
  // After an upgrade the server's HTTP (and TLS) settings, C memory of the
  // process before, are set again here: its limits come in the state, but
  // TLS certificates must be given again (options.tls, as for serve).
  // options may also change the limits.
  reload(handler, options = {}) {
    if (typeof handler !== 'function') throw new TypeError('Server.reload: handler must be a function');
    if (typeof options !== 'object' || options === null) throw new TypeError('Server.reload: options must be an object');
    if (this.closing) throw new Error('Server.reload: the server is closed');
    const needsLayer = netRaw.layered(this.#id) === 2; // from an upgrade
    if (options.tls !== undefined && options.tls !== null) {
      tls.secure(this.#id, { alpn: ['http/1.1'], ...options.tls }, 'Server.reload');
      this.scheme = 'https';
    } else if (needsLayer && this.scheme === 'https') {
      throw new Error("Server.reload: this server's TLS settings stayed with the process before the upgrade: give them again (server.reload(handler, { tls: { certFile, keyFile } }))");
    }
    this.#limits = limitsOf({ ...this.#limits, ...options }, 'Server.reload');
    const rc = applyLimits(this.#id, this.#limits);
    if (rc < 0) throw netRaw.error(rc, 'Server.reload');
    this.handler = handler;
    this.listen();
    const known = new Set();
    for (const c of this.conns) known.add(c.id);
    for (const id of raw.connections(this.#id)) if (!known.has(id)) new Conn(id, this).bind();
    // Connections an upgrade sent here plain (idle there): HTTP again.
    for (const id of this.#carried) if (!known.has(id) && raw.adopt(id, this.#id) === 0) new Conn(id, this).bind();
    this.#carried = [];
    return this;
  }

  // Stops listening; open connections finish what they were asked and
  // close (keep-alive ends with the next answer). Resolves once they are
  // all closed.
  close() {
    if (this.closing) return false;
    this.closing = true;
    netRaw.close(this.#id);
    for (const c of [...this.conns]) if (c.queue.length === 0 && !c.writing) c.close();
    return true;
  }

  toString() { return `http.Server(${this.#id}${this.closing ? ', closed' : ''})`; }
}

// serve({ port, host, backlog, ...limits }, handler) -> Server
export function serve(options, handler) {
  if (typeof options === 'function' && handler === undefined) {
    handler = options;
    options = {};
  }
  if (typeof options !== 'object' || options === null) throw new TypeError('http.serve: options must be an object');
  if (typeof handler !== 'function') throw new TypeError('http.serve: handler must be a function (request) => Response');
  const { host = '127.0.0.1', port = 0, backlog = 511 } = options;
  if (typeof host !== 'string') throw new TypeError('http.serve: options.host must be a string');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError('http.serve: options.port must be a port number (0: any free one)');
  const secure = options.tls !== undefined && options.tls !== null;
  if (secure && typeof options.tls !== 'object') throw new TypeError('http.serve: options.tls must be an object ({ cert, key, ... } as for tls.listen)');
  const limits = limitsOf(options, 'http.serve');
  const placeholder = () => {};
  const id = netRaw.listen(host, port, backlog, placeholder);
  if (id < 0) throw netRaw.error(id, `http.serve: listen on ${host}:${port}`);
  try {
    // TLS below HTTP, on the listening socket: every connection it
    // accepts gets both layers in C. ALPN says http/1.1.
    if (secure) tls.secure(id, { alpn: ['http/1.1'], ...options.tls }, 'http.serve');
    const rc = applyLimits(id, limits);
    if (rc < 0) throw netRaw.error(rc, 'http.serve');
  } catch (err) {
    netRaw.close(id);
    throw err;
  }
  const server = new Server(INTERNAL, id, limits, host.includes(':') ? `[${host}]` : host, secure);
  server.hostName = `${server.hostName}:${server.port}`;
  server.handler = handler;
  server.listen();
  return server;
}

// For a protocol that takes connections over (ws): a 101 answer with
// headers, and onSwitch(id, rest, request), called once it is out: the
// stream id (not read until its new code reads it) and the bytes that
// came after the request.
export function switchProtocols(headers, onSwitch) {
  if (typeof onSwitch !== 'function') throw new TypeError('http.switchProtocols: onSwitch must be a function');
  const res = new Response(INTERNAL, { status: 101, statusText: 'Switching Protocols', headers: new Headers(headers), url: '', body: null });
  res._switch = onSwitch;
  return res;
}

addHandleReviver((id, data) => {
  if (typeof data !== 'object' || data === null) return undefined;
  const carried = Array.isArray(data.conns) ? data.conns.filter((c) => Number.isSafeInteger(c)) : [];
  return new Server(INTERNAL, id, data.limits, data.host, data.scheme === 'https', carried);
}, 'http.server');

const all = { serve, fetch, Server, Request, Response, Headers, raw, STATUS_TEXT };
export default all;
export { STATUS_TEXT, ECLOSED };
