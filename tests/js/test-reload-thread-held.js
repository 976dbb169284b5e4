// What a worker's new code sends while a reload loads it waits for the
// commit: new code that sends from load() and then fails (a throw, a
// load() past the deadline) sent nothing (the old code, which goes on,
// answers alone, and nothing comes twice); new code that commits is heard
// after everything the old code sent.
import * as assert from './assert.js';
import * as fs from 'fs';
import { spawn } from 'thread';
import { makeTempDir, removeTree } from './fixtures/tmpdir.js';

const dir = makeTempDir('reload-thread-held');
const worker = (v, tail = '') => `import { parent } from 'thread';
export function load(state) {
  parent.onMessage = (m) => parent.send('v${v} ' + m);
  if (state !== undefined) { parent.send('load v${v}'); ${tail} }
}
export function unload() { return {}; }
`;
fs.writeFileSync(`${dir}/w.js`, worker(1));
const t = spawn(`${dir}/w.js`);
const got = [];
const reloads = [];
let phase = 'start';

function step() {
  const last = got[got.length - 1];
  switch (phase) {
    case 'start':
      if (last !== 'v1 a') return;
      fs.writeFileSync(`${dir}/w.js`, worker(2, "throw new Error('refused on purpose');"));
      t.reload();
      phase = 'throw';
      return;
    case 'throw':
      if (reloads.length < 1) return;
      assert.ok(/refused on purpose/.test(reloads[0]), reloads[0]);
      fs.writeFileSync(`${dir}/w.js`, worker(3, 'for (;;) {}'));
      t.reload();
      phase = 'stuck';
      return;
    case 'stuck':
      if (reloads.length < 2) return;
      assert.ok(/load\(\) ran past the reload deadline/.test(reloads[1]), reloads[1]);
      t.send('b');
      phase = 'b';
      return;
    case 'b':
      if (last !== 'v1 b') return;
      fs.writeFileSync(`${dir}/w.js`, worker(4));
      t.reload();
      phase = 'commit';
      return;
    case 'commit':
      if (reloads.length < 3) return;
      assert.equal(reloads[2], null);
      t.send('c');
      phase = 'c';
      return;
    case 'c':
      if (last !== 'v4 c') return;
      assert.deepEqual(got, ['v1 a', 'v1 b', 'load v4', 'v4 c'], 'what came, in order');
      phase = 'done';
      t.terminate();
      return;
    default:
  }
}

t.onMessage = (m) => {
  got.push(m);
  step();
};
t.onReload = (error) => {
  reloads.push(error);
  step();
};
t.onExit = () => {
  removeTree(dir);
  assert.equal(phase, 'done', `ended in phase ${phase}, got ${JSON.stringify(got)}`);
  console.log('ok: held sends of failed reloads dropped, a committed one sent');
};
t.send('a');
