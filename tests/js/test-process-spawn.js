// process.spawn/exec: exit statuses and signals come to the exit callback;
// a missing or non-executable program is a code from spawn (no child);
// args, env, cwd and stdio modes reach the child; 100 MiB through `cat`
// over pipes (net streams) keep their checksum; exec gathers output and
// stops at maxOutput; a child gets no descriptor but its three (and what
// dv8 itself inherited); no child stays a zombie; bad arguments throw.
import * as assert from './assert.js';
import * as proc from 'process';
import * as net from 'net';
import * as fs from 'fs';

const text = (u8) => new TextDecoder().decode(u8);
const exec = (file, args, options = {}) => new Promise((resolve) => {
  const id = proc.exec(file, args, options, (status, signal, stdout, stderr) => resolve({ id, status, signal, stdout, stderr }));
  if (id < 0) resolve({ code: id });
});
const spawn = (file, args, options) => {
  let done;
  const exited = new Promise((resolve) => { done = resolve; });
  const c = proc.spawn(file, args, options, (status, signal) => done({ status, signal }));
  return { c, exited };
};
const closeAll = (fds) => fds.forEach((fd) => fd >= 0 && net.close(net.open(fd)));

// What dv8 was started with: a child may inherit these (they are not ours).
const inherited = new Set(fs.readdirSync('/proc/self/fd').map(Number));

// Statuses and signals.
let r = await exec('/bin/sh', ['-c', 'exit 3']);
assert.deepEqual([r.status, r.signal], [3, null]);
r = await exec('/bin/sh', ['-c', 'kill -USR1 $$']);
assert.deepEqual([r.status, r.signal], [0, proc.SIGUSR1]);
{
  const { c, exited } = spawn('/bin/sleep', ['10'], { stdio: 'ignore' });
  assert.ok(c.pid > 0);
  assert.equal(proc.pid(c.id), c.pid);
  assert.equal(proc.kill(c.id, 'SIGKILL'), 0);
  assert.deepEqual(await exited, { status: 0, signal: proc.SIGKILL });
  assert.equal(proc.kill(c.id), proc.ESRCH, 'an exited child is gone');
  // libuv reaped it: no zombie left in the process table.
  assert.equal(fs.existsSync(`/proc/${c.pid}`), false);
}

// Programs that cannot run: a code, at once, and no child.
assert.equal(proc.spawn('/no/such/program', [], {}, () => assert.ok(false)), proc.ENOENT);
assert.equal(proc.spawn('/etc/passwd', [], {}, () => assert.ok(false)), proc.EACCES);
assert.equal(await exec('no-such-program-anywhere', []).then((x) => x.code), proc.ENOENT);

// args, env, cwd; stdout and stderr apart.
r = await exec('/bin/sh', ['-c', 'printf "%s|" "$@"; echo "$FOO" >&2; pwd >&2', 'sh', 'a b', '', 'c'],
  { env: ['FOO=bar', 'PATH=/usr/bin:/bin'], cwd: '/tmp' });
assert.equal(r.status, 0);
assert.equal(text(r.stdout), 'a b||c|');
assert.equal(text(r.stderr), 'bar\n/tmp\n');

// exec stops at maxOutput: the child is killed, that output is an error.
r = await exec('/bin/sh', ['-c', 'yes'], { maxOutput: 100000 });
assert.equal(r.signal, proc.SIGKILL);
assert.equal(r.stdout.code, 'ENOBUFS');
assert.ok(r.stderr instanceof Uint8Array); // (yes may say its output was cut)

// No descriptor leaks into a child: open some of every kind first.
const server = net.listen('127.0.0.1', 0, 8, () => {});
const client = net.connect('127.0.0.1', net.address(server).port, () => {});
const file = fs.openSync('/etc/hostname', 'r');
{
  const { c, exited } = spawn('/bin/sleep', ['5'], {});
  r = await exec('/bin/ls', ['/proc/self/fd']);
  const fds = text(r.stdout).trim().split('\n').map(Number);
  // ls's own: 0, 1, 2 and the directory it reads.
  const extra = fds.filter((fd) => fd > 2 && !inherited.has(fd));
  assert.ok(extra.length <= 1, `descriptors leaked into a child: ${fds.join(' ')} (dv8 inherited ${[...inherited].join(' ')})`);
  proc.kill(c.id);
  await exited;
  closeAll(c.stdio);
}
fs.closeSync(file);
net.close(client);
net.close(server);

// 100 MiB through cat: written to its stdin, read back from its stdout,
// both as net streams with back-pressure; the checksums match.
{
  const TOTAL = 100 * 1024 * 1024;
  const { c, exited } = spawn('/bin/cat', [], { stdio: ['pipe', 'pipe', 'inherit'] });
  assert.equal(c.stdio[2], -1);
  const input = net.open(c.stdio[0]);
  const output = net.open(c.stdio[1]);
  const chunk = new Uint8Array(65536);
  let x = 12345;
  let sentSum = 0;
  let sent = 0;
  const pump = () => {
    while (sent < TOTAL) {
      for (let i = 0; i < chunk.length; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        chunk[i] = x >>> 24;
        sentSum = (sentSum + chunk[i] * ((sent + i) % 251 + 1)) % 1000000007;
      }
      const rc = net.write(input, chunk);
      sent += chunk.length;
      assert.ok(rc >= 0, `write: ${rc}`);
      if (rc === net.QUEUED) return; // onDrain goes on
    }
    net.shutdown(input, () => net.close(input));
  };
  net.onDrain(input, pump);
  let got = 0;
  let gotSum = 0;
  const buf = new Uint8Array(65536);
  const ended = new Promise((resolve) => {
    net.readStart(output, buf, (n) => {
      if (n < 0) { net.close(output); return resolve(n); }
      for (let i = 0; i < n; i++) gotSum = (gotSum + buf[i] * ((got + i) % 251 + 1)) % 1000000007;
      got += n;
    });
  });
  pump();
  assert.equal(await ended, net.EOF);
  assert.deepEqual(await exited, { status: 0, signal: null });
  assert.equal(got, TOTAL);
  assert.equal(gotSum, sentSum, '100 MiB came back intact');
}

// Bad arguments are TypeErrors.
assert.throws(() => proc.spawn(42, []), /string/);
assert.throws(() => proc.spawn('/bin/true', 'not an array'), /args must be an array of strings/);
assert.throws(() => proc.spawn('/bin/true', [1]), /args must be an array of strings/);
assert.throws(() => proc.spawn('/bin/true', [], { stdio: ['pipe', 'bogus', 'pipe'] }), /options.stdio/);
assert.throws(() => proc.spawn('/bin/true', [], { cwd: 5 }), /options.cwd/);
assert.throws(() => proc.spawn('/bin/true', [], { env: 'FOO=1' }), /options.env/);
assert.throws(() => proc.kill(1, 'SIGNOPE'), /unknown signal/);
assert.throws(() => proc.exec('/bin/true', [], { maxOutput: 0 }, () => {}), /maxOutput/);
assert.throws(() => proc.onSignal('SIGKILL', () => {}), /not a signal a handler can take/);
console.log('ok');
