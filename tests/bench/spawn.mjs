// Spawn benchmark, the dv8 side (run by tests/bench/process-peers):
// starts /bin/true N times, one after another (each waits for the exit of
// the one before), and prints the rate.
//   dv8 tests/bench/spawn.mjs [N]
import * as proc from 'process';
const N = Number(dv8.args[0] || 1000);
let left = N;
const t0 = dv8.hrtime();
function next() {
  if (left-- === 0) {
    const s = Number(dv8.hrtime() - t0) / 1e9;
    console.log(`spawns=${N} per_s=${(N / s).toFixed(0)}`);
    return;
  }
  const c = proc.spawn('/bin/true', [], { stdio: 'ignore' }, (status) => {
    if (status !== 0) throw new Error(`/bin/true: ${status}`);
    next();
  });
  if (typeof c === 'number') throw new Error(`spawn: ${c}`);
}
next();
