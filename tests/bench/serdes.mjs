// Serdes benchmark, one codec per process: encode and decode of three
// payloads, median ns per operation over several timed rounds.
//   dv8  tests/bench/serdes.mjs dv8            (dv8's serdes module)
//   node tests/bench/serdes.mjs msgpackr|msgpack|v8|json
// Prints one line per payload and direction: CODEC PAYLOAD OP ns=N bytes=N.
// tests/bench/serdes-peers runs them side by side and prints ratios.
const codecName = (globalThis.dv8 ? dv8.args : process.argv.slice(2))[0] || 'dv8';
const ROUND_MS = Number((globalThis.dv8 ? dv8.env : process.env).SERDES_ROUND_MS || 200);
const ROUNDS = Number((globalThis.dv8 ? dv8.env : process.env).SERDES_ROUNDS || 7);

async function load(name) {
  if (name === 'dv8') {
    const s = await import('serdes');
    const opts = { views: true };
    return { encode: (v) => s.encode(v), decode: (b) => s.decode(b, undefined, undefined, opts) };
  }
  const peers = new URL('../peers/node_modules/', import.meta.url);
  if (name === 'msgpackr') {
    const m = await import(new URL('msgpackr/index.js', peers));
    const p = new m.Packr({ useRecords: false, int64AsType: 'number' });
    return { encode: (v) => p.pack(v), decode: (b) => p.unpack(b) };
  }
  if (name === 'msgpack') {
    const m = await import(new URL('@msgpack/msgpack/dist.esm/index.mjs', peers));
    const enc = new m.Encoder();
    const dec = new m.Decoder();
    return { encode: (v) => enc.encode(v), decode: (b) => dec.decode(b) };
  }
  if (name === 'v8') {
    const v8 = await import('node:v8');
    return { encode: (v) => v8.serialize(v), decode: (b) => v8.deserialize(b) };
  }
  if (name === 'json') {
    const te = new TextEncoder();
    const td = new TextDecoder();
    return { encode: (v) => te.encode(JSON.stringify(v)), decode: (b) => JSON.parse(td.decode(b)) };
  }
  throw new Error(`unknown codec ${name}`);
}

const small = () => ({ id: 12345, name: 'Ada Lovelace', ok: true, tags: ['admin', 'ops', 'x'] });
const payloads = {
  small: small(),
  array1000: Array.from({ length: 1000 }, (_, i) => ({ id: i, name: `user-${i}`, ok: i % 3 !== 0, tags: ['a', 'bb', `t${i % 7}`] })),
  bin1MiB: (() => { const u = new Uint8Array(1 << 20); for (let i = 0; i < u.length; i++) u[i] = (i * 2654435761) >>> 24; return u; })(),
};

function time(fn) {
  // Calibrate a batch that takes about a millisecond, then time rounds.
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
}

const codec = await load(codecName);
let sink = 0;
for (const [name, value] of Object.entries(payloads)) {
  const bytes = codec.encode(value);
  const back = codec.decode(bytes);
  if (JSON.stringify(Object.keys(back)) !== JSON.stringify(Object.keys(value)))
    throw new Error(`${codecName}: ${name} did not round-trip`);
  const enc = time(() => { sink += codec.encode(value).length; });
  const dec = time(() => { sink += codec.decode(bytes) === null ? 1 : 0; });
  console.log(`${codecName} ${name} encode ns=${enc.toFixed(0)} bytes=${bytes.length}`);
  console.log(`${codecName} ${name} decode ns=${dec.toFixed(0)} bytes=${bytes.length}`);
}
if (sink === 0.5) console.log(sink);
