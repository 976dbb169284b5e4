// Run: build/dv8 examples/echo.js PORT [HOST]   (HOST defaults to 127.0.0.1)
//      then: build/dv8 examples/netcat.js 127.0.0.1 PORT
//      (DV8_COUNTERS=1 prints each connection's counters when it closes)
//      Reloadable: kill -HUP <pid>, `build/dv8 reload <pid>`, or run it with
//      --watch and edit this file: every connection is kept.
// Shows: a TCP echo server with net's objects. Each connection is a Socket
// reading into its own buffer; what is read is written back, with
// back-pressure (pause when a write is queued, resume on drain). When a
// client half-closes, the server finishes echoing, then closes that
// connection. On a reload the Server and its Sockets are handed to the new
// code in the state, as objects, and bound to its handlers (unload/load).
import * as net from 'net';
import { report } from './lib/stats.js';

const port = Number(dv8.args[0]);
if (!Number.isInteger(port)) {
  console.error('usage: echo.js PORT [HOST]');
  dv8.exit(2);
}

let server;
const sockets = new Set();

const handlers = {
  open(socket) {
    sockets.add(socket);
  },
  data(socket, bytes) {
    if (socket.write(bytes) === 'queued') socket.pause();
  },
  drain(socket) {
    // Resumed whether or not this code paused it: after a reload the
    // socket may have been paused by the code before.
    socket.resume();
  },
  // No end handler: when the client half-closes, the socket ends in turn
  // once its queued writes are out (the client reads EOF), then closes.
  close(socket, err) {
    sockets.delete(socket);
    if (err !== undefined && err.code !== 'ECONNRESET') console.error(`echo: connection: ${err.message}`);
    report('connection', socket.counters());
  },
  error(target, err) {
    if (target === server) console.error(`echo: accept: ${err.message}`);
  },
};

export function load(state) {
  if (state !== undefined) {
    server = state.server.reload(handlers);
    for (const socket of state.sockets) sockets.add(socket.reload(handlers));
    console.log(`echo: reloaded, ${sockets.size} connections kept`);
    return;
  }
  try {
    server = net.listen({ host: dv8.args[1] ?? '127.0.0.1', port }, handlers);
  } catch (err) {
    console.error(`echo: listen on port ${port}: ${err.message}`);
    dv8.exit(1);
    return;
  }
  const addr = server.address;
  console.log(`echo server on ${addr.address}:${addr.port}`);
}

export function unload() {
  return { server, sockets: [...sockets] };
}
