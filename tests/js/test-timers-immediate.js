// setImmediate runs in the check phase, as node's: after the I/O of the
// loop turn it was queued in, before the timers of the next (so inside an
// I/O callback it always beats setTimeout(0)); promise jobs run between
// immediates; immediates queued by an immediate wait a turn; clearImmediate
// and unref work; extra arguments are passed.
import * as assert from './assert.js';
import * as net from 'net';

const order = [];
await new Promise((resolve) => {
  setImmediate(() => {
    order.push('imm1');
    Promise.resolve().then(() => order.push('micro after imm1'));
    setImmediate(() => { order.push('queued by imm1'); resolve(); });
  });
  setImmediate((a, b) => order.push(`imm2 ${a} ${b}`), 'x', 'y');
  const cleared = setImmediate(() => order.push('cleared'));
  clearImmediate(cleared);
  clearImmediate(undefined);
  clearImmediate(42);
});
assert.deepEqual(order, ['imm1', 'micro after imm1', 'imm2 x y', 'queued by imm1']);

// From an I/O callback: the immediate first, then the 0 ms timer, every time.
const server = net.listen('127.0.0.1', 0, 16, (conn) => net.close(conn));
const { port } = net.address(server);
for (let i = 0; i < 5; i++) {
  const seen = await new Promise((resolve) => {
    const got = [];
    const id = net.connect('127.0.0.1', port, () => {
      setTimeout(() => { got.push('timeout'); if (got.length === 2) resolve(got); }, 0);
      setImmediate(() => { got.push('immediate'); if (got.length === 2) resolve(got); });
      net.close(id);
    });
  });
  assert.deepEqual(seen, ['immediate', 'timeout']);
}
net.close(server);

const im = setImmediate(() => {});
assert.equal(im.hasRef(), true);
assert.equal(im.unref(), im);
assert.equal(im.hasRef(), false);
im.ref();
assert.throws(() => setImmediate('x'), TypeError);
