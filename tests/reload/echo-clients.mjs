// Clients for tests/shell/test-reload-echo.sh, run by node: CONNS
// connections to 127.0.0.1:PORT each send pseudo-random bytes in 1-16 KiB
// writes for SECONDS at most, or until SIGUSR2, and check that every byte
// comes back in order; then they half-close and wait for the rest. Prints
// "ok CONNS connections, N bytes" or what went wrong (exit 1). With
// PACE_MS, each connection sends one write of 1-4 KiB every PACE_MS
// instead of as fast as the server takes them.
// With ECHO_TLS_CA=ca.pem in the environment they speak TLS (node's tls,
// the server checked against that CA as localhost).
//   node tests/reload/echo-clients.mjs PORT CONNS SECONDS [PACE_MS]
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';

const [port, conns, seconds, pace] = process.argv.slice(2).map(Number);
let failed = null;
let stopping = false;
process.on('SIGUSR2', () => { stopping = true; });
// SIGUSR1: where each unfinished connection stands (for a stalled run).
const progress = new Map();
process.on('SIGUSR1', () => {
  for (const [k, p] of progress) console.error(`connection ${k}: ${p()}`);
});
const one = (k) => new Promise((resolve) => {
  let seed = k + 1;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  let expectSeed = k + 1;
  const expectNext = () => (expectSeed = (Math.imul(expectSeed, 1103515245) + 12345) >>> 0) >>> 24;
  let sent = 0;
  let got = 0;
  let ended = false;
  progress.set(k, () => `${sent} sent, ${got} back, ${ended ? 'ended' : 'writing'}, ${sock.writableLength} buffered`);
  const ca = process.env.ECHO_TLS_CA;
  const sock = ca === undefined ? net.connect(port, '127.0.0.1')
    : tls.connect({ port, host: '127.0.0.1', ca: readFileSync(ca), servername: 'localhost' });
  sock.on('error', (e) => { failed = failed || `connection ${k}: ${e.code || e.message} after ${sent} sent, ${got} back`; resolve(0); });
  sock.on('data', (chunk) => {
    for (const b of chunk) {
      if (b !== expectNext() && failed === null) failed = `connection ${k}: byte ${got} differs`;
      got++;
    }
  });
  sock.on('end', () => {
    if (got !== sent && failed === null) failed = `connection ${k}: ${got} of ${sent} bytes came back`;
    sock.end();
    progress.delete(k);
    resolve(got);
  });
  const until = Date.now() + seconds * 1000;
  const paced = () => {
    if (Date.now() >= until || stopping) { ended = true; return sock.end(); }
    const n = 1024 + Math.floor(Math.random() * 3072);
    const chunk = Buffer.alloc(n);
    for (let i = 0; i < n; i++) chunk[i] = next();
    sent += n;
    sock.write(chunk);
    setTimeout(paced, pace);
  };
  const pump = () => {
    if (pace > 0) return paced();
    while (Date.now() < until && !stopping) {
      const n = 1024 + Math.floor(Math.random() * 15360);
      const chunk = Buffer.alloc(n);
      for (let i = 0; i < n; i++) chunk[i] = next();
      sent += n;
      if (!sock.write(chunk)) return sock.once('drain', pump);
    }
    ended = true;
    sock.end();
  };
  sock.on(ca === undefined ? 'connect' : 'secureConnect', pump);
});
const totals = await Promise.all(Array.from({ length: conns }, (_, k) => one(k)));
if (failed !== null) { console.log(failed); process.exit(1); }
console.log(`ok ${conns} connections, ${totals.reduce((a, b) => a + b, 0)} bytes`);
