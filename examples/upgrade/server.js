// Run: build/dv8 examples/upgrade/server.js PORT
//      then connect (build/dv8 examples/netcat.js 127.0.0.1 PORT), type
//      lines, and in another terminal: build/dv8 upgrade <pid it printed>
// Shows: a server handed to a new process while clients stay connected.
// Each line a client sends is answered with "#N from pid P": N counts
// every line the server has answered since it first started, P is the
// process answering. After `dv8 upgrade`, the same connection gets its
// answers from the new pid, and N goes on. Edit this file before
// upgrading and the new process runs the new code (SIGUSR2 does the same).
import * as net from 'net';

const port = Number(dv8.args[0]);
if (!Number.isInteger(port)) {
  console.error('usage: server.js PORT');
  dv8.exit(2);
}

let server;
let answered = 0;
const conns = new Map(); // id -> the start of a line not yet ended
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function serve(conn, partial = '') {
  conns.set(conn, partial);
  const buf = new Uint8Array(16384);
  net.readStart(conn, buf, (n) => {
    if (n < 0) {
      conns.delete(conn);
      net.close(conn);
      return;
    }
    const lines = (conns.get(conn) + decoder.decode(buf.subarray(0, n))).split('\n');
    conns.set(conn, lines.pop());
    if (lines.length === 0) return;
    const answers = lines.map((line) => `#${++answered} from pid ${dv8.pid}: ${line}\n`).join('');
    // A peer slower to read than to send: stop reading it until the answers
    // have gone (an upgrade meanwhile hands the queue over, see
    // docs/processes.md).
    if (net.write(conn, encoder.encode(answers)) === net.QUEUED) net.pause(conn);
  });
  net.onDrain(conn, () => net.resume(conn));
}

export function load(state) {
  if (state === undefined) {
    server = net.listen('127.0.0.1', port, 511, (c) => c > 0 && serve(c));
    if (server < 0) {
      console.error(`server.js: listen on ${port}: ${net.errname(server)}`);
      dv8.exit(1);
      return;
    }
    console.log(`pid ${dv8.pid} serving on 127.0.0.1:${port}; upgrade: dv8 upgrade ${dv8.pid}`);
    return;
  }
  ({ server, answered } = state);
  net.onConnection(server, (c) => c > 0 && serve(c));
  for (const [conn, partial] of state.conns) serve(conn, partial);
  console.log(`pid ${dv8.pid} took over ${state.conns.length} connections after ${answered} answers; upgrade: dv8 upgrade ${dv8.pid}`);
}

export function unload() {
  return { server, answered, conns: [...conns] };
}
