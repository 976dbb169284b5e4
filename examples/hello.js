// Run: build/dv8 examples/hello.js [name]
// Shows: an ES module importing a native module, a timer, top-level await
// and console formatting: the 10-line example of README.md.
import { hostname, cpus } from 'os';

const name = dv8.args[0] ?? 'world';
console.log(`hello, ${name}, from ${hostname()} (${cpus().length} CPUs)`);
const started = performance.now();
await new Promise((resolve) => setTimeout(resolve, 100));
console.log('100 ms later:', { waited: Math.round(performance.now() - started), v8: dv8.versions.v8 });
