// Spawning and ending threads one after another leaves nothing behind:
// after a one-time step of a few MiB somewhere in the first thousand
// threads (measured: with any malloc settings), RSS stays flat: the last
// 1,000 of 2,000 threads add less than 3 MiB (a leak of 3 KiB a thread
// would show).
import * as assert from './assert.js';
import { spawn } from 'thread';

const once = (i) => new Promise((resolve, reject) => {
  const t = spawn((x) => ({ x, big: new Array(1000).fill(x) }).x + 1, { args: [i] });
  t.onExit = (code, result, error) => (code === 0 && result === i + 1 ? resolve() : reject(error || new Error(`thread ${i}: ${code} ${result}`)));
});

const rss = [];
const t0 = Date.now();
for (let i = 1; i <= 2000; i++) {
  await once(i);
  if (i % 1000 === 0) rss.push(dv8.memoryUsage().rss / 1048576);
}
console.log(`2000 threads in ${Date.now() - t0} ms; RSS at 1000/2000: ${rss.map((r) => r.toFixed(1)).join(' ')} MiB`);
// Under AddressSanitizer freed memory waits in a quarantine and leaks are
// LeakSanitizer's to report, so RSS only has to stay within bounds there.
const bound = dv8.env.ASAN_OPTIONS ? 12 : 3;
assert.ok(rss[1] - rss[0] < bound, `RSS grew ${(rss[1] - rss[0]).toFixed(1)} MiB over the last 1000 threads`);
