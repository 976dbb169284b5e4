// A module built against the previous header (tests/modules/abi2.c:
// DV8_ABI_TARGET 2, a shorter API table, ABI 2 declared) loads in this dv8
// and works: its functions, a handle it registers with callback slots, and
// the libuv timer that calls back through them.
import * as assert from './assert.js';
import * as abi2 from 'abi2';

const info = abi2.info();
assert.equal(info.abi, 2, 'the module declares ABI 2');
assert.equal(info.hostAbi, 7, 'the host is ABI 7');
assert.ok(info.tableSize < info.hostTableSize, `built against a shorter table: ${dv8.inspect(info)}`);
assert.equal(abi2.add(2, 3), 5);
assert.throws(() => abi2.tick(NaN, 1, () => {}, () => {}), /^tick: argument 1 must be an integer/);

const ticks = [];
let id;
const done = await new Promise((resolve) => {
  id = abi2.tick(1, 3, (n) => ticks.push(n), resolve);
  assert.ok(Number.isSafeInteger(id) && id > 0, `an id: ${id}`);
  assert.equal(abi2.ticks(id), 0);
  const h = dv8.handles().find((x) => x.id === id);
  assert.ok(h, 'the handle is in the table');
  assert.equal(h.type, 'abi2-ticker');
  assert.equal(h.module, undefined, 'an ABI 2 module lists no handle types');
});
assert.deepEqual(ticks, [1, 2, 3], 'called back from libuv through its slot');
assert.equal(done, 3, 'the last callback, from free, through the other slot');
assert.equal(abi2.ticks(id), undefined, 'closed');
assert.equal(dv8.handles().find((x) => x.id === id), undefined, 'gone from the table');
