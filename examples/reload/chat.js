// Run: make demo   (or: build/dv8 --watch examples/reload/chat.js [PORT])
//      then, in other terminals: build/dv8 examples/netcat.js 127.0.0.1 7000
//      (or nc 127.0.0.1 7000) and type lines. Now edit this file, e.g. the
//      format() below, and save: the server reloads with every client still
//      connected and the message counter going on.
// Shows: dv8's reason to exist. A TCP chat server whose code is replaced
// while it runs: unload() hands the server, the connected clients and the
// counter to the new code's load(), which takes the handles over; a broken
// edit is refused and the old code goes on.
import * as net from 'net';

export const version = 1;
const port = Number(dv8.args[0] || 7000);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Edit me while clients are connected:
function format(count, from, text) {
  return `#${count} <${from}> ${text}\n`;
}

let server;
let count = 0;
const clients = new Map(); // id -> { name, partial }

function send(id, text) {
  const bytes = encoder.encode(text);
  net.write(id, bytes, bytes.length);
}

function broadcast(from, text) {
  count++;
  const line = format(count, from, text);
  for (const id of clients.keys()) send(id, line);
  console.log(line.trimEnd());
}

function serve(id, client) {
  clients.set(id, client);
  const buf = new Uint8Array(4096);
  net.readStart(id, buf, (n) => {
    if (n < 0) {
      clients.delete(id);
      net.close(id);
      broadcast('server', `${client.name} left`);
      return;
    }
    const lines = (client.partial + decoder.decode(buf.subarray(0, n))).split('\n');
    client.partial = lines.pop();
    for (const text of lines) if (text.trim() !== '') broadcast(client.name, text.trim());
  });
}

function accept(id) {
  if (id < 0) return;
  const name = `guest${id & 0xfff}`;
  serve(id, { name, partial: '' });
  send(id, `welcome, ${name}: ${clients.size} here, ${count} messages so far\n`);
  broadcast('server', `${name} joined`);
}

export function load(state, fromVersion) {
  if (state === undefined) {
    server = net.listen('127.0.0.1', port, 64, accept);
    if (server < 0) {
      console.error(`chat: cannot listen on ${port}: ${net.errname(server)}`);
      return dv8.exit(1);
    }
    console.log(`chat on 127.0.0.1:${port}; connect with: build/dv8 examples/netcat.js 127.0.0.1 ${port}`);
    console.log('edit examples/reload/chat.js (format() for instance) and save to reload it');
    return;
  }
  server = state.server;
  count = state.count;
  net.onConnection(server, accept);
  for (const [id, client] of state.clients) serve(id, client);
  broadcast('server', `code reloaded (version ${fromVersion} -> ${version}), ${clients.size} still here`);
}

export function unload() {
  return { server, count, clients: [...clients] };
}
