// A paused server accepts nothing: connections wait in the kernel's accept
// queue (clients connect, their bytes are kept) and are delivered, intact,
// once it resumes.
import * as assert from './assert.js';
import * as net from 'net';

const accepted = [];
const received = new Map();
const server = net.listen('127.0.0.1', 0, 16, (conn) => {
  accepted.push(conn);
  const buf = new Uint8Array(64);
  let text = '';
  net.readStart(conn, buf, (n) => {
    if (n > 0) return (text += new TextDecoder().decode(buf.subarray(0, n)));
    received.set(conn, text);
    net.close(conn);
  });
});
const port = net.address(server).port;
assert.equal(net.pause(server), 0);

const clients = 3;
let connected = 0;
for (let i = 0; i < clients; i++) {
  const sock = net.connect('127.0.0.1', port, (status) => {
    assert.equal(status, 0, 'the kernel completes the handshake while paused');
    connected++;
    net.write(sock, new TextEncoder().encode(`client ${i}`));
    net.shutdown(sock, () => net.close(sock));
  });
}
await new Promise((resolve) => setTimeout(resolve, 100));
assert.equal(connected, clients);
assert.equal(accepted.length, 0, 'nothing accepted while paused');

assert.equal(net.resume(server), 0);
await new Promise((resolve) => {
  const check = setInterval(() => {
    if (received.size === clients) {
      clearInterval(check);
      resolve();
    }
  }, 5);
});
assert.deepEqual([...received.values()].sort(), ['client 0', 'client 1', 'client 2']);
const c = net.counters(server);
assert.equal(c.events, clients, 'one accept per connection');
assert.equal(c.pauses, 1);
net.close(server);
