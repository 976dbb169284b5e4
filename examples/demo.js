// Run: build/dv8 examples/demo.js   (make demo runs examples/reload/chat.js)
// Shows what dv8 is made of today: ES modules, native modules found on the
// search path (os, fs, tty), timers on host-owned handles, microtasks,
// console formatting like node's, failures as Errors with .code (fs's
// promise and Sync forms), and memory use. The live server demo (sockets
// kept across hot reloads) is examples/reload/chat.js (make demo).
import * as os from 'os';
import * as fs from 'fs';
import { write } from 'tty';

console.log(`dv8 ${dv8.version} on V8 ${dv8.versions.v8}, libuv ${dv8.versions.uv}`);
console.log('host:', { hostname: os.hostname(), cpus: os.cpus().length, pid: dv8.pid });

// Files: a failure is an Error with .code, .errno, .syscall and .path.
try {
  await fs.readFile('/no/such/file', 'utf8');
} catch (err) {
  console.log('reading a missing file gives', err.code, `(${err.message})`);
}
const self = fs.readFileSync(import.meta.filename, 'utf8');
console.log(`this demo is ${self.split('\n').length} lines long`);

// Timers and microtasks: a countdown on one libuv timer.
let n = 3;
await new Promise((resolve) => {
  const iv = setInterval(() => {
    write(1, `countdown ${n}\n`);
    queueMicrotask(() => { if (--n === 0) { clearInterval(iv); resolve(); } });
  }, 200);
});

const m = dv8.memoryUsage();
console.log('memory:', { rssMB: +(m.rss / 2 ** 20).toFixed(1), heapUsedMB: +(m.heapUsed / 2 ** 20).toFixed(1) });
console.log('try the REPL: build/dv8   (then type 1 + 1, or .help)');
