// The node peer of tests/bench/context.c: a fresh vm context with an empty
// script run in it, N times. Prints the same line format.
// Run: node tests/bench/node-context.js [N]
const vm = require('vm');
const n = Number(process.argv[2] || 1000);
const us = [];
const rssBefore = [];
for (let i = 0; i < n; i++) {
  if (i === Math.floor(n / 10)) rssBefore.push(process.memoryUsage().rss);
  const t0 = process.hrtime.bigint();
  const ctx = vm.createContext({});
  new vm.Script('').runInContext(ctx);
  us.push(Number(process.hrtime.bigint() - t0) / 1e3);
}
us.sort((a, b) => a - b);
const growth = Math.round((process.memoryUsage().rss - rssBefore[0]) / 1024);
console.log(`contexts=${n} median_us=${us[n >> 1].toFixed(1)} min_us=${us[0].toFixed(1)} rss_growth_kb=${growth}`);
