// ArrayBuffer allocation: a JS loop allocating and dropping buffers of
// 1 KiB and 1 MiB (new ArrayBuffer and new Uint8Array), median ns per
// allocation over several timed rounds; the garbage collector frees them
// as it goes, so its cost is in the numbers.
//   dv8 tests/bench/arraybuffer.mjs            the main thread
//   dv8 tests/bench/arraybuffer.mjs thread MB  in a thread with heapLimitMb MB
//   AB_WHERE=main-limit-256MiB dv8 --heap-limit 256 tests/bench/arraybuffer.mjs
//   node tests/bench/arraybuffer.mjs           the same loops in node
// Prints one line per case: arraybuffer WHERE SIZE ns=N.
// Knobs (env): AB_ROUNDS (7), AB_ROUND_MS (200), AB_WHERE (the name).
const isDv8 = typeof dv8 !== 'undefined';
const env = isDv8 ? dv8.env : process.env;
const args = isDv8 ? dv8.args : process.argv.slice(2);
const ROUNDS = Number(env.AB_ROUNDS || 7);
const ROUND_MS = Number(env.AB_ROUND_MS || 200);

function run(where) {
  const time = (fn) => {
    let batch = 1;
    for (;;) {
      const t0 = performance.now();
      for (let i = 0; i < batch; i++) fn();
      if (performance.now() - t0 > 1) break;
      batch *= 2;
    }
    const results = [];
    for (let r = 0; r < ROUNDS; r++) {
      let n = 0;
      const t0 = performance.now();
      let t;
      do {
        for (let i = 0; i < batch; i++) fn();
        n += batch;
        t = performance.now();
      } while (t - t0 < ROUND_MS);
      results.push(((t - t0) * 1e6) / n);
    }
    results.sort((a, b) => a - b);
    return results[results.length >> 1];
  };
  let sink = 0;
  const lines = [];
  for (const [name, size] of [['1KiB', 1024], ['1MiB', 1 << 20]]) {
    const ab = time(() => { sink += new ArrayBuffer(size).byteLength; });
    const u8 = time(() => { sink += new Uint8Array(size).length; });
    lines.push(`arraybuffer ${where} ArrayBuffer-${name} ns=${ab.toFixed(0)}`);
    lines.push(`arraybuffer ${where} Uint8Array-${name} ns=${u8.toFixed(0)}`);
  }
  return sink > 0 ? lines : [];
}

if (isDv8 && args[0] === 'thread') {
  const { spawn } = await import('thread');
  const mb = Number(args[1] || 64);
  // The function's source goes to the thread, with the knobs as arguments.
  const worker = spawn(new Function('ROUNDS', 'ROUND_MS', 'where', `return (${run})(where);`), {
    args: [ROUNDS, ROUND_MS, `thread-limit-${mb}MiB`], heapLimitMb: mb,
  });
  const { code, result, error } = await worker.join();
  if (code !== 0) throw error;
  for (const line of result) console.log(line);
} else {
  for (const line of run(env.AB_WHERE || (isDv8 ? 'main' : 'node'))) console.log(line);
}
