// http's client: fetch(). Embedded after http.js in http.so (one module:
// this part uses http.js's Headers, Request, Response, Body, the shared
// read buffer and the record layout).
//
// A connection is a net stream (TLS below for https, through the tls
// module) with an HTTP layer in C reading the answers (http.c, the same
// message reader as the server's, for responses), into the context's
// shared read buffer as records. One request at a time per connection;
// connections are kept alive and pooled per origin (scheme, host, port).

const CLIENT_DEFAULTS = {
  maxHeadSize: 32768,
  maxBodySize: 0, // none
  connectTimeout: 30000,
  poolIdle: 4000, // an idle pooled connection closes after this (ms)
  poolMax: 16, // idle connections kept per origin
};
const REC_RHEAD = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;

// Idle connections by origin.
const pool = new Map();

// TLS client contexts: the default one (system CAs) and one per init.tls
// object, kept so that its connections resume their sessions.
let defaultTls = null;
const tlsContexts = new WeakMap();
const contextKeys = new WeakMap();
let contextCount = 0;
function contextKey(ctx) {
  let k = contextKeys.get(ctx);
  if (k === undefined) contextKeys.set(ctx, (k = ++contextCount));
  return k;
}
function tlsContextFor(options) {
  if (options === undefined || Object.keys(options).length === 0)
    return (defaultTls ??= tls.createContext({ alpn: ['http/1.1'] }));
  let c = tlsContexts.get(options);
  if (c === undefined) {
    c = tls.createContext({ ...options, alpn: ['http/1.1'] });
    tlsContexts.set(options, c);
  }
  return c;
}

function abortError(signal) {
  const r = signal.reason;
  if (r !== undefined) return r;
  const err = new Error('This operation was aborted');
  err.name = 'AbortError';
  return err;
}

// A fetch failure is a TypeError (as the web's), with what failed as its
// cause (an Error with .code from net or TLS).
function fetchError(message, cause) {
  return new TypeError(`fetch failed: ${message}`, cause === undefined ? undefined : { cause });
}

class ClientConn {
  id = 0;
  origin;
  name;
  open = false; // connected
  closed = false;
  reused = false; // served a request before
  ex = null; // the exchange under way: { resolve, reject, res, body, head... }
  idleTimer = null;
  pending = [];
  drained = null;

  constructor(origin) {
    this.origin = origin; // the pool's key
    this.name = origin.split(' ')[0]; // for messages
  }

  // Connects (TLS for https); resolves once writable.
  connect(url, tlsOptions, signal) {
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    return new Promise((resolve, reject) => {
      const onConnect = (status) => {
        if (status < 0) {
          this.closed = true;
          return reject(fetchError(`connect to ${url.host}`, layerError(this.id, status, 'connect')));
        }
        this.open = true;
        netRaw.readStart(this.id, shared, this.onRead);
        netRaw.onDrain(this.id, this.onDrain);
        resolve();
      };
      const id = netRaw.connect(host, port, onConnect, CLIENT_DEFAULTS.connectTimeout);
      if (id < 0) return reject(fetchError(`connect to ${url.host}`, netRaw.error(id, 'connect')));
      this.id = id;
      if (url.protocol === 'https:') {
        try {
          tls.attachClient(id, { context: tlsContextFor(tlsOptions), servername: host, sessionKey: `${host}@${url.host}` }, 'fetch');
        } catch (err) {
          this.close();
          return reject(fetchError(`TLS to ${url.host}`, err));
        }
      }
      const rc = raw.client(id, CLIENT_DEFAULTS.maxHeadSize, CLIENT_DEFAULTS.maxBodySize);
      if (rc < 0) {
        this.close();
        return reject(fetchError('http client', netRaw.error(rc, 'http client')));
      }
      if (signal !== null) {
        signal.addEventListener('abort', () => {
          if (!this.open) {
            this.close();
            reject(abortError(signal));
          }
        }, { once: true });
      }
    });
  }

  onRead = (n) => {
    if (n < 0) return this.#ended(n);
    let at = 0;
    while (at < n) {
      const type = shared[at];
      const size = view.getUint32(at + 4, true);
      if (type === REC_RHEAD) this.#head(at);
      else if (type === REC_BODY) this.ex?.body?.push(shared.slice(at + 8, at + size - shared[at + 1]));
      else if (type === REC_END) this.#end();
      else if (type === REC_ERROR) this.abort(fetchError(`a malformed answer from ${this.name}: ${latin1(shared, at + 8, at + size - shared[at + 1])}`));
      at += size;
    }
  };

  onDrain = (status) => {
    if (status < 0) return this.abort(fetchError(`write to ${this.name}`, netRaw.error(status, 'write')));
    const d = this.drained;
    this.drained = null;
    d?.();
  };

  #head(at) {
    const ex = this.ex;
    if (ex === null) return this.abort(fetchError(`${this.name} answered what was not asked`));
    const flags = shared[at + 1];
    const count = view.getUint16(at + 2, true);
    const status = view.getUint16(at + 8, true);
    if (status < 200) return; // 1xx: interim (100 Continue...), the final one follows
    const rlen = view.getUint16(at + 12, true);
    const p = at + 16 + rlen;
    const statusText = latin1(shared, at + 16, p);
    const headers = fieldsOf(shared.subarray(p, at + view.getUint32(at + 4, true)), count);
    ex.keepAlive = (flags & HF_KEEP_ALIVE) !== 0;
    const body = (flags & HF_BODY) !== 0 || (!ex.headOnly && !headers.has('content-length')) ? new Body() : null;
    ex.body = body;
    ex.resolve(wireResponse(status, statusText, headers, body, ex.url));
    ex.answered = true;
  }

  #end() {
    const ex = this.ex;
    if (ex === null) return;
    this.ex = null;
    ex.body?.end();
    ex.done();
    if (ex.keepAlive && !this.closed) this.#release();
    else this.close();
  }

  // Back to the pool, or closed if the pool for its origin is full.
  #release() {
    this.reused = true;
    let idle = pool.get(this.origin);
    if (idle === undefined) pool.set(this.origin, (idle = []));
    if (idle.length >= CLIENT_DEFAULTS.poolMax) return this.close();
    idle.push(this);
    this.idleTimer = setTimeout(() => this.close(), CLIENT_DEFAULTS.poolIdle);
    this.idleTimer.unref?.();
  }

  take() {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  #ended(n) {
    const ex = this.ex;
    if (ex === null) return this.close();
    const cause = n === EOF ? undefined : layerError(this.id, n, 'read');
    const err = fetchError(ex.answered ? `${this.name} closed the connection before the body was complete` : `${this.name} closed the connection without an answer`, cause);
    err.stale = !ex.answered && this.reused && ex.sent;
    this.abort(err);
  }

  // The exchange under way fails with err (its answer's promise, or its
  // body if the answer had come), and the connection closes.
  abort(err) {
    const ex = this.ex;
    this.ex = null;
    if (ex !== null) {
      if (ex.answered) ex.body?.fail(err);
      else ex.reject(err);
      ex.done();
    }
    this.close();
  }

  close() {
    if (this.closed && this.id === 0) return;
    this.closed = true;
    this.take();
    const idle = pool.get(this.origin);
    const i = idle?.indexOf(this) ?? -1;
    if (i >= 0) idle.splice(i, 1);
    if (this.id > 0) {
      netRaw.close(this.id);
      this.id = 0;
    }
  }

  // Writes bytes; waits for drain when the queue is past its limit.
  async write(bytes) {
    if (this.closed) throw fetchError(`${this.name}: the connection closed`);
    const rc = netRaw.write(this.id, bytes);
    if (rc === 1) await new Promise((resolve) => (this.drained = resolve));
    else if (rc < 0) throw fetchError(`write to ${this.name}`, netRaw.error(rc, 'write'));
  }
}

// A net or TLS failure as an Error with .code (TLS: OpenSSL's reason).
function layerError(id, code, what) {
  const err = netRaw.error(code, what);
  const reason = id > 0 ? netRaw.layerReason(id) : undefined;
  if (reason === undefined) return err;
  const e = new Error(reason, { cause: err });
  e.code = err.code === 'ETIMEDOUT' ? 'ETIMEDOUT' : 'EPROTO';
  return e;
}

function wireResponse(status, statusText, headers, body, url) {
  return new Response(INTERNAL, { status, statusText, headers, body, url });
}

// The head of a request, as written.
function requestHead(method, url, headers, length, chunked) {
  let head = `${method} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`;
  head += headers.toHead(CLIENT_OWN);
  if (!headers.has('user-agent')) head += 'user-agent: dv8\r\n';
  if (!headers.has('accept')) head += 'accept: */*\r\n';
  if (chunked) head += 'transfer-encoding: chunked\r\n';
  else if (length > 0 || (method !== 'GET' && method !== 'HEAD')) head += `content-length: ${length}\r\n`;
  return `${head}\r\n`;
}

const CLIENT_OWN = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive']);

// One request on one connection (pooled or new): resolves with the
// Response once its head is in; its body comes after.
async function exchange(url, method, headers, body, tlsOptions, signal) {
  // Pooled by origin and, for https, by TLS context: a connection made
  // trusting some CAs is not given to a request that trusts others.
  const origin = url.protocol === 'https:' ? `${url.origin} ${contextKey(tlsContextFor(tlsOptions))}` : url.origin;
  for (let attempt = 0; ; attempt++) {
    let conn = null;
    const idle = pool.get(origin);
    while (idle !== undefined && idle.length > 0) {
      const c = idle.pop();
      if (!c.closed) {
        conn = c;
        conn.take();
        break;
      }
    }
    if (conn === null) {
      conn = new ClientConn(origin);
      await conn.connect(url, tlsOptions, signal);
    }
    try {
      return await send(conn, url, method, headers, body, signal);
    } catch (err) {
      // A pooled connection the server had closed meanwhile: once more on
      // a new one (the request had no answer at all).
      if (err?.stale === true && attempt === 0 && (body === null || body instanceof Uint8Array)) continue;
      throw err;
    }
  }
}

function send(conn, url, method, headers, body, signal) {
  return new Promise((resolve, reject) => {
    const ex = { resolve, reject, url: url.href, body: null, answered: false, sent: false, keepAlive: false, headOnly: method === 'HEAD', done: null };
    let onAbort = null;
    ex.done = () => {
      if (onAbort !== null) signal.removeEventListener('abort', onAbort);
    };
    if (signal !== null) {
      if (signal.aborted) return reject(abortError(signal));
      onAbort = () => conn.abort(abortError(signal));
      signal.addEventListener('abort', onAbort, { once: true });
    }
    conn.ex = ex;
    if (ex.headOnly) raw.skipBody(conn.id);
    const streamed = body !== null && !(body instanceof Uint8Array);
    const head = encoder.encode(requestHead(method, url, headers, streamed ? 0 : body?.length ?? 0, streamed));
    (async () => {
      if (!streamed) {
        const bytes = body === null || body.length === 0 ? head : concat([head, body], head.length + body.length);
        await conn.write(bytes);
        ex.sent = true;
        return;
      }
      await conn.write(head);
      ex.sent = true;
      for await (const c of body) {
        const bytes = bytesOf(c, 'fetch body') ?? EMPTY;
        if (bytes.length === 0) continue;
        const size = encoder.encode(`${bytes.length.toString(16)}\r\n`);
        await conn.write(concat([size, bytes, CRLF], size.length + bytes.length + 2));
      }
      await conn.write(LAST_CHUNK);
    })().catch((err) => conn.abort(err instanceof TypeError ? err : fetchError(`sending to ${conn.name}`, err)));
  });
}

// fetch(input, init): the web platform's, for http: and https:. init:
// method, headers, body, redirect ('follow', 'manual', 'error'), signal;
// and dv8's own: tls ({ ca, cert, key, rejectUnauthorized } as for
// tls.connect: the server's certificate is checked against the system's
// CAs by default).
export async function fetch(input, init = {}) {
  if (typeof init !== 'object' || init === null) throw new TypeError('fetch: init must be an object');
  const req = input instanceof Request && Object.keys(init).length === 0 ? input : new Request(input, init);
  const signal = init.signal ?? null;
  if (signal !== null && !(signal instanceof AbortSignal)) throw new TypeError('fetch: init.signal must be an AbortSignal');
  if (signal?.aborted) throw abortError(signal);
  const redirect = init.redirect ?? 'follow';
  if (!['follow', 'manual', 'error'].includes(redirect)) throw new TypeError("fetch: init.redirect is 'follow', 'manual' or 'error'");
  const tlsOptions = init.tls;
  if (tlsOptions !== undefined && (typeof tlsOptions !== 'object' || tlsOptions === null))
    throw new TypeError('fetch: init.tls must be an object ({ ca, cert, key, rejectUnauthorized })');
  let url = new URL(req.url);
  let method = req.method;
  let body = req._rawBody;
  if (body instanceof Body) throw new TypeError('fetch: a body being read cannot be sent');
  if (typeof body === 'string') body = encoder.encode(body);
  const headers = new Headers(req.headers);
  for (let hops = 0; ; hops++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fetchError(`the scheme ${url.protocol} is not supported (http: and https: are)`);
    if (url.username !== '' || url.password !== '') throw new TypeError('fetch: a URL with credentials is refused');
    const res = await exchange(url, method, headers, body, tlsOptions, signal);
    if (!REDIRECTS.has(res.status) || redirect === 'manual' || !res.headers.has('location')) {
      res._setRedirected(hops > 0);
      return res;
    }
    if (redirect === 'error') throw fetchError(`${url.href} redirects (${res.status}) and init.redirect is 'error'`);
    if (hops >= MAX_REDIRECTS) throw fetchError(`more than ${MAX_REDIRECTS} redirects`);
    const next = new URL(res.headers.get('location'), url);
    res.body !== null && (await res.bytes().catch(() => {})); // the connection goes back to the pool
    // 303 (and 301/302 after a POST) go on as a GET without a body.
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
      if (method !== 'HEAD') method = 'GET';
      body = null;
      headers.delete('content-type');
    } else if (body !== null && !(body instanceof Uint8Array)) {
      throw fetchError('a streamed body cannot be sent again to follow a redirect');
    }
    if (next.origin !== url.origin) headers.delete('authorization');
    url = next;
  }
}
