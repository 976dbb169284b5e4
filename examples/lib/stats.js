// Shared by the stream examples (not runnable on its own): with
// DV8_COUNTERS set in the environment, report(name, counters) writes a
// stream's final counters to stderr as one JSON line, { name, ...counters },
// so that tests and people can check the back-pressure accounting of a
// run; closeAndReport(name, id) closes a stream id and does the same (the
// id versions, tests/bench/ids/).
import { close } from 'net';

const wanted = Boolean(dv8.env.DV8_COUNTERS);

export function closeAndReport(name, id) {
  close(id, (counters) => {
    if (wanted) console.error(JSON.stringify({ name, ...counters }));
  });
}

// report(name, counters): the same line for a net Socket's counters (its
// close handler has them: socket.counters()).
export function report(name, counters) {
  if (wanted && counters) console.error(JSON.stringify({ name, ...counters }));
}
