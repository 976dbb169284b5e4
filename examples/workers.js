// Run: build/dv8 examples/workers.js [THREADS] [N]   (defaults: 4 threads, N 2000000)
// Shows: fanning work out to worker threads and gathering the results.
// Counting the primes below N is split into THREADS ranges; each thread is
// started with its range as arguments, reports progress as messages while
// it works, and returns its count, which comes back to onExit. The same
// count done here on one thread gives the speed-up.
import { spawn } from 'thread';

const threads = Number(dv8.args[0] || 4);
const n = Number(dv8.args[1] || 2000000);
if (!Number.isInteger(threads) || threads < 1 || !Number.isInteger(n) || n < 2) {
  console.error('usage: dv8 examples/workers.js [THREADS] [N]');
  dv8.exit(2);
}

// Runs in each thread: only its source is sent, so it uses nothing from
// this module's scope; it reaches its parent through the thread module.
async function countPrimes(from, to) {
  const { parent } = await import('thread');
  let count = 0;
  for (let x = Math.max(from, 2); x < to; x++) {
    let prime = true;
    for (let d = 2; d * d <= x; d++) if (x % d === 0) { prime = false; break; }
    if (prime) count++;
    if ((x - from) % 250000 === 0) parent.send({ from, at: x });
  }
  return count;
}

const t0 = performance.now();
const step = Math.ceil(n / threads);
const counts = await Promise.all(Array.from({ length: threads }, (_, i) => new Promise((resolve, reject) => {
  const from = i * step;
  const to = Math.min(n, from + step);
  const t = spawn(countPrimes, { args: [from, to] });
  t.onMessage = (m) => console.log(`thread ${i}: at ${m.at}`);
  t.onExit = (code, count, error) => (code === 0 ? resolve(count) : reject(error));
})));
const parallel = performance.now() - t0;
const total = counts.reduce((a, b) => a + b, 0);

const t1 = performance.now();
let check = 0;
for (let x = 2; x < n; x++) {
  let prime = true;
  for (let d = 2; d * d <= x; d++) if (x % d === 0) { prime = false; break; }
  if (prime) check++;
}
const serial = performance.now() - t1;
console.log(`${total} primes below ${n} (${counts.join(' + ')}); one thread agrees: ${check === total}`);
console.log(`${threads} threads: ${parallel.toFixed(0)} ms; one thread: ${serial.toFixed(0)} ms (x${(serial / parallel).toFixed(2)})`);
