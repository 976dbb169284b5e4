// Run: dv8 --persist DIR [--persist-sync MS] tests/bench/persist-turns.mjs MODE TURNS [BYTES]
//   MODE write: each turn writes BYTES (1024, 65536) into 4 keys of a
//   64-key root, as tests/bench/store-floor.c does straight to SQLite;
//   count: each turn adds 1 to root.count; empty: turns that change
//   nothing (the loop's own cost).
// Shows: what one event-loop turn costs with its commit to the persistent
// root (issue 22: at most 1.2x the raw store's commit). Prints
// us_per_turn=... turns_per_s=...
import { root } from 'persist';
const [mode, turnsArg, bytesArg] = dv8.args;
const turns = Number(turnsArg);
const bytes = Number(bytesArg ?? 1024);
const KEYS = 64, PER_TURN = 4;
const value = new Uint8Array(bytes / PER_TURN);
if (mode === 'write') for (let k = 0; k < KEYS; k++) root['k' + k] = value; // the 64-key root
if (mode === 'count') root.count = 0;
let t = 0;
let start = 0;
function turn() {
  if (t === 0) start = performance.now();
  if (mode === 'write') {
    value.fill(t & 255);
    for (let k = 0; k < PER_TURN; k++) root['k' + ((t * PER_TURN + k) % KEYS)] = value;
  } else if (mode === 'count') {
    root.count++;
  }
  if (++t < turns) return setImmediate(turn);
  // The last turn's commit is part of what is measured: it ends first.
  setImmediate(() => {
    const us = (performance.now() - start) * 1000;
    console.log(`${mode} ${bytes} us_per_turn=${(us / turns).toFixed(1)} turns_per_s=${Math.round(turns * 1e6 / us)}`);
  });
}
setImmediate(turn);
