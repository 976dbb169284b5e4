// 10,000 reloads in a row of a small program (this file, reloading itself;
// 2,000 under AddressSanitizer) leave nothing behind: each old context is
// disposed, so RSS after the last is within a few MiB of RSS after the
// 500th, and no handle is left over; the state counts every reload.
import * as assert from './assert.js';

const TOTAL = dv8.env.ASAN_OPTIONS ? 2000 : 10000;
let n = 0;
let rssAt500 = 0;

export function load(state) {
  if (state !== undefined) ({ n, rssAt500 } = state);
  if (n === 500) rssAt500 = dv8.memoryUsage().rss;
  if (n < TOTAL) {
    n++;
    dv8.reload(); // runs once this reload has finished
    return;
  }
  // Checked once this reload has committed (a throw inside load() would
  // only refuse the reload).
  setTimeout(() => {
    const stats = dv8.reloadStats();
    const grew = (dv8.memoryUsage().rss - rssAt500) / 1048576;
    console.log(`${TOTAL} reloads; RSS grew ${grew.toFixed(1)} MiB after the 500th; last prepare ${stats.lastPrepareMs.toFixed(2)} ms, pause ${stats.lastPauseMs.toFixed(2)} ms`);
    assert.equal(stats.count, TOTAL);
    assert.equal(stats.failures, 0);
    assert.ok(grew < (dv8.env.ASAN_OPTIONS ? 24 : 6), `RSS grew ${grew.toFixed(1)} MiB`);
    assert.deepEqual(dv8.handles().map((h) => h.type), ['timer'], 'only this check\'s timer is left');
  }, 0);
}

export function unload() {
  return { n, rssAt500 };
}
