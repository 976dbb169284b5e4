// The id-API version of examples/count.js (as it was before the object
// layer), kept for make bench: tests/bench/net-peers runs both side by side.
// Run: cat test.bin | build/dv8 examples/count.js
//      (DV8_COUNTERS=1 also prints stdin's counters to stderr)
// Shows: the zero-allocation read path. JS hands stdin one buffer, once;
// each read calls back with the number of bytes placed in it. The last line
// starts with the byte count, then the time and the rate.
import { open, readStart, errname, EOF } from 'net/raw';
import { closeAndReport } from '../../../examples/lib/stats.js';

const stdin = open(0);
if (stdin < 0) throw new Error(`cannot open stdin: ${errname(stdin)}`);
const buffer = new Uint8Array(65536);
// A typed array, not a plain number: past 2^31 a number would be a heap
// object, allocated anew on every read.
const total = new Float64Array(1);
const start = performance.now();

readStart(stdin, buffer, (n) => {
  if (n > 0) {
    total[0] += n;
    return;
  }
  if (n !== EOF) console.error(`count: read failed: ${errname(n)}`);
  const seconds = (performance.now() - start) / 1000;
  closeAndReport('stdin', stdin);
  const bytes = total[0];
  const rate = bytes / Math.max(seconds, 1e-9) / 2 ** 20;
  console.log(`${bytes} bytes in ${seconds.toFixed(3)} s (${rate.toFixed(1)} MiB/s)`);
  if (n !== EOF) dv8.exit(1);
});
