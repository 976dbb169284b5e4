// Reads that one poll finds on several sockets reach JS in one batch
// (slot_post): a socket closed or moved by an earlier handler of the same
// batch. 8 clients write at once, so the server's next poll finds all 8
// readable. The first data handler closes the other sockets: none of them
// gets a data call after its close, though each had read its bytes (the
// read counter says so: the batch held them). Then 2 more: the first
// handler moves the other socket to a thread while its read waits in the
// batch: the send is refused with EBUSY (its bytes would stay behind),
// the socket gets its data here, and moves on the next try, where it
// echoes from the thread.
import * as assert from './assert.js';
import * as net from 'net';
import { spawn } from 'thread';

const EBUSY = -16;

function connectAll(server, n) {
  return Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const got = [];
    net.connect({ port: server.port }, {
      open: (s) => resolve({ s, got }),
      data: (s, bytes) => got.push(new TextDecoder().decode(bytes)),
      error: (s, err) => reject(err),
    });
  })));
}
const tick = () => new Promise((r) => setTimeout(r, 20));

// ---- closed within the batch ----
{
  const opened = [];
  const calls = [];
  let closer = null;
  const closedByCloser = new Set();
  const server = net.listen({ port: 0 }, {
    open: (s) => opened.push(s),
    data(s, bytes) {
      calls.push({ s, closed: closedByCloser.has(s), text: new TextDecoder().decode(bytes) });
      if (closer !== null) return;
      closer = s;
      for (const o of opened) if (o !== s) { o.close(); closedByCloser.add(o); }
    },
  });
  const clients = await connectAll(server, 8);
  while (opened.length < 8) await tick();
  clients.forEach(({ s }, i) => s.write(`hello ${i}`));
  while (calls.length === 0) await tick();
  await tick();
  assert.equal(calls.filter((c) => c.closed).length, 0, 'no data call after close');
  assert.equal(calls.length, 1, `only the first handler's socket got data: ${calls.map((c) => c.text)}`);
  const readButDropped = [...closedByCloser].filter((s) => s.counters().reads === 1).length;
  assert.equal(readButDropped, 7, 'the 7 closed sockets had read their bytes in the same poll');
  assert.ok(/^hello [0-7]$/.test(calls[0].text), calls[0].text);
  for (const { s } of clients) s.close();
  server.close();
}

// ---- moved within the batch ----
{
  const echo = spawn(async () => {
    const { parent } = await import('thread');
    await import('net'); // sockets in messages arrive as Sockets
    parent.onMessage = (msg) => {
      if (msg === 'stop') { parent.onMessage = null; return; }
      const { socket } = msg;
      socket.reload({ data: (s, bytes) => s.write(bytes) });
      parent.send('moved');
    };
  });
  const movedReplies = [];
  echo.onMessage = (m) => movedReplies.push(m);
  const opened = [];
  const data = [];
  const sends = [];
  const server = net.listen({ port: 0 }, {
    open: (s) => opened.push(s),
    data(s, bytes) {
      data.push({ s, text: new TextDecoder().decode(bytes) });
      if (data.length === 1) {
        const other = opened.find((o) => o !== s);
        sends.push(echo.send({ socket: other }));
        setImmediate(() => sends.push(echo.send({ socket: other })));
      }
    },
  });
  const clients = await connectAll(server, 2);
  while (opened.length < 2) await tick();
  clients.forEach(({ s }, i) => s.write(`ping ${i}`));
  while (movedReplies.length === 0) await tick();
  assert.deepEqual(sends, [EBUSY, 0], 'refused while its read waited, moved on the next try');
  assert.equal(data.length, 2, 'both reads reached the handlers here');
  assert.deepEqual(data.map((d) => d.text).sort(), ['ping 0', 'ping 1']);
  // The moved socket echoes from the thread.
  const client = clients[Number(data[1].text.split(' ')[1])];
  client.s.write('via thread');
  while (client.got.length === 0) await tick();
  assert.equal(client.got.join(''), 'via thread');
  for (const { s } of clients) s.close();
  server.close();
  echo.send('stop');
  await echo.join();
}
console.log('ok');
