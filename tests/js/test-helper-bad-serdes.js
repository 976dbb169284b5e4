// A helper whose channel carries a well-framed message of bytes that are
// not serdes (0xc1) does not take its parent down: the channel closes, the
// error (ESERDES, naming the helper and the message) goes to onError and
// to onExit, the messages the helper never took count as lost, and the
// parent goes on (a timer fires, another helper answers). Without onError
// the error is printed and the program ends as it would have.
import * as assert from './assert.js';
import { fork, ECLOSED } from 'helper';
import * as proc from 'process';

const hostile = `${import.meta.dirname}/fixtures/helper-hostile.js`;
const echo = `${import.meta.dirname}/fixtures/helper-echo.js`;
const within = (ms, what, executor) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  executor((value) => { clearTimeout(timer); resolve(value); });
});

if (dv8.args[0] === 'no-handler') {
  // Run by the test below: no onError, no onExit; the program ends once
  // the helper has gone.
  const h = fork(hostile, { args: ['serdes'] });
  setTimeout(() => h.kill('SIGKILL'), 300);
} else {
  const h = fork(hostile, { args: ['serdes'] });
  const got = [];
  h.onMessage = (m) => got.push(m);
  for (let i = 0; i < 3; i++) assert.equal(h.send(i), 0);
  const ended = new Promise((resolve) => { h.onExit = (...a) => resolve(a); });
  const error = await within(10000, 'onError', (resolve) => { h.onError = resolve; });
  assert.equal(error.code, 'ESERDES');
  assert.equal(error.message,
    `channel from helper ${h.pid} closed: message 1 is not one serdes value: 0xc1 is not a MessagePack type at byte 0`);
  assert.deepEqual(got, []);
  assert.equal(h.send(3), ECLOSED, 'the channel is closed');

  // The parent goes on: a timer, another helper.
  await new Promise((resolve) => setTimeout(resolve, 10));
  const other = fork(echo);
  const reply = await within(10000, 'echo', (resolve) => { other.onMessage = resolve; other.send('x'); });
  assert.deepEqual(reply, { echo: 'x', n: 1 });
  other.send('bye');

  // The hostile helper runs on until killed; its end says what was lost.
  h.kill('SIGKILL');
  const [status, signal, lost, err] = await ended;
  assert.deepEqual([status, signal, lost], [0, proc.SIGKILL, 3]);
  assert.equal(err, error, 'onExit gets the error too');

  // Without onError: said on stderr, and the program ends normally.
  const run = await new Promise((resolve) => proc.exec(dv8.execPath, [import.meta.filename, 'no-handler'], {},
    (status, signal, stdout, stderr) => resolve({ status, signal, stderr: new TextDecoder().decode(stderr) })));
  assert.equal(run.status, 0, run.stderr);
  assert.ok(/^dv8: channel from helper \d+ closed: message 1 is not one serdes value: 0xc1 is not a MessagePack type at byte 0$/m.test(run.stderr), run.stderr);
}
