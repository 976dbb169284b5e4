// 1,000,000 timers set and cleared, and 100,000 one-shot timers that fire,
// in batches of 10,000 and 1,000: every id is a positive safe integer larger
// than the one before (ids are never reused; the old slot-and-generation ids
// went negative after a few thousand reuses of one slot), and the handle
// table ends where it began. DV8_TIMERS=N sets the number cleared, a
// multiple of 1,000,000. Past 1,000,000 (make soak runs 10,000,000), RSS is
// sampled and printed after every million, and from the first sample to the
// last it grows less than 4 MiB (measured: 0.5 MiB over 9,000,000 timers;
// 16 MiB under AddressSanitizer, whose quarantine holds freed memory). Not
// in the shorter run: RSS rises through the first million as V8's heap
// settles (measured 58 to 78 MiB), then stays flat.
import * as assert from './assert.js';

const CLEARED = Number(dv8.env.DV8_TIMERS ?? 1_000_000);
const BATCH = 10_000;
const FIRED_PER_BATCH = 1_000;
const SAMPLE = 1_000_000;
const BATCHES = CLEARED / BATCH;
assert.ok(Number.isInteger(CLEARED / SAMPLE) && CLEARED > 0, `DV8_TIMERS=${CLEARED}: a multiple of ${SAMPLE}`);
const LONG = CLEARED > 1_000_000;

// As in test-handles.js: two timers in a row, so that closes begun before
// have completed; the second is still in the table when this resolves.
const settle = () => new Promise((resolve) => setTimeout(() => setTimeout(resolve, 1), 1));
const never = () => {
  throw new Error('a cleared timer fired');
};

const base = dv8.handles().length;
const mib = () => dv8.memoryUsage().rss / 1048576;
const rss = [];
let last = 0;
function checkId(t, what) {
  const id = Number(t);
  if (!Number.isSafeInteger(id) || id <= last) {
    throw new assert.AssertionError(`${what}: id ${id} after ${last}`);
  }
  last = id;
}

const t0 = performance.now();
const batch = new Array(BATCH);
let fired = 0;
for (let b = 0; b < BATCHES; b++) {
  for (let i = 0; i < BATCH; i++) {
    batch[i] = setTimeout(never, 60_000);
    checkId(batch[i], `timer ${b * BATCH + i}`);
  }
  // Half cleared through the Timeout object, half by number.
  for (let i = 0; i < BATCH; i++) clearTimeout(i % 2 ? batch[i] : Number(batch[i]));
  await new Promise((resolve) => {
    let left = FIRED_PER_BATCH;
    for (let i = 0; i < FIRED_PER_BATCH; i++) {
      const t = setTimeout(() => {
        fired++;
        if (--left === 0) resolve();
      }, i % 2);
      checkId(t, `one-shot timer ${b * FIRED_PER_BATCH + i}`);
    }
  });
  if (LONG && ((b + 1) * BATCH) % SAMPLE === 0) {
    rss.push(mib());
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(`${(b + 1) * BATCH} cleared: RSS ${rss.at(-1).toFixed(1)} MiB, ${s} s`);
  }
}
const ms = performance.now() - t0;
assert.equal(fired, BATCHES * FIRED_PER_BATCH, 'every one-shot timer fired once');
await settle();
assert.equal(dv8.handles().length, base + 1, 'the handle table is back where it began');
if (LONG) {
  const grew = rss.at(-1) - rss[0];
  const samples = rss.map((r) => r.toFixed(1)).join(' ');
  console.log(`${CLEARED} cleared, ${fired} fired in ${(ms / 1000).toFixed(1)} s; last id ${last}; RSS grew ${grew.toFixed(1)} MiB`);
  assert.ok(grew < (dv8.env.ASAN_OPTIONS ? 16 : 4), `RSS grew ${grew.toFixed(1)} MiB over ${CLEARED - SAMPLE} timers (MiB: ${samples})`);
}
