// ArrayBuffers in a reload's state move to the new code without a copy:
// after three reloads (and one refused on the way) a 4 MiB buffer keeps
// its bytes, and views keep sharing their buffer with the same type,
// offset and length. The old code keeps its buffers when a reload fails.
// Checks run after each reload has committed (a throw inside load() would
// only refuse the reload), and a guard timer fails the test if the chain
// stops early.
import * as assert from './assert.js';

let st;

function sum(u8) {
  let h = 0;
  for (let i = 0; i < u8.length; i += 4093) h = (h * 31 + u8[i]) >>> 0;
  return h;
}

function check() {
  assert.equal(sum(st.big), st.sum, 'the big buffer kept its bytes');
  assert.ok(st.f64 instanceof Float64Array && st.f64.buffer === st.raw, 'views share their buffer');
  assert.deepEqual([st.f64.byteOffset, st.f64.length, st.f64[1]], [8, 4, 2.5]);
  assert.ok(st.dv instanceof DataView && st.dv.buffer === st.raw && st.dv.byteOffset === 40);
}

export function load(state) {
  if (state !== undefined && state.failNext) throw new Error('refused on purpose');
  const guard = setTimeout(() => { throw new Error(`stopped after ${st.n} loads`); }, 5000);
  if (state === undefined) {
    const big = new Uint8Array(4 << 20);
    for (let i = 0; i < big.length; i += 4093) big[i] = i & 0xff;
    const raw = new ArrayBuffer(64);
    st = { n: 0, big, raw, f64: new Float64Array(raw, 8, 4), dv: new DataView(raw, 40, 8),
      sum: sum(big), failNext: false };
    st.f64[1] = 2.5;
  } else {
    st = state;
  }
  st.n++;
  setTimeout(() => {
    check();
    if (st.n === 2 && dv8.reloadStats().failures === 0) {
      st.failNext = true; // refused; this code goes on with its buffers
      dv8.reload();
      setTimeout(() => {
        assert.equal(dv8.reloadStats().failures, 1);
        check();
        st.failNext = false;
        dv8.reload();
      }, 30);
    } else if (st.n < 4) {
      dv8.reload();
    } else {
      clearTimeout(guard);
      assert.deepEqual([dv8.reloadStats().count, dv8.reloadStats().failures], [3, 1]);
      console.log('ok: 3 reloads, 1 refused, buffers moved intact');
    }
  }, 0);
}

export function unload() {
  return st;
}
