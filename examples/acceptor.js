// Run: build/dv8 examples/acceptor.js PORT [WORKERS]   (WORKERS defaults to 2)
//      then, a few times: build/dv8 examples/netcat.js 127.0.0.1 PORT
// Shows: one thread accepts TCP connections and hands each to one of
// WORKERS echo threads, in turn. A connection moves as a handle (send's
// handles option): its descriptor is reopened in the worker's own loop,
// and the worker echoes with back-pressure until the client half-closes.
// Each worker reports when it takes and ends a connection.
import * as net from 'net';
import { spawn } from 'thread';

const port = Number(dv8.args[0]);
const count = Number(dv8.args[1] || 2);
if (!Number.isInteger(port) || !Number.isInteger(count) || count < 1) {
  console.error('usage: dv8 examples/acceptor.js PORT [WORKERS]');
  dv8.exit(2);
}

// Each worker: echo every connection it is given. Only the source of this
// function goes to the thread: it imports what it needs.
async function echoWorker(index) {
  const { parent } = await import('thread');
  const net = await import('net');
  parent.onMessage = (msg, handles) => {
    for (const conn of handles) {
      parent.send(`worker ${index}: took connection from ${net.peer(conn).address}:${net.peer(conn).port}`);
      const buf = new Uint8Array(65536);
      net.onDrain(conn, () => net.resume(conn));
      net.readStart(conn, buf, (n) => {
        if (n < 0) {
          net.shutdown(conn, () => net.close(conn, (c) => parent.send(`worker ${index}: connection done, ${c.bytes_read} bytes echoed`)));
          return;
        }
        if (net.write(conn, buf, n) === net.QUEUED) net.pause(conn);
      });
    }
  };
}

const workers = Array.from({ length: count }, (_, i) => {
  const t = spawn(echoWorker, { args: [i] });
  t.onMessage = (line) => console.log(line);
  t.onExit = (code, result, error) => console.error(`worker ${i} ended (${code})`, error || '');
  return t;
});

let next = 0;
const server = net.listen('127.0.0.1', port, 511, (conn) => {
  if (conn < 0) return console.error(`accept: ${net.errname(conn)}`);
  const rc = workers[next].send('connection', { handles: [conn] });
  if (rc !== 0) {
    console.error(`cannot hand the connection to worker ${next}: ${rc}`);
    net.close(conn);
  }
  next = (next + 1) % workers.length;
});
if (server < 0) {
  console.error(`listen: ${net.errname(server)}`);
  dv8.exit(1);
}
console.log(`listening on 127.0.0.1:${net.address(server).port} with ${count} echo threads`);
