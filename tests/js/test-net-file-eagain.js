// A stream over a device that says EAGAIN (the kernel log, /dev/kmsg,
// opened non-blocking, read to its end) waits for the device to become
// readable instead of retrying the read every loop iteration: half a
// second of waiting costs next to no CPU time, and a record written to the
// log afterwards still arrives.
import * as assert from './assert.js';
import * as fs from 'fs';
import * as net from 'net';

const fd = fs.openSync('/dev/kmsg', fs.O_RDONLY | fs.O_NONBLOCK);
assert.ok(fd >= 0, `open /dev/kmsg: ${fd}`);
const id = net.open(fd);
assert.equal(net.kind(id), 'file');

// utime + stime of this process, in clock ticks (/proc/self/stat).
function cpuTicks() {
  const stat = new TextDecoder().decode(fs.readFileSync('/proc/self/stat'));
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

const marker = `dv8-eagain-test-${Date.now()}`;
const decoder = new TextDecoder();
const buf = new Uint8Array(16384);
const guard = setTimeout(() => { throw new Error('the marker never arrived'); }, 5000);
net.readStart(id, buf, (n) => {
  assert.ok(n > 0, `read: ${n}`);
  if (decoder.decode(buf.subarray(0, n)).includes(marker)) {
    clearTimeout(guard);
    net.close(id);
  }
});

// Everything logged so far has been read by now; the stream waits.
setTimeout(() => {
  const before = cpuTicks();
  setTimeout(() => {
    const spent = cpuTicks() - before;
    assert.ok(spent < 15, `waiting 500 ms on EAGAIN cost ${spent} ticks of CPU`);
    const log = fs.openSync('/dev/kmsg', 'w');
    assert.ok(log >= 0, `open /dev/kmsg for writing: ${log}`);
    fs.writeSync(log, new TextEncoder().encode(`${marker}\n`));
    fs.closeSync(log);
  }, 500);
}, 200);

