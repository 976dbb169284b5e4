// Expected failures are codes, never crashes: connection refused, address
// in use, writing to a closed peer, a closed stream id; programmer errors
// throw TypeError or RangeError.
import * as assert from './assert.js';
import * as net from 'net';

// Address in use, and a refused connection once the server is gone.
const server = net.listen('127.0.0.1', 0, 16, () => {});
assert.ok(server > 0, `listen: ${server}`);
const { port } = net.address(server);
assert.ok(port > 0);
assert.equal(net.listen('127.0.0.1', port, 16, () => {}), net.EADDRINUSE);
await new Promise((resolve) => net.close(server, resolve));
const status = await new Promise((resolve) => net.connect('127.0.0.1', port, resolve));
assert.equal(status, net.ECONNREFUSED);
assert.equal(net.errname(status), 'ECONNREFUSED');

// Writing to a peer that has closed: EPIPE or ECONNRESET, as a code.
const closer = net.listen('127.0.0.1', 0, 16, (conn) => net.close(conn));
const cport = net.address(closer).port;
const result = await new Promise((resolve) => {
  const sock = net.connect('127.0.0.1', cport, (st) => {
    assert.equal(st, 0);
    const chunk = new Uint8Array(65536);
    const tryWrite = () => {
      for (let i = 0; i < 1000; i++) {
        const r = net.write(sock, chunk);
        if (r < 0 && r !== net.EFULL) return resolve(r);
        if (r === net.QUEUED || r === net.EFULL) return; // wait for drain
      }
      setTimeout(tryWrite, 5);
    };
    net.onDrain(sock, (st2) => (st2 < 0 ? resolve(st2) : tryWrite()));
    setTimeout(tryWrite, 20);
  });
});
assert.ok(result === net.EPIPE || result === net.ECONNRESET, `got ${net.errname(result)}`);
net.close(closer);

// A stream id that is not (or no longer) open.
assert.equal(net.write(999999, new Uint8Array(1)), net.ECLOSED);
assert.equal(net.pause(999999), net.ECLOSED);
assert.equal(net.close(999999), net.ECLOSED);

// Programmer errors.
assert.throws(() => net.listen(1, 2, 3, () => {}), TypeError);
assert.throws(() => net.listen('127.0.0.1', 70000, 1, () => {}), RangeError);
assert.throws(() => net.listen('127.0.0.1', 0, 1, 'not a function'), TypeError);
assert.throws(() => net.connect('127.0.0.1', 'x', () => {}), TypeError);
const stdout = net.open(1);
assert.throws(() => net.write(stdout, 'a string'), TypeError);
assert.throws(() => net.write(stdout, new Uint8Array(4), 5), RangeError);
assert.throws(() => net.readStart(stdout, new Uint8Array(0), () => {}), RangeError);
assert.throws(() => net.open(-1), RangeError);
assert.equal(net.connect('no such host name.invalid', 80, () => {}) < 0, true, 'unresolvable host');
