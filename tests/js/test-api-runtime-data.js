// runtime_data (ABI 3): each runtime thread gets its own block for a module,
// where its statics would be shared by all: a counter bumped in the main
// thread and in two workers at once stays separate in each.
import * as assert from './assert.js';
import * as api from 'apitest';
import { spawn } from 'thread';

const count = async (n) => {
  const api = await import('apitest');
  const seen = [];
  for (let i = 0; i < n; i++) {
    seen.push(api.counter());
    // Let the other threads run between increments.
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return seen;
};

assert.equal(api.counter(), 1);
const workers = [spawn(count, { args: [5] }), spawn(count, { args: [7] })];
for (let i = 0; i < 3; i++) api.counter();
const [a, b] = await Promise.all(workers.map((t) => t.join()));
assert.equal(a.code, 0, dv8.inspect(a.error));
assert.equal(b.code, 0, dv8.inspect(b.error));
assert.deepEqual(a.result, [1, 2, 3, 4, 5], 'the first worker counts from 1');
assert.deepEqual(b.result, [1, 2, 3, 4, 5, 6, 7], 'the second worker counts from 1');
assert.equal(api.counter(), 5, "the workers' calls did not count here");
