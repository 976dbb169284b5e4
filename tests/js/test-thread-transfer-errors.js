// A transfer list that cannot be honoured says which buffer and why: one
// already detached (its memory moved with an earlier message), one that
// cannot be detached (a WebAssembly.Memory's), one listed twice. Nothing
// is sent or detached; the message was 'transfer: an ArrayBuffer is
// detached or cannot be' for the first two.
import * as assert from './assert.js';
import { spawn } from 'thread';

const t = spawn(async () => {
  const { parent } = await import('thread');
  parent.onMessage = () => {};
});
const refused = (list, message) => {
  const e = assert.throws(() => t.send({}, { transfer: list }), TypeError);
  assert.equal(e.message, message);
};

const moved = new ArrayBuffer(8);
assert.equal(t.send({ moved }, { transfer: [moved] }), 0);
assert.equal(moved.byteLength, 0);
const other = new ArrayBuffer(8);
refused([other, moved], 'transfer[1]: the ArrayBuffer is detached: its memory has moved already (sent with a transfer list before, or handed to a reload\'s new code)');

const memory = new WebAssembly.Memory({ initial: 1 });
refused([memory.buffer], 'transfer[0]: the ArrayBuffer cannot be detached: its memory stays with its owner (a WebAssembly.Memory\'s buffer); leave it out of transfer to send a copy');
assert.equal(memory.buffer.byteLength, 65536);

refused([other, new ArrayBuffer(1), other], 'transfer[2]: the ArrayBuffer is listed twice (also at transfer[0])');
assert.equal(other.byteLength, 8, 'nothing detached by a refused list');

// Without transfer the WebAssembly memory goes as a copy.
assert.equal(t.send({ copy: new Uint8Array(memory.buffer, 0, 4) }), 0);
t.onExit = () => {};
t.terminate();
