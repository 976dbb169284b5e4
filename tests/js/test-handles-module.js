// A module lists the handle types it makes (ABI 3's DV8_MODULE_TYPES):
// dv8.handles() names that module beside each handle of a listed type, and
// none beside the host's own (a thread's port).
import * as assert from './assert.js';
import * as api from 'apitest';
import * as net from 'net';
import { spawn } from 'thread';

const moduleOf = (id) => {
  const h = dv8.handles().find((x) => x.id === id);
  assert.ok(h, `handle ${id} is in the table`);
  return [h.type, h.module];
};

const timer = setTimeout(() => {}, 100000);
assert.deepEqual(moduleOf(Number(timer)), ['timer', 'timers']);
clearTimeout(timer);

const server = net.listen('127.0.0.1', 0, 1, () => {});
assert.deepEqual(moduleOf(server), ['stream', 'net']);
net.close(server);

await new Promise((resolve) => {
  const later = api.callLater(resolve, 1);
  assert.deepEqual(moduleOf(later), ['apitest-later', 'apitest']);
});

const thread = spawn(() => {});
const port = dv8.handles().find((x) => x.type === 'port');
assert.ok(port, "the thread's port is in the table");
assert.equal('module' in port, false, "the host's own type has no module");
await thread.join();
