// Run: node tests/ws/ws-clients.mjs URL CONNS MESSAGES [CA.pem]
// Shows: CONNS clients of the npm ws package, each sending MESSAGES
// messages (text and binary in turn, 0 B to 256 KiB, some sent in
// fragments) to an echo server and checking that each comes back whole,
// in order, as the same kind. Prints "ok CONNS connections, N messages, B
// bytes" or what went wrong (exit 1). With WS_EXPECT (a prefix): answers
// are "PREFIX..." strings from a server that tags them (reload tests).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';

const require = createRequire(new URL('../peers/', import.meta.url));
const WebSocket = require('ws');
const [url, connsArg = '16', messagesArg = '100', caFile] = process.argv.slice(2);
const conns = Number(connsArg);
const messages = Number(messagesArg);
const ca = caFile ? readFileSync(caFile) : undefined;
let seed = 12345;
const rand = (n) => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return (seed >>> 16) % n;
};
const digest = (b) => createHash('sha1').update(b).digest('hex');

let failed = null;
let total = 0;
let bytes = 0;
function one(k) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, ['echo'], { ca, maxPayload: 64 * 1024 * 1024 });
    const expected = [];
    let sent = 0;
    const fail = (why) => {
      failed ??= `connection ${k}: ${why}`;
      ws.terminate();
      resolve();
    };
    const next = () => {
      if (sent === messages) return ws.close(1000, 'done');
      const size = [0, 1, 125, 126, 4000, 65536, 100000, 262144][rand(8)];
      const binary = sent % 2 === 1;
      const payload = binary ? Buffer.alloc(size, sent & 0xff) : Buffer.from('é'.repeat(size >> 1) + (size & 1 ? 'x' : ''));
      for (let i = 0; i < payload.length; i += 997) payload[i] = binary ? rand(256) : payload[i];
      expected.push({ binary, hash: digest(payload), length: payload.length });
      sent++;
      if (size > 1000 && rand(3) === 0) {
        // in three fragments
        const a = payload.subarray(0, size / 3), b = payload.subarray(size / 3, (2 * size) / 3), c = payload.subarray((2 * size) / 3);
        ws.send(a, { binary, fin: false });
        ws.send(b, { binary, fin: false });
        ws.send(c, { binary, fin: true });
      } else ws.send(payload, { binary });
    };
    ws.on('open', () => {
      if (ws.protocol !== 'echo') return fail(`protocol '${ws.protocol}'`);
      next();
    });
    ws.on('message', (data, isBinary) => {
      const want = expected.shift();
      if (want === undefined) return fail('an answer nobody asked for');
      if (isBinary !== want.binary) return fail(`message ${total}: binary ${isBinary}, sent ${want.binary}`);
      if (data.length !== want.length || digest(data) !== want.hash) return fail(`message differs (${data.length} of ${want.length} bytes)`);
      total++;
      bytes += data.length;
      next();
    });
    ws.on('close', (code) => {
      if (expected.length > 0 || sent < messages) return fail(`closed (${code}) with ${expected.length} answers owed, ${sent} of ${messages} sent`);
      if (code !== 1000) return fail(`close code ${code}`);
      resolve();
    });
    ws.on('error', (e) => fail(e.message));
  });
}
await Promise.all(Array.from({ length: conns }, (_, k) => one(k)));
if (failed) {
  console.log(failed);
  process.exit(1);
}
console.log(`ok ${conns} connections, ${total} messages, ${bytes} bytes`);
