// Helper benchmark, the dv8 side (run by tests/bench/process-peers):
// message round trips per second to a helper process (module `helper`),
// one small object at a time.
//   dv8 tests/bench/helper-pingpong.mjs [ROUNDS]   (the helper: this file)
import { fork, parent } from 'helper';
if (parent !== null) {
  parent.onMessage = (m) => {
    if (m === null) parent.onMessage = null;
    else parent.send(m);
  };
} else {
  const ROUNDS = Number(dv8.args[0] || 20000);
  const h = fork(import.meta.filename);
  let left = ROUNDS;
  let t0;
  const msg = { seq: 0, name: 'ping', values: [1, 2, 3] };
  h.onMessage = (m) => {
    if (--left === 0) {
      const s = Number(dv8.hrtime() - t0) / 1e9;
      console.log(`rounds=${ROUNDS} per_s=${(ROUNDS / s).toFixed(0)}`);
      h.send(null);
      return;
    }
    msg.seq = m.seq + 1;
    h.send(msg);
  };
  t0 = dv8.hrtime();
  h.send(msg);
}
