// Run: build/dv8 tests/bench/ws-server.js PORT
// Shows: the WebSocket server of tests/bench/ws-peers (dv8's side): every
// message comes back to its sender, except those starting with "B", which
// go to every connection (a broadcast). node's is tests/bench/node-ws.mjs.
import * as http from 'http';
import * as ws from 'ws';

const socks = new Set();
const handlers = {
  open(s) { socks.add(s); },
  message(s, data) {
    if (typeof data === 'string' && data.charCodeAt(0) === 66) for (const t of socks) t.send(data);
    else s.send(data);
  },
  close(s) { socks.delete(s); },
};
const server = http.serve({ port: Number(dv8.args[0] ?? 0), backlog: 2048 }, (req) => ws.upgrade(req, handlers));
console.log(`listening ${server.port}`);
