// The object layer's outcomes: a failure is an Error with .code and
// .errno (listen throws it; a connect's goes to error(socket, err) and
// close(socket, err)); wrong argument types throw TypeError naming the
// argument; a closed socket's methods say it is closed and never crash;
// a write past the queue limit says 'full'; a handler that throws is
// reported and closes its socket only: the server and its other
// connections go on.
import * as assert from './assert.js';
import * as net from 'net';

const noop = {};

// Programmer errors.
assert.throws(() => net.listen({ port: 0 }, null), /listen: handlers must be an object/);
assert.throws(() => net.listen({ port: 0 }, { data: 1 }), /listen: handlers.data must be a function/);
assert.throws(() => net.listen({ port: '80' }, noop), /options.port must be a number/);
assert.throws(() => net.listen({ host: 7, port: 0 }, noop), /options.host must be a string/);
assert.throws(() => net.connect({ port: 1, timeout: 'x' }, noop), /options.timeout must be a number/);
assert.throws(() => net.connect({ path: 3 }, noop), /options.path must be a string/);
assert.throws(() => new net.Socket(), TypeError);
assert.throws(() => new net.Server(), TypeError);
assert.throws(() => net.adopt('x', noop), /adopt: id must be a handle id/);

// listen in use: an Error with .code and .errno.
const server = net.listen({ port: 0 }, {});
const inUse = assert.throws(() => net.listen({ port: server.port }, {}));
assert.ok(inUse instanceof Error);
assert.equal(inUse.code, 'EADDRINUSE');
assert.equal(inUse.errno, net.EADDRINUSE);
assert.ok(/EADDRINUSE/.test(inUse.message), inUse.message);

// A refused connect: error(socket, err) then close(socket, err).
const port = server.port;
server.close();
const seen = [];
await new Promise((resolve) => {
  net.connect({ port }, {
    open() { seen.push('open'); },
    error(socket, err) { seen.push(`error ${err.code} ${err.errno}`); },
    close(socket, err) { seen.push(`close ${err.code}`); resolve(); },
  });
});
assert.deepEqual(seen, [`error ECONNREFUSED ${net.ECONNREFUSED}`, 'close ECONNREFUSED']);

// A bad address: the same path, never a throw.
const bad = await new Promise((resolve) => {
  net.connect({ host: 'not an address', port: 1 }, { close: (s, err) => resolve(err) });
});
assert.ok(bad instanceof Error && typeof bad.code === 'string' && bad.errno < 0, String(bad));

// A closed socket: its methods say so.
const echo = net.listen({ port: 0 }, {
  data(socket, bytes) {
    if (bytes[0] === 0x21) throw new Error('thrown on purpose by a data handler');
    socket.write(bytes);
  },
});
const closed = await new Promise((resolve) => {
  net.connect({ port: echo.port }, { open: (s) => s.close(), close: resolve });
});
assert.equal(closed.state, 'closed');
assert.ok(closed.closed);
assert.equal(closed.write('x'), 'closed');
assert.equal(closed.end(), false);
assert.equal(closed.close(), false);
assert.equal(closed.pause(), false);
assert.equal(closed.resume(), false);
assert.equal(closed.setNoDelay(true), false);
assert.equal(closed.queued, 0);
assert.equal(closed.remoteAddress, undefined);
assert.equal(typeof closed.counters().closes, 'number');
assert.throws(() => closed.reload({}), /the socket is closed/);

// 'full': writes past the queue limit to a peer that does not read.
const sink = net.listen({ port: 0 }, { open: (s) => s.pause() });
const full = await new Promise((resolve) => {
  net.connect({ port: sink.port }, {
    open(socket) {
      assert.ok(socket.setQueueLimit(1 << 20));
      const chunk = new Uint8Array(1 << 16);
      for (let i = 0; i < 10000; i++) {
        const r = socket.write(chunk);
        if (r === 'full') return resolve({ r, queued: socket.queued, socket });
        assert.ok(r === 'written' || r === 'queued', r);
      }
      resolve({ r: 'never full' });
    },
  });
});
assert.equal(full.r, 'full');
assert.ok(full.queued > (1 << 20) - (1 << 16), `queued ${full.queued}`);
full.socket.close();
sink.close();

// A throwing handler closes its own socket; another connection of the same
// server goes on echoing.
const lines = [];
const saved = console.error;
console.error = (...args) => lines.push(args.map(String).join(' '));
function talk(first) {
  return new Promise((resolve) => {
    let got = '';
    net.connect({ port: echo.port }, {
      open: (s) => s.write(first),
      data(s, bytes) {
        got += new TextDecoder().decode(bytes);
        if (got === 'hello') s.write(' again');
        if (got === 'hello again') s.end();
      },
      close: (s, err) => resolve(got),
    });
  });
}
const [thrower, fine] = await Promise.all([talk('!boom'), talk('hello')]);
console.error = saved;
assert.equal(thrower, '', 'the throwing handler\'s socket was closed');
assert.equal(fine, 'hello again', 'the other connection went on');
assert.ok(lines.some((l) => /net data handler/.test(l)), lines.join('\n'));
assert.ok(lines.some((l) => /thrown on purpose/.test(l)), lines.join('\n'));
assert.ok(!echo.closed);
echo.close();
