// Spawning and ending threads one after another leaves nothing behind:
// after a one-time step of a few MiB somewhere in the first thousand
// threads (measured: with any malloc settings), RSS stays flat: the last
// 500 of 1,500 threads add less than 2 MiB.
import * as assert from './assert.js';
import { spawn } from 'thread';

const once = (i) => new Promise((resolve, reject) => {
  const t = spawn((x) => ({ x, big: new Array(1000).fill(x) }).x + 1, { args: [i] });
  t.onExit = (code, result, error) => (code === 0 && result === i + 1 ? resolve() : reject(error || new Error(`thread ${i}: ${code} ${result}`)));
});

const rss = [];
const t0 = Date.now();
for (let i = 1; i <= 1500; i++) {
  await once(i);
  if (i % 500 === 0) rss.push(dv8.memoryUsage().rss / 1048576);
}
console.log(`1500 threads in ${Date.now() - t0} ms; RSS at 500/1000/1500: ${rss.map((r) => r.toFixed(1)).join(' ')} MiB`);
// Under AddressSanitizer freed memory waits in a quarantine and leaks are
// LeakSanitizer's to report, so RSS only has to stay within bounds there.
const bound = dv8.env.ASAN_OPTIONS ? 8 : 2;
assert.ok(rss[2] - rss[1] < bound, `RSS grew ${(rss[2] - rss[1]).toFixed(1)} MiB over the last 500 threads`);
