// Run: make demo   (or: build/dv8 --watch examples/reload/chat.js [PORT])
//      then, in other terminals: build/dv8 examples/netcat.js 127.0.0.1 7000
//      (or nc 127.0.0.1 7000) and type lines. Now edit this file, e.g. the
//      format() below, and save: the server reloads with every client still
//      connected and the message counter going on.
// Shows: dv8's reason to exist. A TCP chat server (net's Server and
// Sockets) whose code is replaced while it runs: unload() hands the Server,
// the connected clients' Sockets and the counter to the new code's load(),
// which binds them to its own handlers with reload(); a broken edit is
// refused and the old code goes on.
import * as net from 'net';

export const version = 1;
const port = Number(dv8.args[0] || 7000);
const decoder = new TextDecoder();

// Edit me while clients are connected:
function format(count, from, text) {
  return `#${count} <${from}> ${text}\n`;
}

let server;
let count = 0;
const clients = new Map(); // Socket -> { name, partial }

function broadcast(from, text) {
  count++;
  const line = format(count, from, text);
  for (const socket of clients.keys()) socket.write(line);
  console.log(line.trimEnd());
}

// One handlers object for the server's connections, the new code's after a
// reload.
const handlers = {
  open(socket) {
    const name = `guest${socket.id & 0xfff}`;
    clients.set(socket, { name, partial: '' });
    socket.write(`welcome, ${name}: ${clients.size} here, ${count} messages so far\n`);
    broadcast('server', `${name} joined`);
  },
  data(socket, bytes) {
    const client = clients.get(socket);
    const lines = (client.partial + decoder.decode(bytes)).split('\n');
    client.partial = lines.pop();
    for (const text of lines) if (text.trim() !== '') broadcast(client.name, text.trim());
  },
  close(socket) {
    const client = clients.get(socket);
    if (client === undefined) return;
    clients.delete(socket);
    broadcast('server', `${client.name} left`);
  },
};

export function load(state, fromVersion) {
  if (state === undefined) {
    try {
      server = net.listen({ host: '127.0.0.1', port, backlog: 64 }, handlers);
    } catch (err) {
      console.error(`chat: cannot listen on ${port}: ${err.code}`);
      return dv8.exit(1);
    }
    console.log(`chat on 127.0.0.1:${port}; connect with: build/dv8 examples/netcat.js 127.0.0.1 ${port}`);
    console.log('edit examples/reload/chat.js (format() for instance) and save to reload it');
    return;
  }
  server = state.server.reload(handlers);
  count = state.count;
  for (const [socket, client] of state.clients) clients.set(socket.reload(handlers), client);
  broadcast('server', `code reloaded (version ${fromVersion} -> ${version}), ${clients.size} still here`);
}

export function unload() {
  return { server, count, clients: [...clients] };
}
