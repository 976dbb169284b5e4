// Big-message benchmark, the node side (run by tests/bench/process-peers):
// the same round trips as tests/bench/helper-big.mjs with
// child_process.fork's IPC, a Buffer each way ('advanced' serialization,
// V8's serializer: the default, JSON, writes a Buffer as an array of
// numbers).
//   node tests/bench/node-fork-big.js [MIB] [ROUNDS]
const { fork } = require('child_process');
if (process.send !== undefined) {
  process.on('message', (m) => {
    if (m === null) process.disconnect();
    else process.send(m);
  });
} else {
  const size = Number(process.argv[2] || 64) * 1024 * 1024;
  const ROUNDS = Number(process.argv[3] || 5);
  const h = fork(__filename, [], { serialization: 'advanced' });
  const msg = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) msg[i] = (i >>> 12) & 255;
  const times = [];
  let t0;
  h.on('message', (m) => {
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (m.length !== size || m[4096 * 7] !== 7) throw new Error('the message came back wrong');
    times.push(ms);
    if (times.length === ROUNDS + 1) {
      const sorted = times.slice(1).sort((a, b) => a - b);
      const median = sorted[sorted.length >> 1];
      console.log(`size=${size} round_trip_ms=${median.toFixed(1)} mb_s=${(2 * size / 1e3 / median).toFixed(0)}`);
      h.send(null);
      return;
    }
    t0 = process.hrtime.bigint();
    h.send(msg);
  });
  t0 = process.hrtime.bigint();
  h.send(msg);
}
