// A frame whose length is under its 4-byte acknowledged count (here 2,
// then a sound message) is refused: the channel closes with EPROTO rather
// than reading on out of step (which delivered nothing more and reported
// 4294967294 messages lost). The parent goes on and counts right.
import * as assert from './assert.js';
import { fork } from 'helper';
import * as proc from 'process';

const hostile = `${import.meta.dirname}/fixtures/helper-hostile.js`;
const within = (ms, what, executor) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  executor((value) => { clearTimeout(timer); resolve(value); });
});

const h = fork(hostile, { args: ['short'] });
const got = [];
h.onMessage = (m) => got.push(m);
for (let i = 0; i < 3; i++) h.send(i);
const ended = new Promise((resolve) => { h.onExit = (...a) => resolve(a); });
const error = await within(10000, 'onError', (resolve) => { h.onError = resolve; });
assert.equal(error.code, 'EPROTO');
assert.equal(error.message,
  `channel from helper ${h.pid} closed: a frame of 2 bytes, shorter than its 4-byte acknowledgement`);
await new Promise((resolve) => setTimeout(resolve, 50));
assert.deepEqual(got, [], 'nothing read past the bad frame');
h.kill('SIGKILL');
const [status, signal, lost, err] = await ended;
assert.deepEqual([status, signal, lost], [0, proc.SIGKILL, 3]);
assert.equal(err, error);
