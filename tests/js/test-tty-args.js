// tty's descriptors and reader ids refuse NaN, fractions and out-of-range
// numbers with a RangeError naming the function and the argument, and a
// non-number with a TypeError.
import * as assert from './assert.js';
import * as tty from 'tty';

const cb = () => {};
const byFd = {
  isatty: (fd) => tty.isatty(fd),
  write: (fd) => tty.write(fd, ''),
  readStart: (fd) => tty.readStart(fd, new Uint8Array(8), cb),
};
for (const [name, call] of Object.entries(byFd)) {
  for (const bad of [NaN, Infinity, 1.5, -0.5, -1, 2 ** 31]) {
    const e = assert.throws(() => call(bad), RangeError, `${name}(${bad})`);
    assert.ok(e.message.startsWith(`${name}: argument 1 must be an integer from 0 to 2147483647 (got `), e.message);
  }
  assert.throws(() => call('1'), /must be an integer \(got string\)$/, `${name}('1')`);
}
assert.equal(typeof tty.isatty(0), 'boolean');
assert.equal(tty.write(1, ''), 0);

const byId = {
  readStop: (id) => tty.readStop(id),
  readResume: (id) => tty.readResume(id),
  close: (id) => tty.close(id),
  counters: (id) => tty.counters(id),
};
for (const [name, call] of Object.entries(byId)) {
  for (const bad of [NaN, Infinity, 1.5, -0.5, 0, -1, 2 ** 53]) {
    const e = assert.throws(() => call(bad), RangeError, `${name}(${bad})`);
    assert.ok(e.message.startsWith(`${name}: argument 1 must be a handle id from 1 to `), e.message);
  }
  assert.throws(() => call('1'), TypeError, `${name}('1')`);
}
assert.equal(tty.readStop(2 ** 53 - 1), -30008, 'ECLOSED for an id no reader has');
assert.equal(tty.counters(2 ** 53 - 1), undefined);
