// Reload benchmark under load, the server (run by tests/bench/reload-peers,
// with tests/bench/reload-client keeping its connections busy):
//   dv8 tests/bench/reload-echo-app.mjs PORT [RELOADS [INTERVAL_MS]]
// An echo server that hands its listening server and every connection over
// across reloads, as examples/echo.js does. With RELOADS > 0, the first
// reload sent from outside (kill -HUP) starts a chain: each load asks for the
// next one (dv8.reload()) INTERVAL_MS later (default 15) until RELOADS have
// been made; the pause of each (events stopped to events resumed, from
// dv8.reloadStats()) stays in the state handed across, and at the end it
// prints one line:
//   pause median=M p99=P max=X ms prepare median=... p99=... ms blocked
//   median=... p99=... max=... ms reloads=N conns=C accepted=A closed=D
//   scavenges=S markSweeps=K
// blocked is prepare + pause: prepare (the new code loaded and evaluated)
// runs on the event loop's thread too, so no connection is served during
// either.
// With RELOADS 0 (the default) it only serves: reloads come from elsewhere
// (dv8 --watch and an edit of this file, in the --watch comparison).
import * as net from 'net';

const port = Number(dv8.args[0]);
const RELOADS = Number(dv8.args[1] ?? 0);
const INTERVAL_MS = Number(dv8.args[2] ?? 15);

let server;
const conns = new Map(); // id -> its read buffer, handed across with it
// Everything that must survive a reload; serdes carries it across. The
// times go in typed arrays of fixed size: a plain array of numbers grows by
// one each reload and costs about 2 us per element to hand across (serdes
// runs cold in each fresh context), which would show in the very pauses
// being measured (5-7 ms more after 1,000 reloads).
let state = {
  n: 0,
  pauses: new Float64Array(RELOADS),
  prepares: new Float64Array(RELOADS),
  blocked: new Float64Array(RELOADS),
  accepted: 0,
  closed: 0,
};

function drop(conn, code) {
  if (!conns.delete(conn)) return;
  state.closed++;
  // A client leaving (EOF) is expected at the end; anything else during the
  // run is what the benchmark is looking for.
  if (code !== net.EOF) console.error(`reload-echo-app: connection ${conn}: ${net.errname(code)}`);
  net.close(conn);
}

// The read buffer crosses a reload with its connection: ArrayBuffers in the
// state move to the new code without a copy (docs/reload.md), where 64 new
// 64 KiB buffers would cost 64 fresh allocations (page faults) in the pause.
function serve(conn, buffer = new Uint8Array(65536)) {
  conns.set(conn, buffer);
  // Resumed unconditionally, as examples/lib/pump.js does: the code before
  // a reload may be the one that paused the stream.
  net.onDrain(conn, (status) => (status < 0 ? drop(conn, status) : net.resume(conn)));
  net.readStart(conn, buffer, (n) => {
    if (n < 0) return drop(conn, n);
    const r = net.write(conn, buffer, n);
    if (r === net.QUEUED) net.pause(conn);
    else if (r < 0) drop(conn, r);
  });
}

function accept(conn) {
  if (conn < 0) return console.error(`reload-echo-app: accept: ${net.errname(conn)}`);
  state.accepted++;
  serve(conn);
}

const quantile = (list, p) => {
  const sorted = list.slice(0, state.n).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))].toFixed(3);
};

function report() {
  const m = dv8.memoryUsage();
  console.log(
    `pause median=${quantile(state.pauses, 0.5)} p99=${quantile(state.pauses, 0.99)} max=${quantile(state.pauses, 1)} ms` +
      ` prepare median=${quantile(state.prepares, 0.5)} p99=${quantile(state.prepares, 0.99)} ms` +
      ` blocked median=${quantile(state.blocked, 0.5)} p99=${quantile(state.blocked, 0.99)} max=${quantile(state.blocked, 1)} ms` +
      ` reloads=${state.n} conns=${conns.size} accepted=${state.accepted} closed=${state.closed}` +
      ` scavenges=${m.scavenges} markSweeps=${m.markSweeps}`,
  );
}

export function load(previous) {
  if (previous === undefined) {
    server = net.listen('127.0.0.1', port, 511, accept);
    if (server < 0) {
      console.error(`reload-echo-app: listen on port ${port}: ${net.errname(server)}`);
      dv8.exit(1);
      return;
    }
    console.log(`echo server on 127.0.0.1:${net.address(server).port}`);
    return;
  }
  ({ server, state } = previous);
  net.onConnection(server, accept);
  for (const [conn, buffer] of previous.conns) serve(conn, buffer);
  if (state.n >= RELOADS) return; // under --watch, or after the report
  const stats = dv8.reloadStats();
  state.pauses[state.n] = stats.lastPauseMs;
  state.prepares[state.n] = stats.lastPrepareMs;
  state.blocked[state.n] = stats.lastPrepareMs + stats.lastPauseMs;
  if (++state.n < RELOADS) setTimeout(() => dv8.reload(), INTERVAL_MS);
  else report();
}

export function unload() {
  return { server, conns: [...conns], state };
}
