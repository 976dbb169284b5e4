// Spawn benchmark, the node side (run by tests/bench/process-peers): the
// same as tests/bench/spawn.mjs with child_process.spawn.
//   node tests/bench/node-spawn.js [N]
const { spawn } = require('child_process');
const N = Number(process.argv[2] || 1000);
let left = N;
const t0 = process.hrtime.bigint();
function next() {
  if (left-- === 0) {
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`spawns=${N} per_s=${(N / s).toFixed(0)}`);
    return;
  }
  spawn('/bin/true', [], { stdio: 'ignore' }).on('exit', (status) => {
    if (status !== 0) throw new Error(`/bin/true: ${status}`);
    next();
  });
}
next();
