// TCP streams: local and peer addresses (IPv4 and IPv6), options, half-close
// (the peer can still send after our shutdown), pause and resume.
import * as assert from './assert.js';
import * as net from 'net';

const server = net.listen('127.0.0.1', 0, 8, (conn) => {
  assert.equal(net.setNoDelay(conn, true), 0);
  assert.equal(net.setKeepAlive(conn, true, 30), 0);
  const buf = new Uint8Array(1024);
  const got = [];
  net.readStart(conn, buf, (n) => {
    if (n > 0) return got.push(...buf.subarray(0, n));
    // The client half-closed: answer after its EOF, then close.
    assert.equal(n, net.EOF);
    net.write(conn, new TextEncoder().encode(`got ${got.length} bytes`));
    net.shutdown(conn, () => net.close(conn));
  });
});
const port = net.address(server).port;
assert.deepEqual(net.address(server), { family: 'IPv4', address: '127.0.0.1', port });
assert.equal(net.kind(server), 'tcp');

const reply = await new Promise((resolve) => {
  const sock = net.connect('localhost', port, (status) => {
    assert.equal(status, 0);
    assert.deepEqual(net.peer(sock), { family: 'IPv4', address: '127.0.0.1', port });
    assert.equal(net.address(sock).address, '127.0.0.1');
    const buf = new Uint8Array(64);
    let text = '';
    assert.equal(net.readStart(sock, buf, (n) => {
      if (n > 0) return (text += new TextDecoder().decode(buf.subarray(0, n)));
      net.close(sock);
      resolve(text);
    }), 0);
    // Paused reads wait in the kernel.
    assert.equal(net.pause(sock), 0);
    assert.equal(net.write(sock, new Uint8Array(100)), net.DONE);
    net.shutdown(sock, (st) => assert.equal(st, 0));
    assert.equal(net.write(sock, new Uint8Array(1)), net.EPIPE, 'no writes after shutdown');
    setTimeout(() => assert.equal(net.resume(sock), 0), 50);
  });
});
assert.equal(reply, 'got 100 bytes');
net.close(server);

// IPv6 loopback, where the machine has it.
const v6 = net.listen('::1', 0, 8, (conn) => net.close(conn));
if (v6 > 0) {
  assert.equal(net.address(v6).family, 'IPv6');
  assert.equal(net.address(v6).address, '::1');
  const st = await new Promise((resolve) => net.connect('::1', net.address(v6).port, resolve));
  assert.equal(st, 0);
  net.close(v6);
}
