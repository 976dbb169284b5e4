// A peer that does not read, for tests/shell/test-process-upgrade-flush.sh:
// connects to the echo server on 127.0.0.1:PORT, sends BYTES pseudo-random
// bytes without reading anything back (so the server's writes to it queue
// up), then waits for SIGUSR2 and reads until the server ends the
// connection (a reset ends it at once, read or not). Prints "got N of
// BYTES in order", or, if a byte differs from what it sent at that place
// (something missing or out of order), "byte N differs".
//   node tests/reload/stuck-client.mjs PORT BYTES
import net from 'node:net';

const [port, bytes] = process.argv.slice(2).map(Number);
const sock = net.connect(port, '127.0.0.1');
sock.pause();
let seed = 7;
const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
let expectSeed = 7;
const expectNext = () => (expectSeed = (Math.imul(expectSeed, 1103515245) + 12345) >>> 0) >>> 24;
let got = 0;
let bad = -1;
sock.on('data', (chunk) => {
  for (const b of chunk) {
    if (bad < 0 && b !== expectNext()) bad = got;
    got++;
  }
});
const report = () => {
  console.log(bad >= 0 ? `byte ${bad} differs` : `got ${got} of ${bytes} in order`);
  process.exit(0);
};
sock.on('end', report);
sock.on('error', report); // a reset after what came: the end all the same
sock.on('connect', () => {
  const chunk = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) chunk[i] = next();
  sock.write(chunk);
});
process.on('SIGUSR2', () => sock.resume());
setInterval(() => {}, 1000); // a paused socket keeps no loop alive
