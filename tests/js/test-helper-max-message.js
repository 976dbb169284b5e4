// fork's maxMessage bounds a message's serdes bytes both ways: a send
// past it throws EMSGSIZE naming the size and the limit (nothing is sent,
// the channel goes on), one at the limit goes through; the helper is given
// the same limit and its sends are refused the same way. Bad values of
// maxMessage are a RangeError. (A receiver refusing a header past it:
// test-helper-huge-header.js.)
import * as assert from './assert.js';
import { fork } from 'helper';

const echo = `${import.meta.dirname}/fixtures/helper-echo.js`;
const LIMIT = 1 << 20;

const h = fork(echo, { maxMessage: LIMIT });
const ended = new Promise((resolve) => { h.onExit = (...a) => resolve(a); });
const replies = [];
let waiting = null;
h.onMessage = (m) => { replies.push(m); if (waiting !== null) waiting(); };
async function reply() {
  while (replies.length === 0) await new Promise((resolve) => { waiting = resolve; });
  return replies.shift();
}

const LIMIT_TEXT = `the channel's limit of ${LIMIT} bytes \\(fork's maxMessage\\)$`;
const tooBig = (n) => new RegExp(`^send: a message of ${n} bytes is over ${LIMIT_TEXT}`);
// A value that cannot fit is named as soon as it is met (serdes stops
// there: a huge one is not walked).
const named = (what) => new RegExp(`^send: ${what} takes the message past ${LIMIT_TEXT}`);
function refused(fn, re) {
  const err = assert.throws(fn, re);
  assert.equal(err.code, 'EMSGSIZE');
}

// A Uint8Array is 5 bytes of header and its bytes; other values as serdes writes them.
refused(() => h.send(new Uint8Array(LIMIT - 4)), tooBig(LIMIT + 1));
refused(() => h.send('x'.repeat(LIMIT)), tooBig(LIMIT + 5));
refused(() => h.send('\u20ac'.repeat(LIMIT / 2)), named(`value: string of ${LIMIT / 2} characters`));
refused(() => h.send({ a: new Uint8Array(LIMIT) }), named(`value\\.a: Uint8Array of ${LIMIT} bytes`));
refused(() => h.send(new Float64Array(LIMIT / 8)), named(`value: Float64Array of ${LIMIT} bytes`));
refused(() => h.send({ a: new Uint8Array(LIMIT - 7) }), tooBig(LIMIT + 1));
// At the limit: it goes through. The helper has the same limit: its echo
// ({ echo, n }, 9 bytes more) is refused there, and it says so instead.
const exact = new Uint8Array(LIMIT - 5);
assert.equal(h.send(exact), 0);
assert.equal(h.send('small'), 0);
const r1 = await reply();
assert.equal(r1.refused, 'EMSGSIZE');
assert.ok(named(`value\\.echo: Uint8Array of ${LIMIT - 5} bytes`).test(r1.message), r1.message);
assert.equal(r1.size, LIMIT - 5);
assert.deepEqual(await reply(), { echo: 'small', n: 2 });
h.send('bye');
assert.deepEqual(await ended, [0, null, 0, null]);

assert.throws(() => fork(echo, { maxMessage: 0 }), /maxMessage must be an integer from 1 to 4294967280/);
assert.throws(() => fork(echo, { maxMessage: 2 ** 32 }), RangeError);
assert.throws(() => fork(echo, { maxMessage: 1.5 }), RangeError);
