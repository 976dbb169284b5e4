// Values of every serdes type cross to a thread and back intact, in order;
// args and the module's return value arrive; isMainThread tells the sides
// apart.
import * as assert from './assert.js';
import { spawn, isMainThread, parent, ECLOSED } from 'thread';

assert.equal(isMainThread, true);
assert.equal(parent, null);

const big = new Uint8Array(200000).map((_, i) => (i * 7) & 255);
const values = [
  null, true, false, 0, -1, 2 ** 31, -(2 ** 40), 1.5, NaN, -0, Infinity, 2n ** 64n + 1n, -5n,
  '', 'héllo 😀', 'x'.repeat(70000), [], [1, [2, [3]]], {}, { a: 1, nested: { b: [true] } },
  new Date(86400000), new Date(NaN), undefined, new Map([[1, 'one'], [{ k: 1 }, [2]]]), new Set(['a', 1]),
  new Int16Array([1, -2, 3]), new Float64Array([0.5, -1e300]), new BigInt64Array([-1n]), big,
  new DataView(new Uint8Array([9, 8, 7]).buffer), /a+b/gi, new RangeError('r'),
  Object.assign(new Error('with props'), { code: 'E_X', detail: [1] }),
];

const thread = spawn(`${import.meta.dirname}/fixtures/thread-echo.js`, { args: ['a', 2, { c: [3] }] });
const back = [];
const done = new Promise((resolve) => {
  thread.onExit = (code, result, error) => resolve({ code, result, error });
});
thread.onMessage = (v) => {
  back.push(v);
  if (back.length === values.length) thread.send('stop');
};
for (const v of values) assert.equal(thread.send(v), 0);
const { code, result, error } = await done;
assert.equal(code, 0);
assert.equal(error, null);
assert.deepEqual(result, { started: ['a', 2, { c: [3] }] });
assert.equal(back.length, values.length);
for (let i = 0; i < values.length; i++) {
  const a = back[i];
  const b = values[i];
  if (b instanceof Error) {
    assert.ok(a instanceof b.constructor, `value ${i}: ${a}`);
    assert.equal(a.message, b.message);
    assert.equal(a.stack, b.stack);
    assert.equal(a.code, b.code);
  } else if (b instanceof RegExp) {
    assert.equal(String(a), String(b));
  } else {
    assert.deepEqual(a, b, `value ${i}`);
  }
}
assert.equal(thread.running, false);
assert.equal(thread.send(1), ECLOSED, 'send after exit');
