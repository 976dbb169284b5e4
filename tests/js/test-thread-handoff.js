// A socket moves to another thread and keeps working there: this thread
// accepts TCP connections and hands each to an echo thread (handles
// option); 4 clients each send 1 MiB and get every byte back (checksums).
// A unix socket connection (a pipe) moves the same way.
// The acceptor's stream is closed once handed over; a handle that cannot
// move, or does not exist, is a TypeError that moves nothing; a paused
// server holding a connection is EBUSY.
import * as assert from './assert.js';
import * as net from 'net';
import { spawn } from 'thread';

const echo = spawn(async () => {
  const { parent } = await import('thread');
  const net = await import('net');
  let open = 0;
  parent.onMessage = (msg, handles) => {
    if (msg === 'stop') { parent.onMessage = null; return; }
    for (const id of handles) {
      open++;
      const buf = new Uint8Array(65536);
      net.readStart(id, buf, (n) => {
        if (n < 0) {
          net.shutdown(id, () => net.close(id, () => { open--; parent.send({ closed: id, open }); }));
          return;
        }
        if (net.write(id, buf, n) === net.QUEUED) {
          net.pause(id);
          net.onDrain(id, () => net.resume(id));
        }
      });
    }
    parent.send({ got: handles.length, kind: net.kind(handles[0]) });
  };
});

const moved = [];
const server = net.listen('127.0.0.1', 0, 64, (conn) => {
  assert.ok(conn > 0, `accept: ${conn}`);
  assert.equal(echo.send({ conn: 'yours' }, { handles: [conn] }), 0);
  moved.push(conn);
});
const { port } = net.address(server);

const replies = [];
const closedInThread = [];
echo.onMessage = (m) => (m.closed ? closedInThread.push(m.closed) : replies.push(m));

function fill(seed) {
  const data = new Uint8Array(1 << 20);
  let x = seed;
  for (let i = 0; i < data.length; i++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; data[i] = x >>> 24; }
  return data;
}
const hash = (u8, n = u8.length) => { let h = 0; for (let i = 0; i < n; i++) h = (Math.imul(h, 31) + u8[i]) | 0; return h; };

function client(seed) {
  return new Promise((resolve, reject) => {
    const data = fill(seed);
    const back = new Uint8Array(data.length);
    let got = 0;
    const c = net.connect('127.0.0.1', port, (status) => {
      if (status !== 0) return reject(new Error(`connect: ${status}`));
      const buf = new Uint8Array(65536);
      net.readStart(c, buf, (n) => {
        if (n < 0) {
          net.close(c);
          return resolve({ sent: hash(data), got: hash(back, got), bytes: got });
        }
        back.set(buf.subarray(0, n), got);
        got += n;
      });
      net.write(c, data, data.length);
      net.shutdown(c, () => {});
    });
  });
}

const results = await Promise.all([1, 2, 3, 4].map(client));
for (const r of results) {
  assert.equal(r.bytes, 1 << 20, 'every byte echoed');
  assert.equal(r.got, r.sent, 'checksum');
}
assert.equal(moved.length, 4);
for (const id of moved) assert.equal(net.kind(id), net.ECLOSED, 'the acceptor\'s stream is closed once moved');
assert.deepEqual(replies.map((r) => r.got), [1, 1, 1, 1]);
assert.equal(replies[0].kind, 'tcp');

// A unix socket connection moves too, and echoes 1 MiB intact.
const fs = await import('fs');
const path = `/tmp/dv8-test-thread-handoff-${dv8.pid}.sock`;
fs.rmSync(path, { force: true });
const unixServer = net.listenUnix(path, 8, (conn) => {
  assert.equal(net.kind(conn), 'pipe');
  assert.equal(echo.send({ conn: 'unix' }, { handles: [conn] }), 0);
});
assert.ok(unixServer > 0, `listenUnix: ${unixServer}`);
const unixResult = await new Promise((resolve, reject) => {
  const data = fill(99);
  const back = new Uint8Array(data.length);
  let got = 0;
  const c = net.connectUnix(path, (status) => {
    if (status !== 0) return reject(new Error(`connectUnix: ${status}`));
    const buf = new Uint8Array(65536);
    net.readStart(c, buf, (n) => {
      if (n < 0) { net.close(c); return resolve({ sent: hash(data), got: hash(back, got), bytes: got }); }
      back.set(buf.subarray(0, n), got);
      got += n;
    });
    net.write(c, data, data.length);
    net.shutdown(c, () => {});
  });
});
assert.equal(unixResult.bytes, 1 << 20);
assert.equal(unixResult.got, unixResult.sent, 'unix socket checksum');
assert.equal(replies[replies.length - 1].kind, 'pipe');
net.close(unixServer);
fs.rmSync(path, { force: true });

// A timer cannot move; a stale id is no handle; nothing moves either way.
const timers = await import('timers');
const timer = timers.start(() => {}, 100000, 0);
assert.throws(() => echo.send({}, { handles: [timer] }), /a timer cannot move/);
assert.throws(() => echo.send({}, { handles: [123456789] }), /no such handle/);
for (const bad of [NaN, 1.5, -1, 0, 2 ** 53, Infinity]) {
  assert.throws(() => echo.send({}, { handles: [bad] }), /no such handle/, `handles: [${bad}]`);
}
const other = net.listen('127.0.0.1', 0, 1, () => {});
assert.throws(() => echo.send({}, { handles: [other, other] }), /listed twice/);
assert.throws(() => echo.send({}, { handles: [other, timer] }), /cannot move/);
// A listening socket moves (tests/js/test-net-objects-thread-server.js),
// but not a paused one holding a connection libuv accepted ahead for it:
// EBUSY (it would be lost), and it stays.
net.pause(other);
const waiting = net.connect('127.0.0.1', net.address(other).port, () => {});
await new Promise((resolve) => setTimeout(resolve, 100));
assert.equal(echo.send({}, { handles: [other] }), -16);
assert.ok(net.kind(other) !== net.ECLOSED, 'still here after a refused move');
net.close(waiting);
timers.clear(timer);
net.close(other);
net.close(server);
echo.send('stop');
await new Promise((resolve) => { echo.onExit = (code) => resolve(assert.equal(code, 0)); });
