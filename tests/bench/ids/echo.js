// The id-API version of examples/echo.js (as it was before the object layer),
// kept for make bench: tests/bench/net-peers runs both side by side.
// Run: build/dv8 examples/echo.js PORT [HOST]   (HOST defaults to 127.0.0.1)
//      then: build/dv8 examples/netcat.js 127.0.0.1 PORT
//      (DV8_COUNTERS=1 prints each connection's counters when it closes)
//      Reloadable: kill -HUP <pid>, `build/dv8 reload <pid>`, or run it with
//      --watch and edit this file: every connection is kept.
// Shows: a TCP echo server. Each connection gets one buffer; what is read is
// written back, with back-pressure. When a client half-closes, the server
// finishes echoing, then closes that connection. On a reload the server
// and its connections are handed to the new code (unload/load).
import * as net from 'net/raw';
import { pump, EOF } from '../../../examples/lib/pump.js';
import { closeAndReport } from '../../../examples/lib/stats.js';

const port = Number(dv8.args[0]);
if (!Number.isInteger(port)) {
  console.error('usage: echo.js PORT [HOST]');
  dv8.exit(2);
}

let server;
const conns = new Set();

function serve(conn) {
  conns.add(conn);
  pump(conn, conn, (code) => {
    conns.delete(conn);
    if (code !== EOF && code !== net.ECONNRESET) {
      console.error(`echo: connection: ${net.errname(code)}`);
    }
    // shutdown waits for queued writes, then the client reads EOF.
    const closeIt = () => {
      closeAndReport('connection', conn);
    };
    if (code === EOF && net.shutdown(conn, closeIt) === 0) return;
    closeIt();
  });
}

function accept(conn) {
  if (conn < 0) return console.error(`echo: accept: ${net.errname(conn)}`);
  serve(conn);
}

export function load(state) {
  if (state !== undefined) {
    server = state.server;
    net.onConnection(server, accept);
    state.conns.forEach(serve);
    console.log(`echo: reloaded, ${state.conns.length} connections kept`);
    return;
  }
  server = net.listen(dv8.args[1] ?? '127.0.0.1', port, 511, accept);
  if (server < 0) {
    console.error(`echo: listen on port ${port}: ${net.errname(server)} (${net.strerror(server)})`);
    dv8.exit(1);
    return;
  }
  const addr = net.address(server);
  console.log(`echo server on ${addr.address}:${addr.port}`);
}

export function unload() {
  return { server, conns: [...conns] };
}
