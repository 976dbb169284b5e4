// Run: build/dv8 examples/acceptor.js PORT [WORKERS]   (WORKERS defaults to 2)
//      then, a few times: build/dv8 examples/netcat.js 127.0.0.1 PORT
// Shows: one thread accepts TCP connections and hands each to one of
// WORKERS echo threads, in turn. A connection moves by sending its Socket
// in a message (send({ socket })): its descriptor is reopened in the
// worker's own loop and the message arrives there with a Socket, unbound,
// which socket.reload(handlers) binds (as after a reload); the worker
// echoes with back-pressure until the client half-closes. Each worker
// reports when it takes and ends a connection.
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
  const handlers = {
    data(socket, bytes) {
      if (socket.write(bytes) === 'queued') socket.pause(); // until drain
    },
    drain(socket) {
      socket.resume();
    },
    // No end handler: once the client has half-closed, the socket ends
    // too (after what is queued) and closes.
    close(socket) {
      parent.send(`worker ${index}: connection done, ${socket.counters().bytes_read} bytes echoed`);
    },
  };
  parent.onMessage = ({ socket }) => {
    socket.reload(handlers);
    parent.send(`worker ${index}: took connection from ${socket.remoteAddress}:${socket.remotePort}`);
  };
}

const workers = Array.from({ length: count }, (_, i) => {
  const t = spawn(echoWorker, { args: [i] });
  t.onMessage = (line) => console.log(line);
  t.onExit = (code, result, error) => console.error(`worker ${i} ended (${code})`, error || '');
  return t;
});

let next = 0;
let server;
try {
  server = net.listen({ host: '127.0.0.1', port }, {
    open(socket) {
      // The Socket here is moved once sent (socket.moved): the worker has
      // the connection.
      const rc = workers[next].send({ socket });
      if (rc !== 0) {
        console.error(`cannot hand the connection to worker ${next}: ${rc}`);
        socket.close();
      }
      next = (next + 1) % workers.length;
    },
    error(s, err) {
      console.error(`accept: ${err.code}`);
    },
  });
} catch (err) {
  console.error(`listen: ${err.code}`);
  dv8.exit(1);
}
console.log(`listening on 127.0.0.1:${server.port} with ${count} echo threads`);
