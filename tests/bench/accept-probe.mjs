// Upgrade benchmark, the acceptance side (run by tests/bench/process-peers,
// with node): opens a new connection every 2 ms for SECONDS, each sending
// one byte and waiting for it to come back, then closing; prints how many
// were refused or failed and the longest any took from connect to echo:
// whether the server ever stopped accepting.
//   node tests/bench/accept-probe.mjs PORT SECONDS
import net from 'node:net';
const [port, seconds] = process.argv.slice(2).map(Number);
let tried = 0, failed = 0, longest = 0;
const until = Date.now() + seconds * 1000;
const probe = () => new Promise((resolve) => {
  const t0 = process.hrtime.bigint();
  const s = net.connect(port, '127.0.0.1', () => s.write('x'));
  s.once('data', () => {
    longest = Math.max(longest, Number(process.hrtime.bigint() - t0) / 1e6);
    s.destroy();
    resolve();
  });
  s.on('error', (e) => { failed++; if (process.env.PROBE_DEBUG) console.error(e.code, e.message, Date.now() % 100000, s.localPort); resolve(); });
});
const pending = [];
while (Date.now() < until) {
  tried++;
  pending.push(probe());
  await new Promise((r) => setTimeout(r, 2));
}
await Promise.all(pending);
console.log(`probes=${tried} refused=${failed} longest_ms=${longest.toFixed(1)}`);
