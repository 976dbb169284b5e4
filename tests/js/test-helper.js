// Helper processes (module `helper`): a dv8 running a module in its own
// process, messages both ways over a unix socket in serdes frames. Values
// of every kind arrive intact and in order (10,000 of them, some larger
// than a frame buffer); a helper's exit status comes with the count of
// messages it had not taken in (0 when it read everything); a helper
// killed with messages in flight reports them lost, never silently; a
// missing module is an exit with status 1; the child sees no channel of
// its own in its children; bad arguments throw.
import * as assert from './assert.js';
import { fork, parent } from 'helper';
import * as proc from 'process';

assert.equal(parent, null, 'the test itself is not a helper');
const child = `${import.meta.dirname}/fixtures/helper-echo.js`;
const run = (h) => new Promise((resolve) => { h.onExit = (status, signal, lost) => resolve({ status, signal, lost }); });

// Every kind of value, in order, and big ones.
{
  const h = fork(child);
  assert.ok(h.pid > 0);
  const ended = run(h);
  const values = [1, -2.5, 'text', null, undefined, true, [1, [2]], { a: { b: 'c' } }, new Map([[1, 2]]),
    new Set(['x']), 10n ** 30n, new Date(1700000000000), new Uint8Array([1, 2, 3]), new Float64Array([0.5])];
  const big = 'x'.repeat(300000);
  const got = [];
  h.onMessage = (m) => {
    got.push(m);
    if (got.length === 10000 + values.length + 1) h.send('bye');
  };
  for (const v of values) assert.equal(h.send(v), 0);
  for (let i = 0; i < 10000; i++) assert.equal(h.send(i), 0);
  assert.equal(h.send(big), 0);
  const { status, signal, lost } = await ended;
  assert.deepEqual([status, signal, lost], [0, null, 0]);
  for (let i = 0; i < values.length; i++) assert.deepEqual(got[i].echo, values[i]);
  for (let i = 0; i < 10000; i++) assert.equal(got[values.length + i].echo, i);
  assert.equal(got[got.length - 1].echo, big);
  assert.deepEqual(got.map((m) => m.n), got.map((_, i) => i + 1), 'replies in order');
}

// An exit status of the helper's own.
{
  const h = fork(child);
  const ended = run(h);
  h.send('exit 7');
  // The message it ended in is not acknowledged: counted as maybe lost.
  assert.deepEqual(await ended, { status: 7, signal: null, lost: 1 });
}

// Killed with messages in flight: they are reported lost.
{
  const h = fork(child);
  const ended = run(h);
  let replies = 0;
  h.onMessage = () => { replies++; };
  h.send('hang');
  for (let i = 0; i < 500; i++) h.send(i);
  setTimeout(() => h.kill('SIGKILL'), 200);
  const { status, signal, lost } = await ended;
  assert.equal(signal, proc.SIGKILL);
  assert.equal(status, 0);
  assert.ok(lost >= 500 && lost <= 501, `lost: ${lost}`);
  assert.ok(replies <= 1);
}

// A module that does not exist: the helper's dv8 says so, status 1.
{
  const h = fork('/no/such/module.js', { stdio: 'ignore' });
  assert.deepEqual(await run(h), { status: 1, signal: null, lost: 0 });
}

// The helper's own children do not inherit its channel.
{
  const probe = `${import.meta.dirname}/fixtures/helper-probe.js`;
  const h = fork(probe);
  const ended = run(h);
  const answer = await new Promise((resolve) => { h.onMessage = resolve; });
  assert.equal(answer.env, false, 'DV8_CHANNEL_FD and DV8_CHANNEL_MAX_MESSAGE are not passed on');
  assert.equal(answer.fd3, false, 'fd 3 is not passed on');
  assert.deepEqual(await ended, { status: 0, signal: null, lost: 0 });
}

assert.throws(() => fork(42), /module path/);
assert.throws(() => fork(child, { args: [1] }), /args must be an array of strings/);
console.log('ok');
