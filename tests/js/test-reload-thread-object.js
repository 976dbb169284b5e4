// A Thread crosses a reload as an object: in unload()'s state it arrives
// in load(state) as a Thread of the new code (adopted as the state
// decodes; adopt(id) gives the same one), whose onMessage and onExit are
// the new code's; messages sent meanwhile wait in the channel.
import * as assert from './assert.js';
import { spawn, adopt } from 'thread';

let worker;

export function load(state) {
  const guard = setTimeout(() => { throw new Error('the test stopped early'); }, 8000);
  if (state === undefined) {
    worker = spawn(async () => {
      const { parent } = await import('thread');
      parent.onMessage = (v) => {
        if (v === 'stop') parent.onMessage = null;
        else parent.send(v * 2);
      };
    });
    worker.onMessage = () => dv8.exit(9); // the old code's: must not run
    setTimeout(() => dv8.reload(), 20);
    return;
  }
  const t = state.worker;
  assert.equal(typeof t.send, 'function', 'a Thread');
  assert.equal(t, state.again, 'one object per thread');
  assert.equal(adopt(t.id), t, 'adopt gives the same Thread');
  assert.ok(t.running);
  t.onMessage = (v) => {
    assert.equal(v, 42);
    t.send('stop');
  };
  t.onExit = (code) => {
    assert.equal(code, 0);
    clearTimeout(guard);
  };
  assert.equal(t.send(21), 0);
}

export function unload() {
  return { worker, again: worker };
}
