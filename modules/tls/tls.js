// tls: TLS servers and clients, what `import ... from 'tls'` gives. A TLS
// connection is a net Socket whose stream has a TLS layer in C
// (modules/tls/tls.c): the same handlers, the same methods, bytes in and
// out in plaintext; `open` comes once the handshake is done. Its state is
// C memory beside the stream, so a reload carries it as it carries any
// Socket (socket.reload(handlers) in the new code).
//
// Embedded in tls.so (DV8_MODULE_JS), over the functions of 'tls/raw'.
// The layer goes on in C: on each connection a server accepts (serve) and
// on a client's connecting stream (attach), so net's Socket does the rest
// (open after the handshake, OpenSSL's reason in errors).
import * as net from 'net';
import * as raw from 'tls/raw';
import { readFileSync } from 'fs';

export { raw };

// A PEM option: its content (string or bytes) or, with NAMEFile, a path.
function pemOf(options, name, what) {
  const file = options[`${name}File`];
  const value = options[name];
  if (file !== undefined) {
    if (typeof file !== 'string') throw new TypeError(`${what}: options.${name}File must be a path`);
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`${what}: cannot read ${name}File ${file}: ${err.message}`, { cause: err });
    }
  }
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' && !(value instanceof Uint8Array))
    throw new TypeError(`${what}: options.${name} must be PEM text or bytes`);
  return value;
}

// A context: what a server or client is (certificate, key, CAs, whether to
// check the peer). Made once and shared by its connections; listen and
// connect make one from their options unless given one as options.context.
export function createContext(options = {}, { server = false } = {}) {
  const what = server ? 'tls.listen' : 'tls.connect';
  if (typeof options !== 'object' || options === null) throw new TypeError(`${what}: options must be an object`);
  const cert = pemOf(options, 'cert', what);
  const key = pemOf(options, 'key', what);
  const ca = pemOf(options, 'ca', what);
  if (server && (cert === null || key === null))
    throw new TypeError(`${what}: a server needs options.cert (or certFile) and options.key (or keyFile)`);
  // Clients check the server by default; servers ask for client
  // certificates only when told to (requestCert).
  const verify = server ? options.requestCert === true : options.rejectUnauthorized !== false;
  const lifetime = options.ticketKeyLifetime;
  if (lifetime !== undefined && (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > 604800))
    throw new RangeError(`${what}: options.ticketKeyLifetime must be 1 to 604800 seconds`);
  const ctx = raw.context(server, cert, key, ca, verify, lifetime);
  if (options.alpn !== undefined) raw.setAlpn(ctx, alpnWire(options.alpn, what));
  if (options.sni !== undefined) {
    if (!server) throw new TypeError(`${what}: options.sni is for servers`);
    if (typeof options.sni !== 'object' || options.sni === null)
      throw new TypeError(`${what}: options.sni must be an object: { 'name.example': { cert, key } }`);
    for (const [name, o] of Object.entries(options.sni)) {
      if (!/^(\*\.)?[A-Za-z0-9.-]+$/.test(name)) throw new TypeError(`${what}: options.sni: '${name}' is not a host name`);
      const other = o?.[CONTEXT] !== undefined ? o : createContext(o, { server: true });
      raw.addServerName(ctx, name.toLowerCase(), other[CONTEXT]);
    }
  }
  return { [CONTEXT]: ctx, server };
}

// ['h2', 'http/1.1'] as ALPN's wire form: each name after its length.
function alpnWire(list, what) {
  if (!Array.isArray(list) || list.length === 0)
    throw new TypeError(`${what}: options.alpn must be a non-empty array of protocol names`);
  const parts = list.map((p) => {
    const b = typeof p === 'string' ? new TextEncoder().encode(p) : null;
    if (b === null || b.length === 0 || b.length > 255)
      throw new TypeError(`${what}: options.alpn: each protocol is a name of 1 to 255 bytes`);
    return b;
  });
  const out = new Uint8Array(parts.reduce((n, b) => n + 1 + b.length, 0));
  let at = 0;
  for (const b of parts) {
    out[at++] = b.length;
    out.set(b, at);
    at += b.length;
  }
  return out;
}

const CONTEXT = Symbol('tls.context');

// Clients that set nothing of their own share one context (the system's
// CAs), so that a second connection to a server resumes the first's
// session.
let defaultClient = null;
const OWN = ['cert', 'certFile', 'key', 'keyFile', 'ca', 'caFile', 'alpn', 'rejectUnauthorized'];

function contextFor(options, server) {
  if (!server && options.context === undefined && OWN.every((k) => options[k] === undefined)) {
    if (defaultClient === null) defaultClient = createContext({}, { server: false });
    return defaultClient[CONTEXT];
  }
  if (options.context !== undefined) {
    const c = options.context;
    if (typeof c !== 'object' || c === null || c[CONTEXT] === undefined || c.server !== server)
      throw new TypeError(`options.context must be a ${server ? 'server' : 'client'} context from tls.createContext`);
    return c[CONTEXT];
  }
  return createContext(options, { server })[CONTEXT];
}

// How long a handshake may take, in ms (0: no limit); 30 s by default, so
// that a peer that connects and says nothing (or half a hello) does not
// hold a connection for ever.
const HANDSHAKE_TIMEOUT = 30000;
function handshakeTimeout(options, what) {
  const t = options.handshakeTimeout ?? HANDSHAKE_TIMEOUT;
  if (!Number.isInteger(t) || t < 0 || t > 2147483647)
    throw new RangeError(`${what}: options.handshakeTimeout must be a number of milliseconds (0: none)`);
  return t;
}

function netOptions(options) {
  const out = {};
  for (const k of ['host', 'port', 'path', 'fd', 'backlog', 'timeout']) if (options[k] !== undefined) out[k] = options[k];
  return out;
}

// listen({ host, port | path, cert | certFile, key | keyFile, ca,
// requestCert, sni, alpn, context, handshakeTimeout, ticketKeyLifetime },
// handlers) -> a net Server whose connections
// speak TLS.
export function listen(options, handlers) {
  if (typeof options !== 'object' || options === null) throw new TypeError('tls.listen: options must be an object');
  const ctx = contextFor(options, true);
  const timeout = handshakeTimeout(options, 'tls.listen');
  const server = net.listen(netOptions(options), handlers);
  // In C, on the listening socket: every connection it accepts speaks TLS,
  // whichever code drives the server later (a reload's).
  const rc = raw.serve(server.id, ctx, timeout);
  if (rc < 0) {
    server.close();
    throw net.error(rc, 'tls.listen');
  }
  return server;
}

// A TLS Server that came in a reload's state, bound to this code's
// handlers, its new connections made with these options' certificates
// (cert, key, sni, alpn... as for listen): how a reload brings new
// certificates; connections made before keep theirs. net's
// server.reload(handlers) alone keeps the certificates it had.
export function reloadServer(server, options, handlers) {
  if (!(server instanceof net.Server)) throw new TypeError('tls.reloadServer: server must be a net Server from the state');
  if (typeof options !== 'object' || options === null) throw new TypeError('tls.reloadServer: options must be an object');
  const ctx = contextFor(options, true);
  const rc = raw.serve(server.id, ctx, handshakeTimeout(options, 'tls.reloadServer'));
  if (rc < 0) throw net.error(rc, 'tls.reloadServer');
  return server.reload(handlers);
}

// secure(serverId, options): every connection the listening stream id
// accepts from now on speaks TLS with options' certificates (cert, key,
// sni, alpn... as for listen), whatever code drives it: for a protocol
// module over TLS (http.serve's tls option).
export function secure(id, options, what = 'tls.secure') {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${what}: the TLS options must be an object`);
  const ctx = contextFor(options, true);
  const rc = raw.serve(id, ctx, handshakeTimeout(options, what));
  if (rc < 0) throw net.error(rc, what);
}

// attachClient(streamId, { context, servername, handshakeTimeout }): a
// client's TLS on a connecting stream (what connect does after net's
// connect), for a protocol module over TLS (http's fetch). The session is
// kept per servername and key (options.sessionKey).
export function attachClient(id, options, what = 'tls.attachClient') {
  const servername = options.servername ?? null;
  const ctx = contextFor(options, false);
  const rc = raw.attach(id, ctx, servername, handshakeTimeout(options, what), options.sessionKey ?? servername ?? '');
  if (rc === -22) throw new TypeError(`${what}: servername '${servername}' is refused`);
  if (rc < 0) throw net.error(rc, what);
}

// connect({ host, port | path, servername, ca, rejectUnauthorized, cert,
// key, alpn, context, timeout, handshakeTimeout }, handlers) -> a net Socket speaking TLS. The
// server's certificate is checked against the system's CAs (or options.ca)
// and its name against servername (default: host, unless an IP address).
export function connect(options, handlers) {
  if (typeof options !== 'object' || options === null) throw new TypeError('tls.connect: options must be an object');
  // An IP address is checked against the certificate's IP addresses (and
  // sent as no SNI); a unix socket has no name unless given one.
  const servername = options.servername ?? (options.path === undefined ? options.host ?? 'localhost' : null);
  if (servername !== null && typeof servername !== 'string') throw new TypeError('tls.connect: options.servername must be a string');
  // Sessions are kept per server: its name and where it is.
  const sessionKey = `${servername ?? ''}@${options.path ?? `${options.host ?? 'localhost'}:${options.port}`}`;
  const ctx = contextFor(options, false);
  const timeout = handshakeTimeout(options, 'tls.connect');
  const socket = net.connect(netOptions(options), handlers);
  // On the connecting stream, in C: it says hello once connected, and net's
  // Socket holds open back until the handshake is done (both whichever
  // code drives it by then). A connect that failed at once has no stream:
  // its error comes as for a plain socket.
  if (socket.id > 0) {
    const rc = raw.attach(socket.id, ctx, servername, timeout, sessionKey);
    if (rc < 0) {
      socket.close();
      throw net.error(rc, 'tls.connect');
    }
  }
  return socket;
}

// { protocol, cipher, servername, alpn, resumed } of a connection once its handshake is
// done, or undefined.
export function info(socket) {
  return raw.info(socket.id);
}
