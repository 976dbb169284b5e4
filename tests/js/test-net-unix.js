// Unix domain sockets: listen on a path, connect, bytes both ways, the
// socket's path as its address; a second listen on the path is EADDRINUSE.
import * as assert from './assert.js';
import * as net from 'net';
import * as fs from 'fs';

const path = `/tmp/dv8-test-net-unix-${dv8.pid}.sock`;
fs.rmSync(path, { force: true });
const message = new TextEncoder().encode('hello over a unix socket');
const server = net.listenUnix(path, 8, (conn) => {
  const buf = new Uint8Array(64);
  net.readStart(conn, buf, (n) => {
    if (n > 0) return net.write(conn, buf, n);
    net.close(conn);
  });
});
assert.ok(server > 0, `listenUnix: ${server}`);
assert.deepEqual(net.address(server), { path });
assert.equal(net.kind(server), 'pipe');
assert.equal(net.listenUnix(path, 8, () => {}), net.EADDRINUSE);

const echoed = await new Promise((resolve, reject) => {
  const sock = net.connectUnix(path, (status) => {
    if (status < 0) return reject(new Error(net.errname(status)));
    const got = [];
    const buf = new Uint8Array(8); // smaller than the message: several reads
    net.readStart(sock, buf, (n) => {
      if (n > 0) {
        got.push(...buf.subarray(0, n));
        if (got.length === message.length) net.shutdown(sock);
        return;
      }
      net.close(sock);
      resolve(new Uint8Array(got));
    });
    assert.equal(net.write(sock, message), net.DONE);
  });
});
assert.equal(new TextDecoder().decode(echoed), 'hello over a unix socket');
const missing = await new Promise((resolve) => net.connectUnix(`${path}.missing`, resolve));
assert.equal(missing, -2, 'ENOENT for a missing socket path');
net.close(server);
fs.rmSync(path, { force: true });
