// A frame acknowledging more messages than were ever sent (1000 of 3) is
// refused: the channel closes with EPROTO rather than reporting
// 4294966299 messages lost; the message in it is not delivered.
import * as assert from './assert.js';
import { fork } from 'helper';
import * as proc from 'process';

const hostile = `${import.meta.dirname}/fixtures/helper-hostile.js`;
const within = (ms, what, executor) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  executor((value) => { clearTimeout(timer); resolve(value); });
});

const h = fork(hostile, { args: ['ack 1000'] });
const got = [];
h.onMessage = (m) => got.push(m);
for (let i = 0; i < 3; i++) h.send(i);
const ended = new Promise((resolve) => { h.onExit = (...a) => resolve(a); });
const error = await within(10000, 'onError', (resolve) => { h.onError = resolve; });
assert.equal(error.code, 'EPROTO');
assert.equal(error.message,
  `channel from helper ${h.pid} closed: an acknowledgement of 1000 messages (0 before, 3 sent)`);
assert.deepEqual(got, []);
h.kill('SIGKILL');
const [status, signal, lost] = await ended;
assert.deepEqual([status, signal, lost], [0, proc.SIGKILL, 3]);
