// Run: node tests/bench/node-persist-count.js DIR TURNS sync|group
// Shows: node's side of the persistent counter (issue 22): each turn of
// node's loop (setImmediate) adds 1 to a counter row in SQLite (WAL) with
// better-sqlite3 from npm, synced (synchronous=FULL) or not (NORMAL, the
// WAL synced every 10 ms by a checkpoint-free fsync is not something
// better-sqlite3 offers: NORMAL syncs only at checkpoints, which loses
// more on power failure than dv8's groups). Prints turns_per_s=...
const path = require('path');
const Database = require(path.resolve(__dirname, '../../.deps/npm/node_modules/better-sqlite3'));
const [dir, turnsArg, mode] = process.argv.slice(2);
const turns = Number(turnsArg);
const db = new Database(path.join(dir, 'count.db'));
db.pragma('journal_mode = WAL');
db.pragma('locking_mode = EXCLUSIVE');
db.pragma(mode === 'sync' ? 'synchronous = FULL' : 'synchronous = NORMAL');
db.exec('CREATE TABLE IF NOT EXISTS root (k TEXT PRIMARY KEY, v)');
const put = db.prepare('INSERT INTO root (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v');
let count = 0, t = 0, start = 0;
function turn() {
  if (t === 0) start = performance.now();
  count++;
  put.run('count', count); // one statement: its own transaction
  if (++t < turns) return setImmediate(turn);
  const us = (performance.now() - start) * 1000;
  console.log(`count us_per_turn=${(us / turns).toFixed(1)} turns_per_s=${Math.round(turns * 1e6 / us)}`);
}
setImmediate(turn);
