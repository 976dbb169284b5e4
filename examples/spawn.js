// Run: build/dv8 examples/spawn.js PROGRAM [ARGS...]
//      e.g. build/dv8 examples/spawn.js ping -c 3 127.0.0.1
// Shows: running a helper program (module `process`) and streaming its
// output as it comes: its stdout and stderr are pipes, each wrapped as a
// net stream (the same handle as a socket, reading into one buffer), every
// line printed with the stream it came from. Ends with the program's exit
// status (or the signal that ended it); Ctrl-C is passed on to it.
import * as proc from 'process';
import * as net from 'net';

const [file, ...args] = dv8.args;
if (file === undefined) {
  console.error('usage: spawn.js PROGRAM [ARGS...]');
  dv8.exit(2);
}

// The end: once the program has exited and both its outputs have ended
// (in either order), so that no last line is lost.
let waiting = 3;
let code = 0;
function done() {
  if (--waiting > 0) return;
  proc.close(sigint);
  dv8.exit(code);
}

const child = proc.spawn(file, args, { stdio: ['inherit', 'pipe', 'pipe'] }, (status, signal) => {
  console.log(signal === null ? `[exit ${status}]` : `[ended by signal ${signal}]`);
  code = signal === null ? status : 128 + signal;
  done();
});
if (typeof child === 'number') {
  console.error(`spawn.js: cannot run ${file}: ${net.errname(child)}`);
  dv8.exit(127);
}

// Ctrl-C: to the child, which decides (its exit ends this program too).
const sigint = proc.onSignal('SIGINT', () => proc.kill(child.id, 'SIGINT'));

function follow(fd, label) {
  const stream = net.open(fd);
  const buffer = new Uint8Array(65536);
  const decoder = new TextDecoder();
  let partial = '';
  net.readStart(stream, buffer, (n) => {
    if (n < 0) {
      if (partial !== '') console.log(`${label} ${partial}`);
      net.close(stream);
      done();
      return;
    }
    const lines = (partial + decoder.decode(buffer.subarray(0, n), { stream: true })).split('\n');
    partial = lines.pop();
    for (const line of lines) console.log(`${label} ${line}`);
  });
}
follow(child.stdio[1], '[out]');
follow(child.stdio[2], '[err]');
