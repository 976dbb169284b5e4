// Helper benchmark, the node side (run by tests/bench/channel-peers and
// tests/bench/process-peers): the same round trips as helper-pingpong.mjs
// with child_process.fork and its IPC channel, and the CPU time both
// processes spent per round trip.
//   node tests/bench/node-fork-pingpong.js [ROUNDS] [SHAPE]
// SHAPE: small, string or buffer, as helper-pingpong.mjs. The buffer goes
// with 'advanced' serialization (a Buffer in JSON would be an array of
// numbers); the others with the default (JSON), node's faster for them.
const { fork } = require('child_process');
const { readFileSync } = require('fs');

const cpuUs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10000;
};

if (process.send !== undefined) {
  process.on('message', (m) => {
    if (m === null) process.disconnect();
    else process.send(m);
  });
} else {
  const ROUNDS = Number(process.argv[2] || 20000);
  const shape = process.argv[3] || 'small';
  const h = fork(__filename, [], { serialization: shape === 'buffer' ? 'advanced' : 'json' });
  const msg = { seq: 0, name: 'ping', values: [1, 2, 3] };
  if (shape === 'string') msg.text = 'x'.repeat(1024);
  else if (shape === 'buffer') msg.bytes = new Uint8Array(65536).fill(7);
  else if (shape !== 'small') throw new Error(`unknown shape ${shape}`);
  const warm = 100;
  let t0, c0;
  h.on('message', (m) => {
    if (m.seq === warm) {
      t0 = process.hrtime.bigint();
      c0 = cpuUs('self') + cpuUs(h.pid);
    }
    if (m.seq === warm + ROUNDS) {
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = cpuUs('self') + cpuUs(h.pid) - c0;
      if (shape === 'buffer' && m.bytes[65535] !== 7) throw new Error('buffer: bytes changed');
      console.log(`rounds=${ROUNDS} per_s=${(ROUNDS / s).toFixed(0)} cpu_us=${(cpu / ROUNDS).toFixed(2)}`);
      h.send(null);
      return;
    }
    msg.seq = m.seq + 1;
    h.send(msg);
  });
  h.send(msg);
}
