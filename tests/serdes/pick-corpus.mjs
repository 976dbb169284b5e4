// Picks the fuzzer's finds worth keeping in tests/serdes/corpus: the
// smallest input for each outcome (the decoded value's shape, or which
// check refused it, numbers and quoted text removed), at most LIMIT.
//   build/dv8 tests/serdes/pick-corpus.mjs FROM_DIR TO_DIR [LIMIT]
import * as fs from 'fs';
import { decode, SerdesError } from 'serdes';

const [from, to, limitArg] = dv8.args;
const limit = Number(limitArg || 300);
const shape = (v, d) => {
  if (v === null || typeof v !== 'object') return typeof v;
  const name = v.constructor ? v.constructor.name : 'null-proto';
  if (d > 2) return name;
  const kids = v instanceof Map ? [...v.values()] : v instanceof Set ? [...v] : ArrayBuffer.isView(v) ? [] : Object.values(v);
  return `${name}(${[...new Set(kids.map((k) => shape(k, d + 1)))].sort().join(',')})`;
};
const best = new Map();
for (const name of fs.readdirSync(from)) {
  const bytes = fs.readFileSync(`${from}/${name}`);
  let key;
  try {
    key = `ok:${shape(decode(bytes), 0)}`;
  } catch (err) {
    if (!(err instanceof SerdesError)) throw new Error(`${name}: ${err.stack}`);
    key = `err:${err.message.replace(/:.*$/, '').replace(/[0-9]+/g, 'N')}`;
  }
  const had = best.get(key);
  if (had === undefined || had.bytes.length > bytes.length) best.set(key, { name, bytes });
}
const kept = [...best.entries()].sort((a, b) => a[1].bytes.length - b[1].bytes.length).slice(0, limit);
for (const [, { name, bytes }] of kept) fs.writeFileSync(`${to}/found-${name.slice(0, 12)}`, bytes);
console.log(`${best.size} outcomes in ${from}; kept ${kept.length} in ${to}`);
