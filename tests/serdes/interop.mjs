// Interop between dv8's serdes and independent MessagePack libraries (run
// by tests/shell/test-serdes-interop.sh):
//   node interop.mjs encode DIR   msgpackr and @msgpack/msgpack encode the
//                                 corpus into DIR/msgpackr.bin, DIR/msgpack.bin
//   dv8  interop.mjs check DIR    dv8 decodes both to the corpus, and writes
//                                 its own encoding to DIR/dv8.bin
//   node interop.mjs check DIR    both libraries decode dv8.bin to the corpus
// Each prints "NAME: N values ok" or the first difference, exit 1.
import { generate, same, frame, unframe } from './corpus.mjs';

const SEED = 20261121;
const COUNT = 3000;
const isDv8 = globalThis.dv8 !== undefined;
const [mode, dir] = isDv8 ? dv8.args : process.argv.slice(2);
const corpus = generate(SEED, COUNT);

async function io() {
  if (isDv8) {
    const fs = await import('fs');
    return {
      read: (p) => fs.readFileSync(p),
      write: (p, u) => fs.writeFileSync(p, u),
      exit: (c) => dv8.exit(c),
    };
  }
  const fs = await import('node:fs');
  return { read: (p) => new Uint8Array(fs.readFileSync(p)), write: (p, u) => fs.writeFileSync(p, u), exit: (c) => process.exit(c) };
}

async function peers() {
  const base = new URL('../peers/node_modules/', import.meta.url);
  const r = await import(new URL('msgpackr/index.js', base));
  const m = await import(new URL('@msgpack/msgpack/dist.esm/index.mjs', base));
  // msgpackr 2 reads 64-bit integers as BigInt unless told; dv8 writes safe
  // integers beyond 32 bits as int64/uint64, which are Numbers here.
  const packr = new r.Packr({ useRecords: false, int64AsType: 'number' });
  return {
    msgpackr: { encode: (v) => packr.pack(v), decode: (b) => packr.unpack(b) },
    msgpack: { encode: (v) => m.encode(v), decode: (b) => m.decode(b) },
  };
}

function check(name, frames, decode, f) {
  if (frames.length !== corpus.length) {
    console.log(`${name}: ${frames.length} values, ${corpus.length} expected`);
    return false;
  }
  for (let i = 0; i < frames.length; i++) {
    let got;
    try {
      got = decode(frames[i]);
    } catch (err) {
      console.log(`${name}: value ${i} does not decode: ${err.message}`);
      return false;
    }
    if (!same(got, corpus[i])) {
      const show = (v) => String(JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? `${x}n` : x))).slice(0, 300);
      console.log(`${name}: value ${i} differs\nexpected ${show(corpus[i])}\ngot      ${show(got)}`);
      return false;
    }
  }
  console.log(`${name}: ${frames.length} values ok`);
  return true;
}

const f = await io();
let ok = true;
if (mode === 'encode' && !isDv8) {
  const p = await peers();
  for (const [name, lib] of Object.entries(p)) f.write(`${dir}/${name}.bin`, frame(corpus.map((v) => lib.encode(v))));
  console.log(`encoded ${corpus.length} values with msgpackr and @msgpack/msgpack`);
} else if (mode === 'check' && isDv8) {
  const { encode, decode } = await import('serdes');
  for (const name of ['msgpackr', 'msgpack'])
    ok = check(`dv8 decodes ${name}`, unframe(f.read(`${dir}/${name}.bin`)), (b) => decode(b), f) && ok;
  f.write(`${dir}/dv8.bin`, frame(corpus.map((v) => encode(v))));
} else if (mode === 'check' && !isDv8) {
  const p = await peers();
  const frames = unframe(f.read(`${dir}/dv8.bin`));
  for (const [name, lib] of Object.entries(p)) ok = check(`${name} decodes dv8`, frames, lib.decode, f) && ok;
} else {
  console.log('usage: node interop.mjs encode|check DIR, dv8 interop.mjs check DIR');
  ok = false;
}
f.exit(ok ? 0 : 1);
