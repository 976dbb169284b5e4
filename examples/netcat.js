// Run: build/dv8 examples/netcat.js HOST PORT     connect, like nc -N
//      build/dv8 examples/netcat.js -l PORT [HOST] listen (127.0.0.1 by
//                                                  default), one connection
//      (DV8_COUNTERS=1 prints the counters of stdin, stdout and the socket)
// Shows: stdin to the socket and the socket to stdout, both with
// back-pressure. At the end of stdin the socket is half-closed (shutdown);
// dv8 exits once the peer has closed its side and stdout is flushed.
import * as net from 'net';
import { pump, EOF } from './lib/pump.js';
import { closeAndReport } from './lib/stats.js';

const args = dv8.args;
const usage = 'usage: netcat.js HOST PORT | netcat.js -l PORT [HOST]';
if (args.length < 2) {
  console.error(usage);
  dv8.exit(2);
}

function fail(what, code) {
  console.error(`netcat: ${what}: ${net.errname(code)} (${net.strerror(code)})`);
  dv8.exit(1);
}

function run(sock) {
  const stdin = net.open(0);
  const stdout = net.open(1);
  let open = 2; // directions still moving: stdin->sock, sock->stdout
  const directionDone = () => {
    if (--open > 0) return;
    closeAndReport('socket', sock);
    closeAndReport('stdin', stdin);
    closeAndReport('stdout', stdout);
  };
  pump(stdin, sock, (code) => {
    if (code !== EOF) fail('reading stdin or writing the socket', code);
    // Half-close once everything queued has gone: the peer reads EOF.
    net.shutdown(sock, (status) => {
      if (status < 0) fail('shutdown', status);
      directionDone();
    });
  });
  pump(sock, stdout, (code) => {
    if (code !== EOF) fail('reading the socket or writing stdout', code);
    if (net.queued(stdout) > 0) net.onDrain(stdout, directionDone);
    else directionDone();
  });
}

if (args[0] === '-l') {
  const port = Number(args[1]);
  const server = net.listen(args[2] ?? '127.0.0.1', port, 1, (id) => {
    if (id < 0) fail('accept', id);
    net.close(server); // one connection, like nc -l
    run(id);
  });
  if (server < 0) fail(`listen on port ${port}`, server);
} else {
  const sock = net.connect(args[0], Number(args[1]), (status) => {
    if (status < 0) fail(`connect to ${args[0]}:${args[1]}`, status);
    run(sock);
  });
  if (sock < 0) fail(`connect to ${args[0]}:${args[1]}`, sock);
}
