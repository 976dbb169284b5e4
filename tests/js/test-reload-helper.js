// A Helper (what fork gives) crosses a reload: in unload()'s state it
// arrives in load(state) as a Helper (the same object wherever it
// appears), and reload(handlers) binds it to the new code. Through 20
// reloads while the helper streams numbered messages (some bigger than a
// read, so frames are half read when a reload comes) and echoes the
// parent's pings: every number arrives once, in order; every ping is
// echoed once, in order (none resent); the acknowledgements carry over
// (no channel error, nothing lost but the message it ended on); and the
// helper's exit,
// after the last reload, reaches the code then running.
import * as assert from './assert.js';
import { fork } from 'helper';

const RELOADS = 20;
// What fixtures/helper-stream.js pads message n with.
const pad = (n) => 'x'.repeat(n % 50 === 0 ? 2000000 + n % 1000 : n % 7 === 0 ? 70000 + n % 1000 : 0);
let s; // the state that crosses: the helper and the counters

export function load(state) {
  const guard = setTimeout(() => { throw new Error(`the test stopped early: ${JSON.stringify({ ...s, h: undefined })}`); }, 30000);
  if (state === undefined) {
    s = { h: fork(`${import.meta.dirname}/fixtures/helper-stream.js`), next: 1, pings: 0, echoed: 0, reloads: 0 };
  } else {
    s = state;
    assert.equal(typeof s.h.reload, 'function', 'state.h is a Helper');
    assert.equal(s.h, s.again, 'one object per helper');
    assert.equal(s.h.pid, s.pid);
    s.reloads++;
  }
  s.h.reload({
    onMessage(m) {
      if (m.wrong !== undefined) throw new Error(`the helper says: ${m.wrong}`);
      if (m.echo !== undefined) {
        assert.equal(m.echo, s.echoed + 1, `echoes in order, once each (reload ${s.reloads}, ${JSON.stringify(dv8.reloadStats())})`);
        s.echoed = m.echo;
      } else if (m.done !== undefined) {
        assert.equal(m.done, s.next - 1, 'every number arrived');
        assert.equal(m.pings, s.pings, 'the helper took every ping once');
        assert.equal(s.echoed, s.pings, 'every ping echoed');
        s.done = true;
        assert.equal(s.h.send('bye'), 0);
      } else {
        assert.equal(m.seq, s.next, 'numbers in order, once each');
        assert.equal(m.pad, pad(m.seq));
        s.next++;
      }
    },
    onError(err) { throw err; },
    onExit(status, signal, lost, error) {
      assert.equal(s.reloads, RELOADS, 'the exit reaches the code after the last reload');
      assert.ok(s.done, 'the last message came before the exit');
      // lost: 'bye' alone, which it was handling when it ended.
      assert.deepEqual([status, signal, lost, error], [7, null, 1, null]);
      clearTimeout(guard);
    },
  });
  const pinger = setInterval(() => {
    if (s.stopped) return;
    assert.equal(s.h.send({ ping: s.pings + 1 }), 0);
    s.pings++;
  }, 2);
  if (s.reloads < RELOADS) {
    setTimeout(() => dv8.reload(), 15 + (s.reloads % 4) * 5);
  } else {
    setTimeout(() => {
      assert.ok(s.next > 200, `the helper streamed through the reloads (${s.next - 1} messages)`);
      assert.ok(s.echoed > 20, `pings were echoed through the reloads (${s.echoed})`);
      clearInterval(pinger);
      s.stopped = true;
      s.h.send('stop');
    }, 30);
  }
}

export function unload() {
  return { ...s, again: s.h, pid: s.h.pid };
}
