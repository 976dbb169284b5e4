// The process functions that take a child's or a signal handler's id refuse
// NaN, fractions and out-of-range numbers with a RangeError naming the
// function and the argument, and a non-number with a TypeError; signals and
// sizes that are not numbers of the right kind throw too.
import * as assert from './assert.js';
import * as proc from 'process';

const cb = () => {};
const byId = {
  kill: (id) => proc.kill(id),
  onExit: (id) => proc.onExit(id, cb),
  pid: (id) => proc.pid(id),
  ref: (id) => proc.ref(id, true),
  refSignal: (id) => proc.refSignal(id, true),
  close: (id) => proc.close(id),
  onSignal: (id) => proc.onSignal(id, cb),
};
for (const [name, call] of Object.entries(byId)) {
  for (const bad of [NaN, Infinity, 1.5, -0.5, 0, -1, 2 ** 53]) {
    const e = assert.throws(() => call(bad), RangeError, `${name}(${bad})`);
    assert.ok(e.message.startsWith(`${name}: argument 1 must be a handle id from 1 to `), e.message);
  }
}
for (const name of ['kill', 'onExit', 'pid', 'ref', 'close']) {
  assert.throws(() => byId[name]('1'), TypeError, `${name}('1')`);
}
assert.equal(proc.kill(2 ** 53 - 1), proc.ESRCH, 'an id no child has');

// Signals: a name or a whole number from 1 to 64.
const child = proc.spawn('sleep', ['10'], { stdio: 'ignore' });
assert.ok(child.id > 0, `spawn: ${dv8.inspect(child)}`);
for (const bad of [NaN, 1.5, 0, 65, -9, 'SIGNOPE', {}]) {
  assert.throws(() => proc.kill(child.id, bad), /^kill: unknown signal$/, `kill(id, ${String(bad)})`);
}
const exited = new Promise((resolve) => proc.onExit(child.id, (status, signal) => resolve(signal)));
assert.equal(proc.kill(child.id, 'SIGKILL'), 0);
assert.equal(await exited, 9);

// exec's output limit is a byte count.
for (const bad of [NaN, 0, -1, Infinity, 2 ** 31]) {
  assert.throws(() => proc.exec('true', [], { maxOutput: bad }, cb), /^options.maxOutput must be 1 byte to 1 GiB$/);
}
