// The helper's side: bytes on its channel that are not sound frames (not
// serdes, a length under the 4-byte count, a message over the limit its
// parent set) do not end it with an uncaught error. Its channel closes,
// parent.onError gets the error (without one, dv8 prints it on stderr),
// parent.onClose follows as when the parent goes, and the helper goes on
// with the rest of its work (a timer), then ends with status 0. What came
// before the bad frame was delivered.
import * as assert from './assert.js';
import * as net from 'net';
import * as proc from 'process';

const listener = `${import.meta.dirname}/fixtures/helper-listener.js`;
const u32 = (n) => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24];
const sound = [...u32(5), ...u32(0), 42];

function collect(fd) {
  return new Promise((resolve) => {
    const id = net.open(fd);
    const buf = new Uint8Array(4096);
    let text = '';
    net.readStart(id, buf, (n) => {
      if (n > 0) return void (text += new TextDecoder().decode(buf.subarray(0, n)));
      net.close(id);
      resolve(text);
    });
  });
}

// Starts the listener with a channel (the limit as fork passes it), writes
// bytes to it as a hostile parent would, and gathers what it says.
async function run(mode, maxMessage, bytes) {
  let exited;
  const done = new Promise((resolve) => { exited = resolve; });
  const c = proc.spawn(dv8.execPath, [listener, mode], { stdio: ['ignore', 'pipe', 'pipe'], channel: maxMessage },
    (status, signal) => exited({ status, signal }));
  assert.equal(typeof c, 'object');
  const out = collect(c.stdio[1]);
  const err = collect(c.stdio[2]);
  const channel = net.open(c.channel);
  assert.ok(net.write(channel, new Uint8Array(bytes)) >= 0);
  const result = { ...await done, out: await out, err: await err };
  net.close(channel);
  return result;
}

{
  const r = await run('handled', 1000, [...sound, ...u32(5), ...u32(0), 0xc1]);
  assert.deepEqual(r, {
    status: 0, signal: null, err: '',
    out: 'message 42\nerror ESERDES channel from the parent closed: message 2 is not one serdes value: ' +
      '0xc1 is not a MessagePack type at byte 0\nclosed\nstill running\n',
  });
}
{
  const r = await run('handled', 1000, [...sound, ...u32(1005), ...u32(0), 1, 2, 3]);
  assert.deepEqual(r, {
    status: 0, signal: null, err: '',
    out: "message 42\nerror EMSGSIZE channel from the parent closed: a message of 1001 bytes, over the channel's " +
      "limit of 1000 bytes (fork's maxMessage)\nclosed\nstill running\n",
  });
}
{
  const r = await run('no-handler', 1000, [...u32(2), 0, 0, ...sound]);
  assert.deepEqual(r, {
    status: 0, signal: null, out: 'closed\nstill running\n',
    err: 'dv8: channel from the parent closed: a frame of 2 bytes, shorter than its 4-byte acknowledgement\n',
  });
}
