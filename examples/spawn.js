// Run: build/dv8 examples/spawn.js PROGRAM [ARGS...]
//      e.g. build/dv8 examples/spawn.js ping -c 3 127.0.0.1
// Shows: running a helper program (module `process`) as a ChildProcess and
// streaming its output as it comes: its stdout and stderr are pipes, each
// opened as a net Socket (reading into one buffer of its own), every line
// printed with the stream it came from. Ends with the program's exit
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

let child;
try {
  child = proc.spawn(file, args, { stdio: ['inherit', 'pipe', 'pipe'] }, {
    exit(c, status, signal) {
      console.log(signal === null ? `[exit ${status}]` : `[ended by signal ${signal}]`);
      code = signal === null ? status : 128 + signal;
      done();
    },
  });
} catch (err) {
  console.error(`spawn.js: cannot run ${file}: ${err.code} (${net.strerror(err.errno)})`);
  dv8.exit(127);
}

// Ctrl-C: to the child, which decides (its exit ends this program too).
const sigint = proc.onSignal('SIGINT', () => child.kill('SIGINT'));

function follow(fd, label) {
  const decoder = new TextDecoder();
  let partial = '';
  const flush = () => {
    if (partial !== '') console.log(`${label} ${partial}`);
    partial = '';
  };
  net.open(fd, {
    data(socket, bytes) {
      const lines = (partial + decoder.decode(bytes, { stream: true })).split('\n');
      partial = lines.pop();
      for (const line of lines) console.log(`${label} ${line}`);
    },
    end(socket) {
      flush();
      socket.close();
    },
    close() {
      flush(); // after a read error
      done();
    },
  });
}
follow(child.stdio[1], '[out]');
follow(child.stdio[2], '[err]');
