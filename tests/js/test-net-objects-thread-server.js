// A Server moves to another thread and accepts there: put in a message
// (send({ server })), it arrives in the thread's onMessage value as a
// Server, and server.reload(handlers) binds it; connections made while it
// travelled wait in the kernel and are accepted there. Clients' bytes come
// back echoed by the thread (checksums). The sender's Server reports it
// moved. Also: a closed Socket, a moved one and a timer cannot be sent (a
// clear error, and nothing is sent); an id sent in handles is still made a
// Socket with net.adopt(id, handlers).
import * as assert from './assert.js';
import * as net from 'net';
import { spawn } from 'thread';

const worker = spawn(async () => {
  const { parent } = await import('thread');
  const net = await import('net');
  const echo = {
    data(s, bytes) { if (s.write(bytes) === 'queued') s.pause(); },
    drain(s) { s.resume(); },
  };
  let server;
  parent.onMessage = (msg, handles) => {
    if (msg === 'stop') {
      server?.close();
      parent.onMessage = null;
      return;
    }
    if (msg.server !== undefined) {
      server = msg.server;
      const isServer = server instanceof net.Server;
      server.reload(echo);
      parent.send({ isServer, port: server.port, threadAccepts: true });
    } else if (msg.ids) {
      for (const id of handles) net.adopt(id, echo);
      parent.send({ adopted: handles.length });
    }
  };
});
const replies = [];
let wake = null;
worker.onMessage = (m) => { replies.push(m); wake?.(); };
const reply = () => new Promise((resolve) => { wake = resolve; });

const hash = (u8, n = u8.length) => { let h = 0; for (let i = 0; i < n; i++) h = (Math.imul(h, 31) + u8[i]) | 0; return h; };
function client(port, seed) {
  return new Promise((resolve, reject) => {
    const data = new Uint8Array(256 * 1024);
    let x = seed;
    for (let i = 0; i < data.length; i++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; data[i] = x >>> 24; }
    const back = new Uint8Array(data.length);
    let got = 0;
    net.connect({ port }, {
      open(s) { s.write(data); s.end(); },
      data(s, bytes) { back.set(bytes, got); got += bytes.length; },
      error: (s, err) => reject(err),
      close: () => resolve({ sent: hash(data), got: hash(back, got), bytes: got }),
    });
  });
}

// The server: never accepts here (its handler would throw).
const server = net.listen({ port: 0 }, { open() { throw new Error('accepted on the main thread'); } });
const port = server.port;
// A client connecting while the server travels: it waits in the kernel.
const early = client(port, 7);
let answer = reply();
assert.equal(worker.send({ server }), 0);
assert.equal(server.closed, true);
assert.equal(server.moved, true);
assert.equal(server.address, undefined);
assert.equal(server.close(), false);
assert.equal(server.pause(), false);
assert.equal(String(server), `Server(${server.id}, moved)`);
assert.throws(() => server.reload({}), /Server.reload: the server has moved to another thread/);
await answer;
assert.deepEqual(replies.shift(), { isServer: true, port, threadAccepts: true });
const results = await Promise.all([early, client(port, 1), client(port, 2), client(port, 3)]);
for (const r of results) {
  assert.equal(r.bytes, 256 * 1024, 'every byte echoed by the thread');
  assert.equal(r.got, r.sent, 'checksum');
}

// Bad cases: clear errors, nothing sent, nothing moved.
const local = net.listen({ port: 0 }, {});
const closed = await new Promise((resolve) => {
  net.connect({ port: local.port }, { open(s) { s.close(); }, close: (s) => resolve(s) });
});
assert.equal(closed.state, 'closed');
const err = assert.throws(() => worker.send({ socket: closed }), /value.socket: a closed handle cannot be serialized/);
assert.equal(err.name, 'SerdesError');
const timers = await import('timers');
const timeout = setTimeout(() => {}, 100000);
assert.throws(() => worker.send({ timeout }), /a timer cannot move/);
clearTimeout(timeout);

// The id form: a raw connection's id in handles, adopt(id) in the thread.
const ids = [];
const rawServer = net.listen('127.0.0.1', 0, 8, (id) => {
  ids.push(id);
  answer = reply();
  assert.equal(worker.send({ ids: true }, { handles: [id] }), 0);
});
const viaIds = await client(net.address(rawServer).port, 9);
assert.equal(viaIds.got, viaIds.sent, 'checksum through an adopted id');
await answer;
assert.deepEqual(replies.shift(), { adopted: 1 });
assert.equal(net.kind(ids[0]), net.ECLOSED, 'the id is gone here');
net.close(rawServer);
local.close();
void timers;
worker.send('stop');
await new Promise((resolve) => { worker.onExit = (code) => resolve(assert.equal(code, 0)); });
