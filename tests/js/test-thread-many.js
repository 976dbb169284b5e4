// Spawning and ending threads one after another leaves nothing behind:
// after a one-time step of a few MiB somewhere in the first thousand
// threads (measured: with any malloc settings), RSS stays flat: the last
// 1,000 of 2,000 threads add less than 3 MiB (a leak of 3 KiB a thread
// would show).
import * as assert from './assert.js';
import * as fs from 'fs';
import { spawn } from 'thread';

const once = (i) => new Promise((resolve, reject) => {
  const t = spawn((x) => ({ x, big: new Array(1000).fill(x) }).x + 1, { args: [i] });
  t.onExit = (code, result, error) => (code === 0 && result === i + 1 ? resolve() : reject(error || new Error(`thread ${i}: ${code} ${result}`)));
});

// Under AddressSanitizer (SAN=address) RSS also counts ASan's shadow
// memory, which grows by about 45 KiB a thread without anything leaking:
// V8, not instrumented, maps each isolate's heap pages at random addresses,
// and a read of them by dv8's instrumented code (V8's inline API functions)
// makes the page of shadow behind them resident, a page that stays when V8
// unmaps the heap (this ASan does not intercept munmap). Measured: 47 MiB
// over 1,000 threads, all of it in the shadow mapping. So the shadow
// (x86-64: [0x7fff8000, 0x8fff7000) and [0x02008fff7000, 0x10007fff8000))
// is left out; the rest grows 1.4-3 MiB over 1,000 threads under ASan (its
// allocator's metadata and quarantine, its stack depot, a record kept for
// each thread that ended), and leaks are also LeakSanitizer's to report.
const asan = dv8.env.SAN === 'address';
const shadowBytes = () => {
  let kib = 0;
  let inShadow = false;
  for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const range = /^([0-9a-f]+)-[0-9a-f]+ /.exec(line);
    if (range) {
      const start = BigInt(`0x${range[1]}`);
      inShadow = (start >= 0x7fff8000n && start < 0x8fff7000n) || (start >= 0x02008fff7000n && start < 0x10007fff8000n);
    } else if (inShadow && line.startsWith('Rss:')) {
      kib += Number(line.split(/\s+/)[1]);
    }
  }
  return kib * 1024;
};
const rssMiB = () => (dv8.memoryUsage().rss - (asan ? shadowBytes() : 0)) / 1048576;

const rss = [];
const t0 = Date.now();
for (let i = 1; i <= 2000; i++) {
  await once(i);
  if (i % 1000 === 0) rss.push(rssMiB());
}
console.log(`2000 threads in ${Date.now() - t0} ms; RSS at 1000/2000: ${rss.map((r) => r.toFixed(1)).join(' ')} MiB`);
const bound = asan ? 6 : 3;
assert.ok(rss[1] - rss[0] < bound, `RSS grew ${(rss[1] - rss[0]).toFixed(1)} MiB over the last 1000 threads`);
