// Reload benchmark, the --watch side (run by tests/bench/reload-peers with
// node as the driver): writes a new version of a small app ROUNDS times
// under `dv8 --watch` and times each write to the first line the new code
// prints (file change seen, debounce, prepare, load: the whole reload).
//   node tests/bench/reload-watch.mjs DV8 [ROUNDS]
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dv8 = process.argv[2];
const rounds = Number(process.argv[3] || 30);
const dir = mkdtempSync(join(tmpdir(), 'dv8-reload-'));
const app = join(dir, 'app.js');
const version = (v) => `let n = 0;
export function load(state) { if (state) n = state.n; console.log('serving v${v} ' + n); setInterval(() => n++, 5); }
export function unload() { return { n }; }
`;
writeFileSync(app, version(0));
const child = spawn(dv8, ['--watch', app], { stdio: ['ignore', 'pipe', 'ignore'] });
let waiting = null;
let buffered = '';
child.stdout.on('data', (chunk) => {
  buffered += chunk;
  let nl;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    if (waiting !== null && line.startsWith(`serving v${waiting.v} `)) { const w = waiting; waiting = null; w.resolve(); }
  }
});
const until = (v) => new Promise((resolve) => { waiting = { v, resolve }; });
await until(0);
const times = [];
for (let v = 1; v <= rounds; v++) {
  await new Promise((r) => setTimeout(r, 100)); // let the watcher settle
  const seen = until(v);
  const t0 = process.hrtime.bigint();
  writeFileSync(app, version(v));
  await seen;
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
child.kill();
rmSync(dir, { recursive: true, force: true });
times.sort((a, b) => a - b);
const debounce = 50;
const median = times[times.length >> 1];
console.log(`whole reload (write to new code serving) median=${median.toFixed(2)} p95=${times[Math.floor(times.length * 0.95)].toFixed(2)} ms, of which the 50 ms debounce; without it median=${(median - debounce).toFixed(2)} ms (${rounds} edits)`);
