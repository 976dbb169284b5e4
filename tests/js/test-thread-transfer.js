// ArrayBuffers in a transfer list move to the thread instead of being
// copied: detached on the sender once queued, intact on the receiver
// (checksums), views keeping their type, offset and length; moved back and
// forth 100 times. Bad transfer lists are TypeErrors that leave every
// buffer as it was; a refused send (EFULL) moves nothing.
import * as assert from './assert.js';
import { spawn, EFULL } from 'thread';

const sum = (u8) => {
  let h = 0;
  for (let i = 0; i < u8.length; i++) h = (Math.imul(h, 31) + u8[i]) | 0;
  return h;
};

const thread = spawn(async () => {
  const { parent } = await import('thread');
  const sum = (u8) => {
    let h = 0;
    for (let i = 0; i < u8.length; i++) h = (Math.imul(h, 31) + u8[i]) | 0;
    return h;
  };
  parent.onMessage = (m) => {
    if (m === 'stop') { parent.onMessage = null; return; }
    // Only rounds are answered: replying to the other messages ({ copy },
    // {}) would throw here (no buffer to move back) and end the thread,
    // racing the sends that follow them.
    if (m.round === undefined) return;
    const bytes = new Uint8Array(m.buffer);
    // Reply with the checksum, and the buffer moved back.
    parent.send({ round: m.round, sum: sum(bytes), view: m.view, buffer: m.buffer }, { transfer: [m.buffer] });
  };
});

const ab = new ArrayBuffer(1 << 20);
const bytes = new Uint8Array(ab);
for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
const expected = sum(bytes);

let buffer = ab;
for (let round = 0; round < 100; round++) {
  const view = new Float64Array(buffer, 8, 4);
  const rc = thread.send({ round, buffer, view }, { transfer: [buffer] });
  assert.equal(rc, 0);
  assert.equal(buffer.byteLength, 0, 'detached on the sender');
  assert.equal(view.length, 0, 'views of it too');
  const reply = await new Promise((resolve) => { thread.onMessage = resolve; });
  assert.equal(reply.round, round);
  assert.equal(reply.sum, expected, `checksum in round ${round}`);
  assert.equal(reply.buffer.byteLength, 1 << 20);
  assert.equal(sum(new Uint8Array(reply.buffer)), expected, 'intact after the way back');
  assert.ok(reply.view instanceof Float64Array);
  assert.equal(reply.view.byteOffset, 8);
  assert.equal(reply.view.length, 4);
  buffer = reply.buffer;
}

// A buffer referenced but not listed is copied: the sender keeps it.
const kept = new Uint8Array([1, 2, 3]);
assert.equal(thread.send({ copy: kept }), 0);
assert.equal(kept.length, 3);

// Bad lists: TypeErrors, nothing detached.
const a = new ArrayBuffer(8);
assert.throws(() => thread.send({ a }, { transfer: [a, a] }), /listed twice/);
assert.throws(() => thread.send({ a }, { transfer: [new Uint8Array(a)] }), /array of ArrayBuffers/);
assert.throws(() => thread.send({ a }, { transfer: a }), TypeError);
assert.equal(a.byteLength, 8, 'not detached by a refused list');
const gone = new ArrayBuffer(4);
assert.equal(thread.send({}, { transfer: [gone] }), 0);
assert.throws(() => thread.send({}, { transfer: [gone] }), /detached/);
thread.send('stop');
await new Promise((resolve) => { thread.onExit = resolve; });

// EFULL moves nothing: the buffer stays the sender's.
const busy = spawn(() => { const until = Date.now() + 200; while (Date.now() < until); }, { queueLimit: 4096 });
const pad = 'x'.repeat(3000);
assert.equal(busy.send(pad), 0);
const stay = new ArrayBuffer(16);
assert.equal(busy.send({ pad, stay }, { transfer: [stay] }), EFULL);
assert.equal(stay.byteLength, 16, 'still the sender\'s after EFULL');
await new Promise((resolve) => { busy.onExit = resolve; });
