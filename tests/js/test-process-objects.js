// process's object layer: spawn with a handlers object (or none) gives a
// ChildProcess and throws an Error with .code, .errno, .path and .syscall
// when the program cannot start; exec without a callback gives a promise;
// wrong argument types throw TypeErrors naming the argument; the id forms
// are unchanged.
import * as assert from './assert.js';
import * as proc from 'process';

// A child and its exit.
const ended = await new Promise((resolve) => {
  const c = proc.spawn('/bin/sh', ['-c', 'exit 3'], { stdio: 'ignore' }, {
    exit(child, status, signal) { resolve({ child, status, signal, c }); },
  });
  assert.ok(c instanceof proc.ChildProcess);
  assert.ok(c.pid > 0 && c.id > 0);
  assert.equal(c.exited, false);
  assert.equal(c.exitCode, null);
  assert.deepEqual(c.stdio, [-1, -1, -1]);
});
assert.equal(ended.child, ended.c);
assert.deepEqual([ended.status, ended.signal], [3, null]);
assert.equal(ended.child.exited, true);
assert.equal(ended.child.exitCode, 3);
assert.equal(ended.child.kill(), false, 'an exited child');
assert.throws(() => ended.child.reload({}), /has exited/);

// kill, and a signal's end.
const killed = await new Promise((resolve) => {
  const c = proc.spawn('sleep', ['10'], { stdio: 'ignore' }, { exit: (child) => resolve(child) });
  assert.equal(c.kill('SIGKILL'), true);
});
assert.equal(killed.signalCode, proc.SIGKILL);
assert.equal(killed.exitCode, null);

// Failures to start: Errors, thrown (spawn) or rejected (exec).
const missing = assert.throws(() => proc.spawn('/no/such/program', []));
assert.equal(missing.code, 'ENOENT');
assert.equal(missing.errno, proc.ENOENT);
assert.equal(missing.path, '/no/such/program');
assert.equal(missing.syscall, 'spawn');
assert.equal(missing.message, "ENOENT: no such file or directory, spawn '/no/such/program'");
assert.equal(assert.throws(() => proc.spawn('/etc/passwd')).code, 'EACCES');
const rejected = await assert.rejects(proc.exec('no-such-program-anywhere'));
assert.equal(rejected.code, 'ENOENT');

// exec's promise.
const r = await proc.exec('/bin/sh', ['-c', 'echo out; echo err >&2; exit 4']);
assert.deepEqual([r.status, r.signal], [4, null]);
assert.equal(new TextDecoder().decode(r.stdout), 'out\n');
assert.equal(new TextDecoder().decode(r.stderr), 'err\n');

// Programmer errors.
assert.throws(() => proc.spawn('true', [], {}, 7), /spawn: handlers must be an object/);
assert.throws(() => proc.spawn('true', [], {}, { exit: 1 }), /spawn: handlers.exit must be a function/);
assert.throws(() => proc.spawn(42, []), TypeError);
assert.throws(() => new proc.ChildProcess(), TypeError);

// The id forms, unchanged.
assert.equal(proc.spawn('/no/such/program', [], {}, () => {}), proc.ENOENT);
const ids = proc.spawn('true', [], { stdio: 'ignore' }, () => {});
assert.ok(typeof ids.id === 'number' && !(ids instanceof proc.ChildProcess));
