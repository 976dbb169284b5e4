// Big-message benchmark, the dv8 side (run by tests/bench/process-peers):
// a Uint8Array of MIB MiB to a helper process (module `helper`) and back,
// ROUNDS times after one to warm up; prints the median round trip and MB/s
// counted as the bytes carried both ways (2 x size) per second.
//   dv8 tests/bench/helper-big.mjs [MIB] [ROUNDS]   (the helper: this file)
import { fork, parent } from 'helper';
if (parent !== null) {
  parent.onMessage = (m) => {
    if (m === null) parent.onMessage = null;
    else parent.send(m);
  };
} else {
  const size = Number(dv8.args[0] || 64) * 1024 * 1024;
  const ROUNDS = Number(dv8.args[1] || 5);
  const h = fork(import.meta.filename);
  const msg = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) msg[i] = i >>> 12;
  const times = [];
  let t0;
  h.onMessage = (m) => {
    const ms = Number(dv8.hrtime() - t0) / 1e6;
    if (m.length !== size || m[4096 * 7] !== 7) throw new Error('the message came back wrong');
    times.push(ms);
    if (times.length === ROUNDS + 1) {
      const sorted = times.slice(1).sort((a, b) => a - b);
      const median = sorted[sorted.length >> 1];
      console.log(`size=${size} round_trip_ms=${median.toFixed(1)} mb_s=${(2 * size / 1e3 / median).toFixed(0)}`);
      h.send(null);
      return;
    }
    t0 = dv8.hrtime();
    h.send(msg);
  };
  t0 = dv8.hrtime();
  h.send(msg);
}
