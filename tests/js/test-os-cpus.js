// os.cpus() lists at least one CPU, each with a model, a speed and its
// times; the process may run on no more of them than exist.
import * as assert from './assert.js';
import * as os from 'os';

const cpus = os.cpus();
assert.ok(Array.isArray(cpus), 'cpus() is an array');
assert.ok(cpus.length >= 1, 'at least one CPU');
for (const cpu of cpus) {
  assert.equal(typeof cpu.model, 'string');
  assert.ok(Number.isFinite(cpu.speed) && cpu.speed >= 0, `speed ${cpu.speed}`);
  assert.deepEqual(Object.keys(cpu.times), ['user', 'nice', 'sys', 'idle', 'irq']);
  for (const [k, v] of Object.entries(cpu.times)) {
    assert.ok(Number.isInteger(v) && v >= 0, `times.${k} ${v}`);
  }
}
const n = os.availableParallelism();
assert.ok(Number.isInteger(n) && n >= 1, `availableParallelism ${n}`);
assert.ok(cpus.length >= n, `${cpus.length} CPUs, availableParallelism ${n}`);
