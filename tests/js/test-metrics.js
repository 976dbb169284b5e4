// dv8.metrics (docs/metrics.md): this thread's figures in one Float64Array
// filled in place. 1,000 timers opened and closed, a pipe of 64 KiB through
// net, a garbage collection and loop turns show in it exactly; read()
// allocates nothing (no collection, no growth over 200,000 reads); names and
// values line up.
import * as assert from './assert.js';
import * as net from 'net';

const names = dv8.metrics.names();
const values = dv8.metrics.read();
assert.ok(values instanceof Float64Array, 'read() gives a Float64Array');
assert.equal(values.length, names.length, 'one name per value');
assert.ok(dv8.metrics.read() === values, 'the same array each time');
const at = (name) => {
  const i = dv8.metrics.names().indexOf(name);
  assert.ok(i >= 0, `a value named ${name}`);
  return i;
};
for (const n of ['reloads', 'reload_failures', 'heap_used_bytes', 'event_loop_turn_count', 'gc_pause_count'])
  at(n);
assert.ok(values[at('heap_used_bytes')] > 100000, `heap used: ${values[at('heap_used_bytes')]}`);

// Timers: each one a handle opened, then closed.
const settle = () => new Promise((resolve) => setTimeout(() => setTimeout(resolve, 1), 1));
await settle();
dv8.metrics.read();
const opened0 = values[at('timer.opened')];
const closed0 = values[at('timer.closed')];
const timers = [];
for (let i = 0; i < 1000; i++) timers.push(setTimeout(() => {}, 100000));
dv8.metrics.read();
assert.equal(values[at('timer.opened')] - opened0, 1000, '1,000 timers opened');
for (const t of timers) clearTimeout(t);
await settle();
dv8.metrics.read();
assert.equal(values[at('timer.closed')] - closed0, 1000 + 2, 'closed: the 1,000 and settle\'s two');
assert.equal(values[at('timer.open')], values[at('timer.opened')] - values[at('timer.closed')], 'open = opened - closed');

// 64 KiB through a connection: read and written by this thread's streams.
const size = 65536;
const turns0 = dv8.metrics.read()[at('event_loop_turn_count')];
// No stream was opened yet: the type has no row until the first one.
assert.equal(dv8.metrics.names().indexOf('stream.bytes_read'), -1, 'no stream row yet');
const read0 = 0;
const written0 = 0;
await new Promise((resolve, reject) => {
  const server = net.listen({ port: 0, host: '127.0.0.1' }, {
    data(sock, bytes) { sock.write(bytes); },
  });
  let got = 0;
  const c = net.connect({ port: server.port, host: '127.0.0.1' }, {
    open(sock) { sock.write(new Uint8Array(size).fill(7)); },
    data(sock, bytes) {
      got += bytes.length;
      if (got === size) { sock.close(); server.close(); resolve(); }
    },
    error(sock, err) { reject(err); },
  });
  void c;
});
await settle();
dv8.metrics.read();
// Both sides are this thread's: the server read and wrote size, the client
// wrote and read size.
assert.equal(values[at('stream.bytes_read')] - read0, 2 * size, 'bytes read');
assert.equal(values[at('stream.bytes_written')] - written0, 2 * size, 'bytes written');
assert.ok(values[at('event_loop_turn_count')] > turns0, 'loop turns counted');
assert.ok(values[at('event_loop_turn_seconds')] > 0, 'loop turns take time');

// A collection's pause (the test runs with --expose-gc when it can).
const gcs0 = values[at('gc_pause_count')];
let junk = [];
for (let i = 0; i < 200000; i++) junk.push({ i });
junk = null;
dv8.metrics.read();
assert.ok(values[at('gc_pause_count')] > gcs0, `collections counted: ${values[at('gc_pause_count')]}`);

// Nothing allocated by read(): 200,000 of them (after 10,000 to let V8
// compile the loop) make no collection and leave the heap where it was.
const readMany = (n) => {
  let nonzero = 0;
  for (let i = 0; i < n; i++) if (dv8.metrics.read()[0] !== 0) nonzero++;
  return nonzero;
};
readMany(10000);
const m0 = dv8.memoryUsage();
const nonzero = readMany(200000);
const m1 = dv8.memoryUsage();
assert.equal(nonzero, 0, 'no reloads');
assert.equal(m1.scavenges - m0.scavenges, 0, 'no collection during 200,000 reads');
assert.ok(m1.heapUsed - m0.heapUsed < 200000, `the heap grew ${m1.heapUsed - m0.heapUsed} bytes over 200,000 reads`);
console.log('ok');
