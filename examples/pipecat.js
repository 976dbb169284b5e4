// Run: cat test.bin | build/dv8 examples/pipecat.js | md5sum
//      (DV8_COUNTERS=1 also prints the counters of stdin and stdout)
// Shows: stdin to stdout, byte for byte, with back-pressure: a slow reader
// downstream pauses reading upstream, so memory stays bounded.
import { open, queued, onDrain, errname } from 'net';
import { pump, EOF } from './lib/pump.js';
import { closeAndReport } from './lib/stats.js';

const stdin = open(0);
const stdout = open(1);
if (stdin < 0 || stdout < 0) throw new Error(`cannot open stdio: ${errname(Math.min(stdin, stdout))}`);

pump(stdin, stdout, (code) => {
  if (code !== EOF) console.error(`pipecat: ${errname(code)}`);
  const done = () => {
    closeAndReport('stdin', stdin);
    closeAndReport('stdout', stdout);
    if (code !== EOF) dv8.exit(1);
  };
  // Whatever is still queued for stdout goes out before it closes.
  if (queued(stdout) > 0) onDrain(stdout, done);
  else done();
});
