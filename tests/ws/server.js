// Run: build/dv8 tests/ws/server.js PORT [CERT KEY]
// Shows: the WebSocket echo server the ws tests drive (tests/shell/test-ws.sh):
// every message comes back as it came (text as text, binary as binary),
// "stats" answers with what the server counted, "flood" sends 64 KiB
// messages until one is queued and says "drained after N" on the drain,
// a close is answered; limits
// small enough to test: maxPayload 2 MiB, idleTimeout from WS_IDLE_MS.
import * as http from 'http';
import * as ws from 'ws';

const [portArg = '0', certFile, keyFile] = dv8.args;
const tls = certFile === undefined ? undefined : { certFile, keyFile };
const counts = { open: 0, messages: 0, closes: {}, errors: 0 };
const flooding = new Map(); // socket -> messages sent before one was queued
const options = { maxPayload: 2 * 1024 * 1024, idleTimeout: Number(dv8.env?.WS_IDLE_MS ?? 120000), protocols: ['echo', 'chat'] };

const server = http.serve({ port: Number(portArg), tls }, (req) => {
  if (new URL(req.url).pathname === '/stats') return http.Response.json(counts);
  return ws.upgrade(req, {
    open() { counts.open++; },
    message(s, data) {
      counts.messages++;
      if (data === 'stats') return s.send(JSON.stringify(counts));
      if (data === 'flood') { // 64 KiB messages until one is queued, then wait for drain
        const chunk = new Uint8Array(65536).fill(7);
        let sent = 0;
        while (sent < 10000) {
          sent++;
          if (s.send(chunk) === 'queued') break;
        }
        flooding.set(s, sent);
        return;
      }
      s.send(data);
    },
    drain(s) {
      const sent = flooding.get(s);
      if (sent === undefined) return;
      flooding.delete(s);
      s.send(`drained after ${sent}`);
    },
    close(s, code) { counts.closes[code] = (counts.closes[code] ?? 0) + 1; },
    error() { counts.errors++; },
  }, options);
});
console.log(`listening ${server.port}`);
