// Shared by the id versions of the stream examples, tests/bench/ids/ (not
// runnable on its own; the examples use net's objects): pump(from, to)
// moves every byte from one stream to another with back-pressure: when a
// write is queued (the kernel did not take it all), reading pauses until
// the destination drains. Reading resumes once per pause, so a stream's
// counters satisfy pauses == resumes - 1 (readStart counts as a resume).
import { readStart, write, pause, resume, onDrain, errname, EOF, QUEUED } from 'net';

// onEnd(code) runs once: with EOF when the source ended and everything read
// was handed to the kernel or queued, or with the error code.
export function pump(from, to, onEnd, size = 65536) {
  const buffer = new Uint8Array(size);
  let paused = false;
  let ended = false;
  onDrain(to, (status) => {
    if (status < 0) return finish(status);
    // Resumed whether or not this pump paused it: after a reload the
    // stream may have been paused by the code before (resume on a stream
    // that reads changes nothing).
    paused = false;
    resume(from);
  });
  function finish(code) {
    if (ended) return;
    ended = true;
    onEnd(code);
  }
  const err = readStart(from, buffer, (n) => {
    if (n < 0) return finish(n);
    const r = write(to, buffer, n);
    if (r === QUEUED) {
      paused = true;
      pause(from);
    } else if (r < 0) {
      finish(r);
    }
  });
  if (err < 0) throw new Error(`pump: cannot read: ${errname(err)}`);
}

export { EOF };
