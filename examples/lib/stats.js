// Shared by the stream examples (not runnable on its own): closeAndReport
// closes a stream and, with DV8_COUNTERS set in the environment, writes its
// final counters to stderr as one JSON line, { name, ...counters }, so that
// tests and people can check the back-pressure accounting of a run.
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
