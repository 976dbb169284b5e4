// Handle ids are JS numbers that stay exact: positive safe integers, never
// reused. 100,000 one-shot timers made and cleared get ever larger ids, all
// different, while the table stays as large as it was.
import * as assert from './assert.js';

// Closes complete at the end of a loop iteration; two timers in a row wait
// for that (the first may fire in the very iteration that completes them).
// The second is still in the table when this resolves: counts below add 1.
const settle = () => new Promise((resolve) => setTimeout(() => setTimeout(resolve, 1), 1));

const checkIds = (handles, what) => {
  let last = 0;
  for (const h of handles) {
    assert.ok(Number.isSafeInteger(h.id) && h.id > 0, `${what}: id ${h.id} is a positive safe integer`);
    assert.ok(h.id > last, `${what}: ids increase, oldest first (${last}, then ${h.id})`);
    last = h.id;
  }
};

const keep = [setInterval(() => {}, 100000), setTimeout(() => {}, 100000)];
const base = dv8.handles().length;
checkIds(dv8.handles(), 'at the start');

const N = 100000;
const seen = new Set();
let last = 0;
for (let round = 0; round < 10; round++) {
  for (let i = 0; i < N / 10; i++) {
    const t = setTimeout(() => {}, 100000);
    const id = Number(t);
    assert.ok(Number.isSafeInteger(id) && id > last, `id ${id} after ${last}`);
    seen.add(id);
    last = id;
    clearTimeout(t);
  }
  await settle();
  assert.equal(dv8.handles().length, base + 1, `the table stays flat (round ${round})`);
}
assert.equal(seen.size, N, 'every id different');

keep.push(setTimeout(() => {}, 100000));
const handles = dv8.handles();
checkIds(handles, 'at the end');
assert.ok(handles.at(-1).id > last, 'a new handle gets a larger id still');
for (const t of keep) clearTimeout(t);
