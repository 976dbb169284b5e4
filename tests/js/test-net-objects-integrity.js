// Server and Socket objects carry every byte: 8 clients each send 4 MiB of
// pseudo-random bytes through an echo server written with net's objects,
// in writes of varying sizes with back-pressure (pause on 'queued', resume
// on drain, on both sides); a checksum of what each sent and of what came
// back must agree, as must the sockets' byte counters. A unix socket
// carries one more client the same way.
import * as assert from './assert.js';
import * as net from 'net';
import { rmSync } from 'fs';

const CLIENTS = 8;
const BYTES = 4 << 20;

function sum(h, bytes) {
  for (let i = 0; i < bytes.length; i++) h = (Math.imul(h ^ bytes[i], 16777619) >>> 0);
  return h;
}

const echo = {
  data(socket, bytes) {
    if (socket.write(bytes) === 'queued') socket.pause();
  },
  drain(socket) {
    socket.resume();
  },
};

function client(options) {
  return new Promise((resolve, reject) => {
    let seed = Math.floor(Math.random() * 1e9);
    const chunk = new Uint8Array(50000);
    let sent = 0;
    let sentSum = 2166136261;
    let gotSum = 2166136261;
    let got = 0;
    const pump = (socket) => {
      while (sent < BYTES) {
        const n = Math.min(BYTES - sent, 1 + (seed % chunk.length));
        for (let i = 0; i < n; i++) chunk[i] = (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
        const view = chunk.subarray(0, n);
        sentSum = sum(sentSum, view);
        sent += n;
        const r = socket.write(view);
        if (r === 'queued') return;
        assert.equal(r, 'written');
      }
      socket.end();
    };
    net.connect(options, {
      open: pump,
      drain: pump,
      data(socket, bytes) {
        got += bytes.length;
        gotSum = sum(gotSum, bytes);
      },
      end() {},
      error(socket, err) {
        reject(err);
      },
      close(socket, err) {
        if (err !== undefined) return reject(err);
        assert.equal(got, BYTES, 'bytes back');
        assert.equal(gotSum, sentSum, 'checksum');
        assert.equal(socket.bytesRead, BYTES, 'bytesRead');
        assert.equal(socket.bytesWritten, BYTES, 'bytesWritten');
        resolve();
      },
    });
  });
}

const server = net.listen({ host: '127.0.0.1', port: 0 }, echo);
assert.ok(server instanceof net.Server);
assert.ok(server.port > 0);
const clients = [];
for (let i = 0; i < CLIENTS; i++) clients.push(client({ host: '127.0.0.1', port: server.port }));
await Promise.all(clients);

const path = `/tmp/dv8-objects-${dv8.pid}.sock`;
const unix = net.listen({ path }, echo);
await client({ path });
assert.ok(server.close());
assert.equal(server.close(), false, 'closed twice');
unix.close();
rmSync(path, { force: true });
