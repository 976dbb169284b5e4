// A Socket moves to another thread and is a Socket there: a server made
// with net's objects hands each connection to an echo thread by putting
// the Socket in the message (send({ socket })); it arrives in the thread's
// onMessage value as a Socket, unbound, and socket.reload(handlers) binds
// it, as after a reload. 4 clients each send 1 MiB and get every byte back
// (checksums). The sender's Socket reports it moved and is unusable.
import * as assert from './assert.js';
import * as net from 'net';
import { spawn } from 'thread';

const echo = spawn(async () => {
  const { parent } = await import('thread');
  const net = await import('net');
  const echoing = {
    data(s, bytes) { if (s.write(bytes) === 'queued') s.pause(); },
    drain(s) { s.resume(); },
  };
  parent.onMessage = (msg, handles) => {
    if (msg === 'stop') { parent.onMessage = null; return; }
    const { socket } = msg;
    const arrived = { socket: socket instanceof net.Socket, state: socket.state, handles: handles.length };
    socket.reload(echoing);
    // The id in handles names the same Socket.
    parent.send({ ...arrived, same: net.adopt(handles[0], echoing) === socket });
  };
});

const moved = [];
const server = net.listen({ port: 0 }, {
  open(socket) {
    assert.equal(echo.send({ socket }), 0);
    moved.push(socket);
  },
});
const replies = [];
echo.onMessage = (m) => replies.push(m);

const hash = (u8, n = u8.length) => { let h = 0; for (let i = 0; i < n; i++) h = (Math.imul(h, 31) + u8[i]) | 0; return h; };
function client(seed) {
  return new Promise((resolve, reject) => {
    const data = new Uint8Array(1 << 20);
    let x = seed;
    for (let i = 0; i < data.length; i++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; data[i] = x >>> 24; }
    const back = new Uint8Array(data.length);
    let got = 0;
    net.connect({ port: server.port }, {
      open(s) {
        s.write(data);
        s.end();
      },
      data(s, bytes) {
        back.set(bytes, got);
        got += bytes.length;
      },
      error: (s, err) => reject(err),
      close: () => resolve({ sent: hash(data), got: hash(back, got), bytes: got }),
    });
  });
}

const results = await Promise.all([1, 2, 3, 4].map(client));
for (const r of results) {
  assert.equal(r.bytes, 1 << 20, 'every byte echoed');
  assert.equal(r.got, r.sent, 'checksum');
}
assert.equal(moved.length, 4);
for (const s of moved) {
  assert.equal(s.state, 'moved', 'the sender\'s Socket reports it moved');
  assert.equal(s.moved, true);
  assert.equal(s.closed, true);
  assert.equal(s.write('x'), 'closed');
  assert.equal(s.end(), false);
  assert.equal(s.close(), false);
  assert.equal(s.pause(), false);
  assert.equal(s.queued, 0);
  assert.equal(s.remoteAddress, undefined);
  assert.equal(s.counters(), null);
  assert.throws(() => s.reload({}), /Socket.reload: the socket has moved to another thread/);
  assert.throws(() => echo.send({ s }), /value.s: a moved handle cannot be serialized: it went to another thread/);
}
// The thread got Sockets, unbound (open), the handle named in its
// handles list too (adopt(id) gives the same object).
assert.deepEqual(replies, [1, 2, 3, 4].map(() => ({ socket: true, state: 'open', handles: 1, same: true })));
server.close();
echo.send('stop');
await new Promise((resolve) => { echo.onExit = (code) => resolve(assert.equal(code, 0)); });
