// Run: node tests/bench/node-ws.mjs PORT
// Shows: node's side of tests/bench/ws-peers, on the npm ws package: every
// message comes back to its sender, except those starting with "B", which
// go to every connection (a broadcast), as tests/bench/ws-server.js does.
import { createRequire } from 'node:module';

const require = createRequire(new URL('../peers/', import.meta.url));
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({ port: Number(process.argv[2]), host: '127.0.0.1', backlog: 2048 });
wss.on('connection', (s) => {
  s.on('message', (data, isBinary) => {
    if (!isBinary && data[0] === 66) for (const t of wss.clients) t.send(data, { binary: false });
    else s.send(data, { binary: isBinary });
  });
});
wss.on('listening', () => console.log(`listening ${wss.address().port}`));
