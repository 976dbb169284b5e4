// Acknowledgements go out even while more than the queue limit (1 MiB)
// waits for a helper that is not reading: the stream's own limit refused
// them (EFULL), which closed the channel, and the big message sent just
// before was lost (reported in onExit, never delivered).
import * as assert from './assert.js';
import { fork, parent } from 'helper';

if (parent !== null) {
  parent.onMessage = (m) => {
    if (m !== 'go') return;
    parent.onMessage = null; // reads nothing for a while: the parent's big message waits
    parent.send('ready');
    for (let i = 0; i < 10; i++) parent.send(i); // each to be acknowledged meanwhile
    setTimeout(() => {
      parent.onMessage = (big) => { parent.send(big.length); parent.onMessage = null; };
    }, 300);
  };
} else {
  const h = fork(import.meta.filename);
  const ended = new Promise((resolve) => { h.onExit = (...a) => resolve(a); });
  const got = [];
  const answered = new Promise((resolve) => {
    h.onMessage = (m) => {
      got.push(m);
      if (m === 'ready') assert.equal(h.send(new Uint8Array(8 << 20)), 0);
      if (got.length === 12) resolve();
    };
  });
  h.send('go');
  await answered;
  assert.deepEqual(got, ['ready', ...Array(10).keys(), 8 << 20]);
  assert.deepEqual(await ended, [0, null, 0, null]);
}
