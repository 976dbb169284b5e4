// Run: build/dv8 examples/netcat.js HOST PORT     connect, like nc -N
//      build/dv8 examples/netcat.js -l PORT [HOST] listen (127.0.0.1 by
//                                                  default), one connection
//      (DV8_COUNTERS=1 prints the counters of stdin, stdout and the socket)
// Shows: net's objects: stdin to the Socket and the Socket to stdout, both
// with back-pressure (a queued write pauses the reader until the writer's
// drain). At the end of stdin the socket is half-closed (socket.end()); dv8
// exits once the peer has closed its side and stdout is flushed.
import * as net from 'net';
import { report } from './lib/stats.js';

const args = dv8.args;
const usage = 'usage: netcat.js HOST PORT | netcat.js -l PORT [HOST]';
if (args.length < 2) {
  console.error(usage);
  dv8.exit(2);
}

function fail(what, err) {
  console.error(`netcat: ${what}: ${err.code} (${net.strerror(err.errno)})`);
  dv8.exit(1);
}

let stdin;
let stdout;
let closed = false; // the socket: stdout closes once it has drained

// The socket's handlers, for connect and for the one connection accepted.
const handlers = {
  open(socket) {
    if (server !== undefined) server.close(); // one connection, like nc -l
    stdout = net.open(1, {
      drain() {
        if (closed) stdout.close();
        else socket.resume();
      },
      error: (s, err) => fail('writing stdout', err),
      close: (s) => report('stdout', s.counters()),
    }, { read: false });
    stdin = net.open(0, {
      data(s, bytes) {
        if (socket.write(bytes) === 'queued') s.pause(); // until the socket drains
      },
      // Half-close once everything queued has gone: the peer reads EOF.
      end(s) {
        socket.end();
        s.close();
      },
      error: (s, err) => fail('reading stdin', err),
      close: (s) => report('stdin', s.counters()),
    });
  },
  data(socket, bytes) {
    if (stdout.write(bytes) === 'queued') socket.pause(); // until stdout drains
  },
  drain() {
    stdin.resume();
  },
  end() {}, // the peer is done sending; the socket closes once we are too
  error(socket, err) {
    fail(stdin === undefined ? `connect to ${args[0]}:${args[1]}` : 'the connection', err);
  },
  close(socket) {
    report('socket', socket.counters());
    closed = true;
    if (stdout.queued === 0) stdout.close(); // else at its drain
  },
};

let server;
try {
  if (args[0] === '-l') {
    server = net.listen({ host: args[2] ?? '127.0.0.1', port: Number(args[1]), backlog: 1 }, handlers);
  } else {
    net.connect({ host: args[0], port: Number(args[1]) }, handlers);
  }
} catch (err) {
  fail(`listen on port ${args[1]}`, err);
}
