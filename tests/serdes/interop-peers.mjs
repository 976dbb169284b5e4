// dv8's side of tests/shell/test-serdes-interop-peers.sh, the interop test
// against independent MessagePack codecs installed from Debian packages
// (msgpack-c, Python's msgpack in C and in pure Python, Ruby's msgpack):
//   dv8 interop-peers.mjs write DIR
//       writes the edge corpus (edge-corpus.mjs) as edge.bin (inputs) and
//       edge.json (their values), checks that dv8 decodes each input to its
//       value and writes it back as the corpus says (view j), into
//       edge.dv8.bin; and writes corpus.mjs's random values as
//       random.dv8.bin (checking that they decode to themselves) with
//       their values in random.json, which the peers check theirs against.
//   dv8 interop-peers.mjs check DIR PEER...
//       for each peer, edge.PEER.bin (its writing of edge.bin) must be the
//       bytes the corpus expects of such a codec and decode to the values;
//       random.PEER.bin (its writing of random.dv8.bin) must be
//       random.dv8.bin again and decode to the values of random.json; and
//       edge.dv8.c.bin (msgpack-c rewriting dv8's output) edge.dv8.bin.
//   dv8 interop-peers.mjs roundtrip DIR NAME
//       decodes NAME.bin (values a peer generated and encoded), checks each
//       against NAME.json, and writes them back into NAME.dv8.bin for that
//       peer to check.
// Each prints "dv8 ...: N values ok" lines or the differences (the first
// few of each peer), exit 1.
import * as fs from 'fs';
import { encode, decode, Extension, Timestamp } from 'serdes';
import { generate, frame, unframe } from './corpus.mjs';
import { edges, bytesOf, tagged } from './edge-corpus.mjs';

const SEED = 20261122;
// corpus.mjs's generator nests arrays and maps of up to 20 items 4 deep, so
// one value in six encodes to 64 KiB .. 700 KiB: those are left out, for
// many values rather than a few huge ones in the time the test has (big
// containers are in the edge corpus).
const COUNT = 600;
const LARGEST = 65536;
function randomValues() {
  const values = [];
  const encoded = [];
  for (const v of generate(SEED, COUNT)) {
    const bytes = encode(v);
    if (bytes.length > LARGEST) continue;
    values.push(v);
    encoded.push(bytes);
  }
  return [values, encoded];
}
// What each peer writes back of an edge input (edge-corpus.mjs's views):
// msgpack-c keeps float32 and treats timestamps as opaque extensions; the
// Python and Ruby codecs hold floats as doubles and read timestamps.
const VIEW = { c: 'o', python: 'w', 'python-pure': 'w', ruby: 'w' };
const SAFE = 2n ** 53n - 1n;

const [mode, dir, ...rest] = dv8.args;
const hex = (u, max = 32) => {
  if (u.length === 0) return '(nothing)';
  const s = Array.from(u.subarray(0, max), (x) => x.toString(16).padStart(2, '0')).join(' ');
  return u.length > max ? `${s} ... (${u.length} bytes)` : s;
};
const show = (v) => {
  const s = String(JSON.stringify(v, (k, x) => {
    if (typeof x === 'bigint') return `${x}n`;
    if (typeof x === 'number' && !Number.isFinite(x)) return String(x);
    if (Object.is(x, -0)) return '-0';
    if (x instanceof Uint8Array) return `bin ${hex(x, 16)}`;
    if (x instanceof Map) return { Map: [...x] };
    return x;
  }));
  return s.length > 300 ? s.slice(0, 300) + '...' : s;
};
const eqBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const read = (name) => fs.readFileSync(`${dir}/${name}`);
const readJson = (name) => JSON.parse(fs.readFileSync(`${dir}/${name}`, 'utf8'));
const exact = (u) => decode(u, 0, u.length, { timestamps: 'exact' });

function f64of(h) {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setBigUint64(0, BigInt('0x' + h));
  return dv.getFloat64(0);
}
function f64bits(x) {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  return dv.getBigUint64(0).toString(16).padStart(16, '0');
}
const unhex = (h) => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));
const tohex = (u) => Array.from(u, (x) => x.toString(16).padStart(2, '0')).join('');

// A tagged value (edge-corpus.mjs's tagged()) as dv8 decodes it with
// timestamps: 'exact'.
function untag(t) {
  if (t === null || typeof t === 'boolean') return t;
  if ('int' in t) {
    const n = BigInt(t.int);
    return n >= -SAFE && n <= SAFE ? Number(n) : n;
  }
  if ('float' in t) return f64of(t.float);
  if ('str' in t) return t.str;
  if ('bin' in t) return unhex(t.bin);
  if ('array' in t) return t.array.map(untag);
  if ('map' in t) {
    const pairs = t.map.map(([k, v]) => [untag(k), untag(v)]);
    if (!pairs.every(([k]) => typeof k === 'string')) return new Map(pairs);
    const o = {};
    // defineProperty: '__proto__' is a key like any other.
    for (const [k, v] of pairs) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
    return o;
  }
  if ('ext' in t) return new Extension(t.ext, unhex(t.data));
  if ('ts' in t) return new Timestamp(Number(t.ts[0]), t.ts[1]);
  throw new Error(`bad tagged value ${JSON.stringify(t)}`);
}

// A JS value as tagged JSON, by the mapping of docs/serdes.md (what dv8
// writes for it), for the peers to compare their decoding with.
function tag(v) {
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isSafeInteger(v) && !Object.is(v, -0) ? { int: String(v) } : { float: f64bits(v) };
  if (typeof v === 'bigint') return { int: v.toString() };
  if (typeof v === 'string') return { str: v };
  if (v instanceof Uint8Array) return { bin: tohex(v) };
  if (v instanceof Date) {
    const ms = v.getTime();
    const sec = Math.floor(ms / 1000);
    return { ts: [String(sec), (ms - sec * 1000) * 1e6] };
  }
  if (Array.isArray(v)) return { array: v.map(tag) };
  if (v instanceof Map) return { map: [...v].map(([k, x]) => [tag(k), tag(x)]) };
  return { map: Object.entries(v).map(([k, x]) => [{ str: k }, tag(x)]) };
}

// Deep equality that tells every decoded shape apart: -0 from 0, numbers
// from BigInts, objects from Maps, key order included.
function same(a, b) {
  if (typeof a !== typeof b) return false;
  if (typeof a !== 'object' || a === null || b === null) return Object.is(a, b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Uint8Array) return eqBytes(a, b);
  if (a instanceof Date) return Object.is(a.getTime(), b.getTime());
  if (a instanceof Timestamp) return a.seconds === b.seconds && a.nanoseconds === b.nanoseconds;
  if (a instanceof Extension) return a.type === b.type && eqBytes(a.data, b.data);
  if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (a instanceof Map) {
    const ea = [...a], eb = [...b];
    return ea.length === eb.length && ea.every(([k, v], i) => same(k, eb[i][0]) && same(v, eb[i][1]));
  }
  const proto = Object.getPrototypeOf(a);
  if (proto !== Object.prototype && proto !== null) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same(a[k], b[k]));
}

// Where two values part: [path, a's part, b's part] (show() cuts long
// values, so a message names the place).
function where(a, b, path = 'value') {
  if (same(a, b)) return null;
  const kids = (x) => {
    if (x instanceof Map) return [...x].flatMap(([k, v], i) => [[`.keys()[${i}]`, k], [`.get(${show(k).slice(0, 20)})`, v]]);
    if (Array.isArray(x)) return x.map((v, i) => [`[${i}]`, v]);
    if (x && typeof x === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(x)))
      return Object.keys(x).flatMap((k, i) => [[`.<key ${i}>`, k], [`[${JSON.stringify(k).slice(0, 20)}]`, x[k]]]);
    return null;
  };
  const ka = kids(a), kb = kids(b);
  if (ka && kb && ka.length === kb.length && Object.getPrototypeOf(a) === Object.getPrototypeOf(b)) {
    for (let i = 0; i < ka.length; i++) {
      const w = where(ka[i][1], kb[i][1], path + ka[i][0]);
      if (w) return w;
    }
  }
  return [path, a, b];
}
const differs = (got, want) => {
  const [path, g, w] = where(got, want);
  return `${path} is ${show(g)}, expected ${show(w)}`;
};

// Failures of one check, the first few printed in full.
function reporter(what) {
  let failed = 0;
  return {
    fail(msg) {
      if (failed++ < 8) console.log(`${what}: ${msg}`);
    },
    done(count, extra = '') {
      if (failed) console.log(`${what}: ${failed} of ${count} values wrong`);
      else console.log(`${what}: ${count} values ok${extra}`);
      return failed === 0;
    },
  };
}

function frames(name, count, r) {
  const list = unframe(read(name));
  if (list.length !== count) r.fail(`${name} holds ${list.length} values, ${count} expected`);
  return list;
}

// An extension type below 0 other than -1: msgpack.fallback's packer
// refuses them (pack_ext_type checks 0..127), the one thing a peer may
// leave out (an empty frame).
const negativeExt = (n) =>
  (n.kind === 'ext' && n.type < 0) ||
  (n.items ?? []).some(negativeExt) || (n.pairs ?? []).some(([k, v]) => negativeExt(k) || negativeExt(v));
const MAY_SKIP = { 'python-pure': negativeExt };

// An edge input or a peer's writing of it, decoded by dv8: the value, or
// for what dv8 refuses, that refusal.
function checkDecode(r, e, i, bytes, source) {
  let got;
  try {
    got = exact(bytes);
  } catch (err) {
    if (e.refuse && err.code === 'ESERDES' && err.message.includes(e.refuse)) return true;
    r.fail(`edge #${i} '${e.name}' from ${source}: ${hex(bytes)} does not decode: ${err.message}`);
    return false;
  }
  if (e.refuse) {
    r.fail(`edge #${i} '${e.name}' from ${source}: decodes to ${show(got)}, refused ('${e.refuse}') until now: update the corpus`);
    return false;
  }
  const want = (e.value ??= untag(tagged(e.node)));
  if (!same(got, want)) {
    r.fail(`edge #${i} '${e.name}' from ${source}: ${hex(bytes)} decodes wrong:\n  ${differs(got, want)}`);
    return false;
  }
  return true;
}

let ok = true;
if (mode === 'write') {
  const r = reporter('dv8 decodes and rewrites the edge corpus');
  const out = [];
  for (const [i, e] of edges.entries()) {
    const input = bytesOf(e, 'b');
    if (!checkDecode(r, e, i, input, 'the corpus') || e.refuse) {
      out.push(new Uint8Array(0));
      continue;
    }
    const again = encode(exact(input));
    const want = bytesOf(e, 'j');
    if (!eqBytes(again, want)) r.fail(`edge #${i} '${e.name}': ${hex(input)} written back as\n  ${hex(again)}, expected\n  ${hex(want)}`);
    out.push(again);
  }
  fs.writeFileSync(`${dir}/edge.bin`, frame(edges.map((e) => bytesOf(e, 'b'))));
  fs.writeFileSync(`${dir}/edge.json`, JSON.stringify(edges.map((e) => ({ name: e.name, value: tagged(e.node) }))));
  fs.writeFileSync(`${dir}/edge.dv8.bin`, frame(out));
  const refused = edges.filter((e) => e.refuse).length;
  ok = r.done(edges.length, `, ${refused} refused as the corpus says`);
  const rr = reporter('dv8 encodes and decodes its random values');
  const [corpus, encoded] = randomValues();
  for (const [i, v] of corpus.entries()) {
    if (!same(decode(encoded[i]), v)) rr.fail(`random #${i}: ${hex(encoded[i])} decodes wrong:\n  ${differs(decode(encoded[i]), v)}`);
  }
  fs.writeFileSync(`${dir}/random.dv8.bin`, frame(encoded));
  fs.writeFileSync(`${dir}/random.json`, JSON.stringify(corpus.map(tag)));
  ok = rr.done(corpus.length) && ok;
} else if (mode === 'check' && rest.length) {
  // The values as random.json has them (Dates as Timestamps): generating
  // them again costs more than the rest of the check.
  const corpus = readJson('random.json').map(untag);
  const mine = unframe(read('random.dv8.bin'));
  for (const peer of rest) {
    const r = reporter(`dv8 checks ${peer}'s writing of the edge corpus`);
    const list = frames(`edge.${peer}.bin`, edges.length, r);
    let skipped = 0;
    for (const [i, e] of edges.entries()) {
      const got = list[i] ?? new Uint8Array(0);
      if (got.length === 0 && MAY_SKIP[peer]?.(e.node)) { skipped++; continue; }
      const want = bytesOf(e, VIEW[peer]);
      if (!eqBytes(got, want)) {
        r.fail(`edge #${i} '${e.name}': ${hex(bytesOf(e, 'b'))} written back as\n  ${hex(got)}, expected\n  ${hex(want)}`);
        continue;
      }
      checkDecode(r, e, i, got, peer);
    }
    ok = r.done(edges.length, skipped ? `, ${skipped} left out (extension types below 0, which it cannot write)` : '') && ok;

    const rr = reporter(`dv8 checks ${peer}'s writing of dv8's random values`);
    const back = frames(`random.${peer}.bin`, corpus.length, rr);
    for (const [i, v] of corpus.entries()) {
      const got = back[i] ?? new Uint8Array(0);
      if (!eqBytes(got, mine[i])) rr.fail(`random #${i} ${show(v)}: dv8 wrote\n  ${hex(mine[i])}, written back as\n  ${hex(got)}`);
      else if (!same(exact(got), v)) rr.fail(`random #${i}: ${hex(got)} decodes wrong:\n  ${differs(exact(got), v)}`);
    }
    ok = rr.done(corpus.length) && ok;
  }
  // msgpack-c reads what dv8 wrote of the edge corpus and writes it again
  // (in the smallest forms, as dv8 does): the same bytes.
  const r = reporter("dv8 checks c's writing of dv8's edge output");
  const dv8s = unframe(read('edge.dv8.bin'));
  const cs = frames('edge.dv8.c.bin', dv8s.length, r);
  for (const [i, e] of edges.entries()) {
    if (!eqBytes(cs[i] ?? [], dv8s[i])) r.fail(`edge #${i} '${e.name}': dv8 wrote\n  ${hex(dv8s[i])}, c wrote back\n  ${hex(cs[i] ?? [])}`);
  }
  ok = r.done(edges.length) && ok;
} else if (mode === 'roundtrip' && rest.length === 1) {
  const [name] = rest;
  const r = reporter(`dv8 decodes and rewrites ${name}`);
  const values = readJson(`${name}.json`);
  const list = frames(`${name}.bin`, values.length, r);
  const out = [];
  for (const [i, t] of values.entries()) {
    const want = untag(t);
    let got;
    try {
      got = exact(list[i]);
    } catch (err) {
      r.fail(`#${i} ${hex(list[i])} does not decode: ${err.message}; expected ${show(want)}`);
      out.push(new Uint8Array(0));
      continue;
    }
    if (!same(got, want)) r.fail(`#${i} ${hex(list[i])} decodes wrong:\n  ${differs(got, want)}`);
    out.push(encode(got));
  }
  fs.writeFileSync(`${dir}/${name}.dv8.bin`, frame(out));
  ok = r.done(values.length);
} else {
  console.log('usage: dv8 interop-peers.mjs write DIR | check DIR PEER... | roundtrip DIR NAME');
  ok = false;
}
dv8.exit(ok ? 0 : 1);
