// A generated corpus of values every MessagePack library maps the same way
// (core types and timestamps), shared by dv8 and node so that each side can
// rebuild the values the other side encoded. Used by
// tests/shell/test-serdes-interop.sh through interop.mjs.
export function generate(seed, count) {
  let s = seed >>> 0 || 1;
  const rand = (n) => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s % n;
  };
  const str = () => {
    const alphabets = ['abc', 'xyz_-09', 'éüß', '日本語', '😀🎉', ' \n\t"\\'];
    const a = [...alphabets[rand(alphabets.length)]];
    const len = [0, 1, 5, 31, 32, 40, 255, 256, 300][rand(9)];
    let out = '';
    for (let i = 0; i < len; i++) out += a[rand(a.length)];
    return out;
  };
  const num = () => {
    switch (rand(8)) {
      case 0: return rand(128);
      case 1: return -1 - rand(32);
      case 2: return rand(70000) - 35000;
      case 3: return (rand(2) ? 1 : -1) * rand(2 ** 31) * 2 ** rand(22);
      case 4: return rand(1e9) / 7;
      case 5: return [0, -0.5, 1e300, -1e-300, Infinity, -Infinity][rand(6)];
      case 6: return Number.MAX_SAFE_INTEGER - rand(1000);
      default: return -(2 ** 32) - rand(1000);
    }
  };
  const value = (depth) => {
    const k = rand(depth > 3 ? 6 : 9);
    switch (k) {
      case 0: return null;
      case 1: return rand(2) === 0;
      case 2: case 3: return num();
      case 4: return str();
      case 5: return new Date(rand(2) ? rand(2 ** 31) * 1000 : (rand(2 ** 30) - 2 ** 29) * 997);
      case 6: { const u = new Uint8Array([0, 3, 300, 70000][rand(4)]); for (let i = 0; i < u.length; i++) u[i] = rand(256); return u; }
      case 7: return Array.from({ length: rand(20) }, () => value(depth + 1));
      default: {
        const o = {};
        const n = rand(20);
        for (let i = 0; i < n; i++) o[str() + i] = value(depth + 1);
        return o;
      }
    }
  };
  return Array.from({ length: count }, () => value(0));
}

// Deep equality across runtimes: bin as bytes (node's Buffer is a
// Uint8Array), Dates by time, -0 kept apart from 0.
export function same(a, b) {
  if (Object.is(a, b)) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array)
    return a.length === b.length && a.every((x, i) => x === b[i]);
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b) &&
      !(a instanceof Uint8Array) && !(b instanceof Uint8Array) && !(a instanceof Date)) {
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same(a[k], b[k]));
  }
  return false;
}

// Frames: a 4-byte big-endian length, then the bytes.
export function frame(list) {
  const total = list.reduce((n, u) => n + 4 + u.length, 0);
  const out = new Uint8Array(total);
  let p = 0;
  for (const u of list) {
    new DataView(out.buffer).setUint32(p, u.length);
    out.set(u, p + 4);
    p += 4 + u.length;
  }
  return out;
}

export function unframe(bytes) {
  const out = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let p = 0; p < bytes.length;) {
    const n = dv.getUint32(p);
    out.push(bytes.subarray(p + 4, p + 4 + n));
    p += 4 + n;
  }
  return out;
}
