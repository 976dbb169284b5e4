// Run: dv8 --persist ./state examples/persist.js   (again and again; kill -9 it midway)
// Shows: the persistent root (docs/persist.md): a start count and a log of
// ticks that survive restarts and crashes, each tick's change committed at
// the end of its turn of the event loop. A fresh ./state starts over.
import { root } from 'persist';

root.starts = (root.starts ?? 0) + 1;
const ticks = (root.ticks ??= []); // the first start: this very array
console.log(`start ${root.starts}: ${ticks.length} ticks so far, the last at ${ticks.at(-1) ?? 'none yet'}`);

let n = 0;
const timer = setInterval(() => {
  ticks.push(new Date().toISOString());
  if (ticks.length > 100) ticks.shift(); // the log keeps the last 100
  if (++n === 5) clearInterval(timer);
}, 200);
