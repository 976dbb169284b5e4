// Run: node tests/ws/node-server.mjs PORT [CERT KEY]
// Shows: an echo server of the npm ws package (a peer for dv8's WebSocket
// client, tests/ws/client.js): each message comes back as it came; the
// subprotocol chosen is the first offered. Prints "ready PORT".
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../peers/', import.meta.url));
const { WebSocketServer } = require('ws');
const [port, cert, key] = process.argv.slice(2);
const options = { handleProtocols: (protocols) => [...protocols][0] ?? false, maxPayload: 64 * 1024 * 1024 };
let wss;
if (cert) {
  const server = createServer({ cert: readFileSync(cert), key: readFileSync(key) });
  wss = new WebSocketServer({ server, ...options });
  server.listen(Number(port), '127.0.0.1', () => console.log(`ready ${server.address().port}`));
} else {
  wss = new WebSocketServer({ port: Number(port), host: '127.0.0.1', ...options });
  wss.on('listening', () => console.log(`ready ${wss.address().port}`));
}
wss.on('connection', (s) => {
  s.on('message', (data, isBinary) => s.send(data, { binary: isBinary }));
});
