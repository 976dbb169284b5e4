// In a helper, messages that arrive with others after parent.onMessage is
// set to null wait for the next listener: none is dropped (they were read
// together, delivered to nobody, and acknowledged as taken in).
import * as assert from './assert.js';
import { fork, parent } from 'helper';

if (parent !== null) {
  const got = [];
  const second = (m) => {
    got.push(m);
    if (m === 'last') { parent.send(got); parent.onMessage = null; }
  };
  parent.onMessage = (m) => {
    got.push(m);
    if (m !== 0) return;
    parent.onMessage = null; // the rest of this read waits
    setTimeout(() => { parent.onMessage = second; }, 100);
  };
} else {
  const h = fork(import.meta.filename);
  const ended = new Promise((resolve) => { h.onExit = (...a) => resolve(a); });
  const answer = new Promise((resolve) => { h.onMessage = resolve; });
  for (let i = 0; i < 100; i++) h.send(i); // in one write, read at once
  setTimeout(() => h.send('last'), 300);
  const expected = [...Array(100).keys(), 'last'];
  assert.deepEqual(await answer, expected);
  assert.deepEqual(await ended, [0, null, 0, null]);
}
