// A ChildProcess crosses a reload: in unload()'s state it arrives in
// load(state) as a ChildProcess (the same object wherever it appears),
// and reload(handlers) binds its exit to the new code; the old code's
// handler never runs.
import * as assert from './assert.js';
import * as proc from 'process';

let child;

export function load(state) {
  const guard = setTimeout(() => { throw new Error('the test stopped early'); }, 8000);
  if (state === undefined) {
    child = proc.spawn('sleep', ['10'], { stdio: 'ignore' }, {
      exit() { dv8.exit(9); }, // the old code's: must not run
    });
    setTimeout(() => dv8.reload(), 20);
    return;
  }
  const c = state.child;
  assert.ok(c instanceof proc.ChildProcess, 'a ChildProcess');
  assert.equal(c, state.again, 'one object per child');
  assert.equal(c.pid, state.pid);
  assert.equal(c.exited, false);
  c.reload({
    exit(ended, status, signal) {
      assert.equal(ended, c);
      assert.deepEqual([status, signal], [0, proc.SIGTERM]);
      assert.equal(c.exited, true);
      clearTimeout(guard);
    },
  });
  setTimeout(() => assert.equal(c.kill(), true), 0);
}

export function unload() {
  return { child, again: child, pid: child.pid };
}
