// Run: make demo   (or: build/dv8 --watch examples/reload/chat.js [PORT [WEBPORT]])
//      then open http://127.0.0.1:7001/ in a browser or two, and/or, in
//      other terminals: build/dv8 examples/netcat.js 127.0.0.1 7000 (or nc
//      127.0.0.1 7000) and type lines. Now edit this file, e.g. the
//      format() below, and save: the server reloads with every client still
//      connected and the message counter going on.
// Shows: dv8's reason to exist. A chat server, over TCP (net's Server and
// Sockets) and over WebSocket (a page, chat.html, served by the http
// module, whose script talks to the ws module), whose code is replaced
// while it runs: unload() hands the servers, the connected clients'
// Sockets and WebSockets and the counter to the new code's load(), which
// binds them to its own handlers with reload(); a broken edit is refused
// and the old code goes on.
import * as net from 'net';
import * as http from 'http';
import * as ws from 'ws';
import { readFileSync } from 'fs';

export const version = 1;
const port = Number(dv8.args[0] || 7000);
const webPort = Number(dv8.args[1] || port + 1);
const decoder = new TextDecoder();
const pagePath = new URL('chat.html', import.meta.url).pathname;

// Edit me while clients are connected:
function format(count, from, text) {
  return `#${count} <${from}> ${text}\n`;
}

let server;
let web; // the http server of the page and its WebSockets
let count = 0;
const clients = new Map(); // Socket or WebSocket -> { name, partial, web }

function broadcast(from, text) {
  count++;
  const line = format(count, from, text);
  for (const [client, { web: isWeb }] of clients) {
    if (isWeb) client.send(line.trimEnd());
    else client.write(line);
  }
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

// The browsers' side: the page, and its WebSocket (a name may come in the
// URL: /chat?name=ada).
const webHandlers = {
  open(sock) {
    const asked = new URL(sock.url).searchParams.get('name') ?? '';
    const name = /^[\w-]{1,20}$/.test(asked) ? asked : `guest${sock.id & 0xfff}`;
    clients.set(sock, { name, partial: '', web: true });
    sock.send(`welcome, ${name}: ${clients.size} here, ${count} messages so far`);
    broadcast('server', `${name} joined`);
  },
  message(sock, data) {
    const text = String(data).trim();
    if (text !== '') broadcast(clients.get(sock).name, text);
  },
  close(sock) { handlers.close(sock); },
};

function page(req) {
  const path = new URL(req.url).pathname;
  if (path === '/chat') return ws.upgrade(req, webHandlers);
  if (path !== '/') return new http.Response('not found\n', { status: 404 });
  return new http.Response(readFileSync(pagePath, 'utf8'), { headers: { 'content-type': 'text/html; charset=utf-8' } });
}

export function load(state, fromVersion) {
  if (state === undefined) {
    try {
      server = net.listen({ host: '127.0.0.1', port, backlog: 64 }, handlers);
    } catch (err) {
      console.error(`chat: cannot listen on ${port}: ${err.code}`);
      return dv8.exit(1);
    }
    try {
      web = http.serve({ host: '127.0.0.1', port: webPort }, page);
    } catch (err) {
      console.error(`chat: no web page: cannot listen on ${webPort}: ${err.code}`);
    }
    console.log(`chat on 127.0.0.1:${port}; connect with: build/dv8 examples/netcat.js 127.0.0.1 ${port}`);
    if (web !== undefined) console.log(`or open http://127.0.0.1:${web.port}/ in a browser`);
    console.log('edit examples/reload/chat.js (format() for instance) and save to reload it');
    return;
  }
  server = state.server.reload(handlers);
  web = state.web?.reload(page);
  count = state.count;
  for (const [client, info] of state.clients) clients.set(client.reload(info.web ? webHandlers : handlers), info);
  broadcast('server', `code reloaded (version ${fromVersion} -> ${version}), ${clients.size} still here`);
}

export function unload() {
  return { server, web, count, clients: [...clients] };
}
