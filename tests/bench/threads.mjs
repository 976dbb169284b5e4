// Thread benchmark, one runtime per process (tests/bench/thread-peers runs
// both and prints ratios):
//   dv8  tests/bench/threads.mjs     dv8's thread module
//   node tests/bench/threads.mjs     node's worker_threads
// Prints one line per measure: RUNTIME NAME value=N unit=U cpu_us=C, C
// the CPU time the process (all its threads) spent per message or round
// trip, from /proc (a thread that spins shows it; not for start).
//   start      spawn to first message received, median of 30 spawns 20 ms
//              apart (ms)
//   start-b2b  the same, each spawn as soon as the last thread ended (ms)
//   oneway     1,000,000 small messages to a thread (messages/s)
//   pingpong   round trips of a small message (round trips/s)
//   transfer   a 1 MiB ArrayBuffer moved to a thread and back, 20,000 times (round trips/s)
const isDv8 = globalThis.dv8 !== undefined;
const name = isDv8 ? 'dv8' : 'node';
const N = Number((isDv8 ? dv8.env : process.env).THREADS_MESSAGES || 1000000);
const small = { id: 12345, name: 'Ada Lovelace', ok: true, tags: ['admin', 'ops', 'x'] };

// The worker's side, written once for both: echo mode replies to every
// message, count mode replies with the count when told 'end'.
function workerBody(port, send) {
  let count = 0;
  return (m) => {
    if (m === 'end') { send(count); count = 0; return; }
    if (m === 'quit') return 'quit';
    if (m.echo) { send(m, m.buffer ? [m.buffer] : undefined); return; }
    count++;
  };
}

let open; // () => Promise<{ send(v, transfer), onMessage(fn), close() }>
if (isDv8) {
  const { spawn, EFULL } = await import('thread');
  open = () => new Promise((resolve) => {
    const t = spawn(async (src) => {
      const { parent } = await import('thread');
      const body = (0, eval)(`(${src})`);
      const handle = body(parent, (v, transfer) => parent.send(v, transfer ? { transfer } : undefined));
      parent.onMessage = (m) => { if (handle(m) === 'quit') parent.onMessage = null; };
      parent.send('ready');
    }, { args: [String(workerBody)] });
    let listener = null;
    t.onMessage = (m) => {
      if (m === 'ready' && listener === null) {
        resolve({
          // Honours back-pressure: a full queue waits for onDrain.
          send(v, transfer) {
            const rc = t.send(v, transfer ? { transfer } : undefined);
            if (rc === EFULL) return new Promise((ok) => { t.onDrain = () => { t.onDrain = null; ok(this.send(v, transfer)); }; });
            if (rc !== 0) throw new Error(`send: ${rc}`);
            return undefined;
          },
          onMessage(fn) { listener = fn; },
          close() { t.send('quit'); return new Promise((ok) => { t.onExit = ok; }); },
        });
        return;
      }
      if (listener !== null) listener(m);
    };
  });
} else {
  const { Worker } = await import('node:worker_threads');
  const src = `
    const { parentPort } = require('node:worker_threads');
    const body = (${String(workerBody)});
    const handle = body(parentPort, (v, transfer) => parentPort.postMessage(v, transfer));
    parentPort.on('message', (m) => { if (handle(m) === 'quit') parentPort.close(); });
    parentPort.postMessage('ready');`;
  open = () => new Promise((resolve) => {
    const w = new Worker(src, { eval: true });
    let listener = null;
    w.on('message', (m) => {
      if (m === 'ready' && listener === null) {
        resolve({
          send(v, transfer) { w.postMessage(v, transfer); return undefined; },
          onMessage(fn) { listener = fn; },
          close() { w.postMessage('quit'); return new Promise((ok) => w.on('exit', ok)); },
        });
        return;
      }
      if (listener !== null) listener(m);
    });
  });
}

const { readFileSync } = isDv8 ? await import('fs') : await import('node:fs');
// utime + stime of this process, all threads, in microseconds.
const cpuUs = () => {
  const f = String(readFileSync('/proc/self/stat', 'utf8')).split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10000;
};
let c0 = 0;
const report = (what, value, unit, ops = 0) => {
  const cpu = ops > 0 ? ` cpu_us=${((cpuUs() - c0) / ops).toFixed(2)}` : '';
  console.log(`${name} ${what} value=${value} unit=${unit}${cpu}`);
};

// start: spawn to the first message ('ready') received, each spawn 20 ms
// after the last thread ended (a program starting a thread now and then);
// start-b2b: each spawn at once after the last thread ended (a spawn/join
// loop: dv8's spare runtime, made when a thread ends, is not ready yet).
for (const [what, gap] of [['start', 20], ['start-b2b', 0]]) {
  const times = [];
  for (let i = 0; i < 30; i++) {
    if (gap > 0) await new Promise((resolve) => setTimeout(resolve, gap));
    const t0 = performance.now();
    const w = await open();
    times.push(performance.now() - t0);
    await w.close();
  }
  times.sort((a, b) => a - b);
  report(what, times[15].toFixed(2), 'ms');
}

const w = await open();

// oneway: N small messages, then 'end'; the count comes back.
{
  const done = new Promise((resolve) => w.onMessage(resolve));
  c0 = cpuUs();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const wait = w.send(small);
    if (wait !== undefined) await wait;
  }
  await w.send('end');
  const count = await done;
  const s = (performance.now() - t0) / 1000;
  if (count !== N) throw new Error(`oneway: ${count} of ${N} arrived`);
  report('oneway', Math.round(N / s), 'msg/s', N);
}

// pingpong: one message in flight at a time.
{
  const rounds = Math.max(1000, N / 10);
  const msg = { echo: true, ...small };
  c0 = cpuUs();
  const t0 = performance.now();
  await new Promise((resolve) => {
    let left = rounds;
    w.onMessage(() => { if (--left === 0) resolve(); else w.send(msg); });
    w.send(msg);
  });
  const s = (performance.now() - t0) / 1000;
  report('pingpong', Math.round(rounds / s), 'rt/s', rounds);
}

// transfer: a 1 MiB buffer there and back, moved both ways.
{
  const rounds = 20000; // fewer measure the JIT warming up (dv8 1.3x slower at 2,000)
  let buffer = new ArrayBuffer(1 << 20);
  new Uint8Array(buffer).fill(7);
  c0 = cpuUs();
  const t0 = performance.now();
  await new Promise((resolve) => {
    let left = rounds;
    w.onMessage((m) => {
      buffer = m.buffer;
      if (--left === 0) resolve();
      else w.send({ echo: true, buffer }, [buffer]);
    });
    w.send({ echo: true, buffer }, [buffer]);
  });
  const s = (performance.now() - t0) / 1000;
  if (new Uint8Array(buffer)[12345] !== 7) throw new Error('transfer: bytes changed');
  report('transfer', Math.round(rounds / s), 'rt/s', rounds);
}
await w.close();
