// Run: cat test.bin | build/dv8 examples/count.js
//      (DV8_COUNTERS=1 also prints stdin's counters to stderr)
// Shows: the zero-allocation read path, with net's objects. stdin is a
// Socket that reads into one buffer of its own; each read calls data with
// a view of what was read. The last line starts with the byte count, then
// the time and the rate.
import { open } from 'net';
import { report } from './lib/stats.js';

// A typed array, not a plain number: past 2^31 a number would be a heap
// object, allocated anew on every read.
const total = new Float64Array(1);
const start = performance.now();

function done(socket, err) {
  if (err !== undefined) console.error(`count: read failed: ${err.message}`);
  const seconds = (performance.now() - start) / 1000;
  report('stdin', socket.counters());
  const bytes = total[0];
  const rate = bytes / Math.max(seconds, 1e-9) / 2 ** 20;
  console.log(`${bytes} bytes in ${seconds.toFixed(3)} s (${rate.toFixed(1)} MiB/s)`);
  if (err !== undefined) dv8.exit(1);
}

try {
  open(0, {
    data(socket, bytes) {
      total[0] += bytes.length;
    },
    end(socket) {
      socket.close();
    },
    close: done,
  });
} catch (err) {
  throw new Error(`cannot open stdin: ${err.message}`);
}
