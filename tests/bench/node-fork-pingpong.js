// Helper benchmark, the node side (run by tests/bench/process-peers): the
// same round trips with child_process.fork and its IPC channel.
//   node tests/bench/node-fork-pingpong.js [ROUNDS]
const { fork } = require('child_process');
if (process.send !== undefined) {
  process.on('message', (m) => {
    if (m === null) process.disconnect();
    else process.send(m);
  });
} else {
  const ROUNDS = Number(process.argv[2] || 20000);
  const h = fork(__filename);
  let left = ROUNDS;
  const msg = { seq: 0, name: 'ping', values: [1, 2, 3] };
  let t0;
  h.on('message', (m) => {
    if (--left === 0) {
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      console.log(`rounds=${ROUNDS} per_s=${(ROUNDS / s).toFixed(0)}`);
      h.send(null);
      return;
    }
    msg.seq = m.seq + 1;
    h.send(msg);
  });
  t0 = process.hrtime.bigint();
  h.send(msg);
}
