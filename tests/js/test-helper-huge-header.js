// A header claiming a message of 4 GiB - 5 bytes (over the default limit
// of 256 MiB) is refused at once: the channel closes with EMSGSIZE naming
// the size and the limit, nothing is buffered for it, and the parent goes
// on. A header just past a limit set with fork's maxMessage, likewise.
import * as assert from './assert.js';
import { fork } from 'helper';
import * as proc from 'process';

const hostile = `${import.meta.dirname}/fixtures/helper-hostile.js`;
const within = (ms, what, executor) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  executor((value) => { clearTimeout(timer); resolve(value); });
});

async function refused(args, options, message) {
  const h = fork(hostile, { args, ...options });
  h.onMessage = () => { throw new Error('no message was sound'); };
  const ended = new Promise((resolve) => { h.onExit = (...a) => resolve(a); });
  const error = await within(10000, 'onError', (resolve) => { h.onError = resolve; });
  assert.equal(error.code, 'EMSGSIZE');
  assert.equal(error.message, `channel from helper ${h.pid} closed: ${message}`);
  h.kill('SIGKILL');
  const [status, signal, lost, err] = await ended;
  assert.deepEqual([status, signal, lost, err], [0, proc.SIGKILL, 0, error]);
}

const before = dv8.memoryUsage().rss;
await refused(['huge'], {},
  "a message of 4294967291 bytes, over the channel's limit of 268435456 bytes (fork's maxMessage)");
assert.ok(dv8.memoryUsage().rss - before < 64 << 20, 'nothing reserved for it');
await refused([`over ${(1 << 20) + 1}`], { maxMessage: 1 << 20 },
  "a message of 1048577 bytes, over the channel's limit of 1048576 bytes (fork's maxMessage)");
await new Promise((resolve) => setTimeout(resolve, 10)); // timers still fire
