// Helper benchmark, the dv8 side (run by tests/bench/channel-peers and
// tests/bench/process-peers): message round trips per second to a helper
// process (module `helper`), one message in flight, and the CPU time both
// processes spent per round trip (from /proc: a side that spins shows it).
//   dv8 tests/bench/helper-pingpong.mjs [ROUNDS] [SHAPE]   (the helper: this file)
// SHAPE: small (an object, the default), string (a 1 KiB string) or
// buffer (a 64 KiB Uint8Array). Prints "rounds=N per_s=R cpu_us=C".
import { fork, parent } from 'helper';
import { readFileSync } from 'fs';

// utime + stime of a process, in microseconds (clock ticks are 1/100 s).
const cpuUs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10000;
};

if (parent !== null) {
  parent.onMessage = (m) => {
    if (m === null) parent.onMessage = null;
    else parent.send(m);
  };
} else {
  const ROUNDS = Number(dv8.args[0] || 20000);
  const shape = dv8.args[1] || 'small';
  const h = fork(import.meta.filename);
  let left = ROUNDS;
  let t0, c0;
  const msg = { seq: 0, name: 'ping', values: [1, 2, 3] };
  if (shape === 'string') msg.text = 'x'.repeat(1024);
  else if (shape === 'buffer') msg.bytes = new Uint8Array(65536).fill(7);
  else if (shape !== 'small') throw new Error(`unknown shape ${shape}`);
  const warm = 100;
  h.onMessage = (m) => {
    if (m.seq === warm) {
      t0 = dv8.hrtime();
      c0 = cpuUs('self') + cpuUs(h.pid);
    }
    if (m.seq === warm + ROUNDS) {
      const s = Number(dv8.hrtime() - t0) / 1e9;
      const cpu = cpuUs('self') + cpuUs(h.pid) - c0;
      if (shape === 'buffer' && m.bytes[65535] !== 7) throw new Error('buffer: bytes changed');
      console.log(`rounds=${ROUNDS} per_s=${(ROUNDS / s).toFixed(0)} cpu_us=${(cpu / ROUNDS).toFixed(2)}`);
      h.send(null);
      return;
    }
    msg.seq = m.seq + 1;
    h.send(msg);
  };
  h.send(msg);
}
