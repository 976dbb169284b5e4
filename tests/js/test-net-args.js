// Every net function that takes a stream id, a descriptor, a port, a
// backlog, a length or a limit refuses NaN, fractions and out-of-range
// numbers with a RangeError naming the function and the argument (they were
// cast to integers: undefined behaviour), and a non-number with a TypeError.
import * as assert from './assert.js';
import * as net from 'net';

const cb = () => {};
const buf = new Uint8Array(8);
const idMessage = (name) =>
  new RegExp(`^${name}: argument 1 must be a handle id from 1 to 9007199254740991 \\(got `);

// Functions whose first argument is a stream id.
const byId = {
  onConnect: (id) => net.onConnect(id, cb),
  readStart: (id) => net.readStart(id, buf, cb),
  write: (id) => net.write(id, buf),
  pause: (id) => net.pause(id),
  resume: (id) => net.resume(id),
  onDrain: (id) => net.onDrain(id, cb),
  onConnection: (id) => net.onConnection(id, cb),
  queued: (id) => net.queued(id),
  setQueueLimit: (id) => net.setQueueLimit(id, 1024),
  shutdown: (id) => net.shutdown(id, cb),
  close: (id) => net.close(id, cb),
  setNoDelay: (id) => net.setNoDelay(id, true),
  setKeepAlive: (id) => net.setKeepAlive(id, true, 10),
  address: (id) => net.address(id),
  peer: (id) => net.peer(id),
  counters: (id) => net.counters(id),
  kind: (id) => net.kind(id),
  isServer: (id) => net.isServer(id),
  setLowLatency: (id) => net.setLowLatency(id, true),
};
for (const [name, call] of Object.entries(byId)) {
  for (const bad of [NaN, Infinity, 1.5, -0.5, 0, -1, 2 ** 53]) {
    const e = assert.throws(() => call(bad), RangeError, `${name}(${bad})`);
    assert.ok(idMessage(name).test(e.message), e.message);
  }
  assert.throws(() => call('1'), TypeError, `${name}('1')`);
  assert.equal(call(2 ** 53 - 1), net.ECLOSED, `${name}: an id no stream has`);
}

// Descriptors, ports, backlogs.
assert.throws(() => net.open(NaN), /^open: argument 1 must be an integer from 0 to 2147483647 \(got NaN\)$/);
assert.throws(() => net.open(-1), RangeError);
assert.throws(() => net.open(0.5), RangeError);
assert.throws(() => net.listenFd(NaN, 1, cb), /^listenFd: argument 1 /);
assert.throws(() => net.listenFd(0, NaN, cb), /^listenFd: argument 2 /);
assert.throws(() => net.listen('127.0.0.1', 70000, 1, cb), /^listen: argument 2 must be an integer from 0 to 65535 \(got 70000\)$/);
assert.throws(() => net.listen('127.0.0.1', NaN, 1, cb), /^listen: argument 2 .*\(got NaN\)$/);
assert.throws(() => net.listen('127.0.0.1', -1, 1, cb), RangeError);
assert.throws(() => net.listen('127.0.0.1', 0, NaN, cb), /^listen: argument 3 .*\(got NaN\)$/);
assert.throws(() => net.listen('127.0.0.1', 0, 1.5, cb), RangeError);
assert.throws(() => net.listenUnix('/nonexistent/x.sock', NaN, cb), /^listenUnix: argument 2 /);
assert.throws(() => net.connect('127.0.0.1', NaN, cb), /^connect: argument 2 /);
assert.throws(() => net.connect('127.0.0.1', 1.5, cb), RangeError);
assert.throws(() => net.connect('127.0.0.1', 1, cb, NaN), /^connect: timeoutMs/);
assert.throws(() => net.errname(NaN), /^errname: argument 1 /);
assert.throws(() => net.strerror(1.5), /^strerror: argument 1 /);

// Lengths and limits on a live stream (a TCP server: nothing is sent).
const server = net.listen('127.0.0.1', 0, 1, cb);
assert.ok(server > 0, `listen: ${server}`);
assert.throws(() => net.write(server, buf, NaN), /^write: argument 3 .*\(got NaN\)$/);
assert.throws(() => net.write(server, buf, 9), RangeError);
assert.throws(() => net.setQueueLimit(server, NaN), /^setQueueLimit: argument 2 .*\(got NaN\)$/);
assert.throws(() => net.setQueueLimit(server, 0), RangeError);
assert.throws(() => net.setQueueLimit(server, 2.5), RangeError);
assert.equal(net.setQueueLimit(server, 4096), 0);
assert.throws(() => net.setKeepAlive(server, true, NaN), /^setKeepAlive: argument 3 /);
assert.throws(() => net.setKeepAlive(server, true, -1), RangeError);
await new Promise((resolve) => net.close(server, resolve));
