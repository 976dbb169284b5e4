// Reload and threads: a worker thread's code is replaced (Thread.reload())
// while its parent streams sequenced messages at it through a small queue
// (so batches are held back for room); broken versions (a syntax error, a
// load() past the deadline) are refused with the old code still answering;
// the parent reloads itself with the thread running (its Thread adopted by
// the new code, held batches sent, nothing lost), and everything at once
// (dv8.reload({ threads: true })). A thread started from a function
// refuses. Every message comes back once, in order, and the thread's count
// (its state, carried by unload/load) never skips.
import * as assert from './assert.js';
import * as fs from 'fs';
import { spawn, adopt } from 'thread';
import { makeTempDir, removeTree } from './fixtures/tmpdir.js';

// The worker answers every message; answers refused for want of room
// (EFULL) wait in a list that crosses reloads with the count.
const worker = (version, body = '') => `import { parent } from 'thread';
export const version = ${version};
let count = 0;
let pending = [];
function flush() {
  while (pending.length > 0 && parent.send(pending[0]) === 0) pending.shift();
}
export function load(state, from) {
  if (state !== undefined) {
    if (from !== version - 1 && from !== version) throw new Error('from ' + from);
    ({ count, pending } = state);
  }
  parent.onDrain = flush;
  parent.onMessage = (m) => {
    if (m === 'stop') { parent.onMessage = null; return; }
    pending.push({ seq: m, count: ++count, v: version });
    flush();
  };
  flush();
  ${body}
}
export function unload() { return { count, pending }; }
`;

let s; // the test's state, carried across this file's own reloads
let t = null;
let pumping = null;

function write(text) {
  fs.writeFileSync(`${s.dir}/worker.js`, text);
}

function bind(thread) {
  t = thread;
  t.onMessage = (m) => {
    assert.equal(m.seq, s.expect, 'replies come once each, in order');
    assert.equal(m.count, m.seq + 1, 'the thread\'s count goes on across reloads');
    s.expect++;
    s.lastVersion = m.v;
    step();
  };
  t.onDrain = pump;
  t.onReload = (error) => {
    s.reloads.push(error === null ? 'ok' : error);
    step();
  };
  t.onExit = (code, result, error) => {
    assert.equal(error, null);
    assert.equal(code, 0);
    assert.equal(s.expect, s.sent, 'every message sent came back');
    assert.equal(s.phase, 'stopping');
    removeTree(s.dir);
    console.log(`ok: ${s.sent} messages, ${s.mainLoads} parent loads, thread reloads: ${s.reloads.length}`);
    clearInterval(pumping);
  };
}

function pump() {
  if (s.phase === 'stopping') return;
  for (let i = 0; i < 64; i++) {
    if (t.send(s.sent) !== 0) return; // EFULL: onDrain resumes
    s.sent++;
  }
}

// The phases, each begun once its condition holds.
function step() {
  const last = s.reloads[s.reloads.length - 1];
  switch (s.phase) {
    case 'start':
      if (s.expect < 300) return;
      write(worker(2));
      assert.equal(t.reload(), 0);
      s.phase = 'v2';
      return;
    case 'v2':
      if (last !== 'ok' || s.lastVersion !== 2) return;
      write(worker(3, 'syntax error here;'));
      t.reload();
      s.phase = 'broken';
      return;
    case 'broken':
      if (s.reloads.length < 2) return;
      assert.ok(/SyntaxError/.test(last), last);
      s.at = s.expect;
      s.phase = 'after-broken';
      return;
    case 'after-broken':
      if (s.expect < s.at + 200) return;
      assert.equal(s.lastVersion, 2, 'the old code goes on');
      write(worker(3, 'for (;;) {}'));
      t.reload();
      s.phase = 'stuck';
      return;
    case 'stuck':
      if (s.reloads.length < 3) return;
      assert.ok(/load\(\) ran past the reload deadline of 1000 ms/.test(last), last);
      assert.equal(s.lastVersion, 2);
      write(worker(3));
      s.phase = 'all';
      dv8.reload({ threads: true });
      return;
    case 'all': // the parent reloaded (load below), then the thread
      if (s.reloads.length < 4 || s.lastVersion !== 3) return;
      assert.equal(last, 'ok');
      assert.equal(s.mainLoads, 1);
      s.phase = 'parent';
      dv8.reload();
      return;
    case 'parent': // the parent alone, five times, messages flowing
      if (s.mainLoads < 6) return;
      s.phase = 'from-function';
      {
        const t2 = spawn(async () => {
          const { parent } = await import('thread');
          parent.onMessage = () => { parent.onMessage = null; };
        });
        t2.onReload = (error) => {
          assert.equal(error, 'only a thread started from a module file reloads');
          t2.send('bye');
          s.phase = 'stopping';
          t.send('stop');
        };
        t2.reload();
      }
      return;
    default:
  }
}

export function load(state) {
  if (state === undefined) {
    s = { dir: makeTempDir('reload-thread'), phase: 'start', sent: 0, expect: 0,
      lastVersion: 0, reloads: [], mainLoads: 0, at: 0 };
    write(worker(1));
    bind(spawn(`${s.dir}/worker.js`, { queueLimit: 2048 }));
  } else {
    s = state.s;
    s.mainLoads++;
    bind(adopt(state.thread));
    if (s.phase === 'parent' && s.mainLoads < 6) setTimeout(() => dv8.reload(), 20);
  }
  pumping = setInterval(pump, 1);
}

export function unload() {
  return { s, thread: t.id };
}
