// Run: build/dv8 examples/upgrade/server.js PORT [HOST]  (HOST: 127.0.0.1;
//      0.0.0.0 in a container, to be reached from outside it)
//      then connect (build/dv8 examples/netcat.js 127.0.0.1 PORT), type
//      lines, and in another terminal: build/dv8 upgrade <pid it printed>
// Shows: a server (net's Server and Sockets) handed to a new process while
// clients stay connected: the state's Server and Sockets arrive in the new
// process as objects, bound to its handlers with reload().
// Each line a client sends is answered with "#N from pid P": N counts
// every line the server has answered since it first started, P is the
// process answering. After `dv8 upgrade`, the same connection gets its
// answers from the new pid, and N goes on. Edit this file before
// upgrading and the new process runs the new code (SIGUSR2 does the same).
import * as net from 'net';

const port = Number(dv8.args[0]);
const host = dv8.args[1] ?? '127.0.0.1';
if (!Number.isInteger(port)) {
  console.error('usage: server.js PORT');
  dv8.exit(2);
}

let server;
let answered = 0;
const conns = new Map(); // Socket -> the start of a line not yet ended
const decoder = new TextDecoder();

const handlers = {
  open(socket) {
    conns.set(socket, '');
  },
  data(socket, bytes) {
    const lines = (conns.get(socket) + decoder.decode(bytes)).split('\n');
    conns.set(socket, lines.pop());
    if (lines.length === 0) return;
    const answers = lines.map((line) => `#${++answered} from pid ${dv8.pid}: ${line}\n`).join('');
    // A peer slower to read than to send: stop reading it until the answers
    // have gone (an upgrade meanwhile hands the queue over, see
    // docs/processes.md).
    if (socket.write(answers) === 'queued') socket.pause();
  },
  drain(socket) {
    socket.resume();
  },
  close(socket) {
    conns.delete(socket);
  },
};

export function load(state) {
  if (state === undefined) {
    try {
      server = net.listen({ host, port }, handlers);
    } catch (err) {
      console.error(`server.js: listen on ${port}: ${err.code}`);
      dv8.exit(1);
      return;
    }
    console.log(`pid ${dv8.pid} serving on ${host}:${port}; upgrade: dv8 upgrade ${dv8.pid}`);
    return;
  }
  answered = state.answered;
  server = state.server.reload(handlers);
  for (const [socket, partial] of state.conns) conns.set(socket.reload(handlers), partial);
  console.log(`pid ${dv8.pid} took over ${state.conns.length} connections after ${answered} answers; upgrade: dv8 upgrade ${dv8.pid}`);
}

export function unload() {
  return { server, answered, conns: [...conns] };
}
