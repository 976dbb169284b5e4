// Reload benchmark, the app side (run by tests/bench/reload-peers): it
// reloads itself RELOADS times through dv8.reload(), keeping each reload's
// prepare and pause times in its state, then prints their median and p99.
//   dv8 tests/bench/reload-app.mjs [RELOADS]
// The times go in typed arrays of fixed size: plain arrays growing by one
// each reload cost about 2 us per number to hand across (serdes runs cold in
// each fresh context), and would lengthen the very pauses being measured
// (by 5-7 ms after 1,000 reloads).
const RELOADS = Number(dv8.args[0] || 500);
let state = { n: 0, prepare: new Float64Array(RELOADS), pause: new Float64Array(RELOADS) };

export function load(previous) {
  if (previous !== undefined) {
    state = previous;
    const s = dv8.reloadStats();
    state.prepare[state.n - 1] = s.lastPrepareMs;
    state.pause[state.n - 1] = s.lastPauseMs;
  }
  if (state.n++ < RELOADS) {
    setTimeout(() => dv8.reload(), 0);
    return;
  }
  const q = (list, p) => list.slice().sort()[Math.min(list.length - 1, Math.floor(list.length * p))].toFixed(3);
  console.log(`pause median=${q(state.pause, 0.5)} p99=${q(state.pause, 0.99)} max=${q(state.pause, 1)} ms`);
  console.log(`prepare median=${q(state.prepare, 0.5)} p99=${q(state.prepare, 0.99)} ms (${state.pause.length} reloads)`);
}

export function unload() {
  return state;
}
