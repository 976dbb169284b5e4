// Run: cat test.bin | build/dv8 examples/pipecat.js | md5sum
//      (DV8_COUNTERS=1 also prints the counters of stdin and stdout)
// Shows: stdin to stdout, byte for byte, with back-pressure, with net's
// objects: stdin is a Socket reading into a buffer of its own, stdout a
// Socket that only writes (read: false). When a write is queued (the
// kernel did not take it all) stdin pauses until stdout drains, so a slow
// reader downstream keeps memory bounded.
import { open } from 'net';
import { report } from './lib/stats.js';

let failure;
let ended = false; // stdin is done: close both once stdout has drained
function finish(err) {
  failure ??= err;
  stdin.close();
  stdout.close();
}

const stdout = open(1, {
  drain() {
    if (ended) return finish();
    stdin.resume();
  },
  error: (socket, err) => finish(err),
  close: (socket) => {
    report('stdout', socket.counters());
    if (failure !== undefined) {
      console.error(`pipecat: ${failure.message}`);
      dv8.exit(1);
    }
  },
}, { read: false });

const stdin = open(0, {
  data(socket, bytes) {
    const how = stdout.write(bytes);
    if (how === 'queued') socket.pause(); // until stdout drains
  },
  end() {
    ended = true;
    if (stdout.queued === 0) finish(); // else at drain
  },
  error: (socket, err) => finish(err),
  close: (socket) => report('stdin', socket.counters()),
});
