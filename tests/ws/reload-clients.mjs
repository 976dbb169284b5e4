// Run: node tests/ws/reload-clients.mjs URL CONNS SECONDS
// Shows: CONNS WebSocket clients (the npm ws package) that keep sending
// messages to a tagging echo server (the app of tests/shell/
// test-reload-ws.sh) while it is reloaded: each message "id:seq:payload"
// (1 B to 200 KiB, a third of them sent in two fragments with a pause
// between) must come back as "VERSION id:seq:length:sum", in order, from
// version a or b. Runs SECONDS or until SIGUSR2, then closes every
// connection with 1000 and prints "ok N connections, M messages, a=A b=B",
// or exits 1 at the first wrong answer or a connection that closed early.
import { createRequire } from 'node:module';

const require = createRequire(new URL('../peers/', import.meta.url));
const WebSocket = require('ws');
const [url, connsArg, secondsArg] = process.argv.slice(2);
const conns = Number(connsArg);
let stop = false;
process.on('SIGUSR2', () => (stop = true));
setTimeout(() => (stop = true), Number(secondsArg) * 1000).unref();
const versions = { a: 0, b: 0 };
let messages = 0;
let seed = 7;
const rand = (n) => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return (seed >>> 16) % n;
};
const sum = (s) => {
  let t = 0;
  for (let i = 0; i < s.length; i++) t = (t + s.charCodeAt(i) * ((i % 251) + 1)) >>> 0;
  return t;
};
function die(why) {
  console.log(`FAIL ${why}`);
  process.exit(1);
}
function one(k) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    let seq = 0;
    let owed = null;
    const next = () => {
      if (stop) return ws.close(1000, 'done');
      const size = [1, 100, 5000, 70000, 200000][rand(5)];
      const text = `${k}:${seq}:${'x'.repeat(size)}`;
      owed = `${k}:${seq}:${text.length}:${sum(text)}`;
      seq++;
      if (rand(3) === 0 && text.length > 10) {
        const cut = rand(text.length - 2) + 1;
        ws.send(text.slice(0, cut), { fin: false });
        setTimeout(() => ws.readyState === 1 && ws.send(text.slice(cut), { fin: true }), rand(5));
      } else ws.send(text);
    };
    ws.on('open', next);
    ws.on('message', (data) => {
      const s = data.toString();
      const sp = s.indexOf(' ');
      const v = s.slice(0, sp);
      if (!(v in versions)) die(`connection ${k}: answer from version '${v}': ${s.slice(0, 80)}`);
      if (s.slice(sp + 1) !== owed) die(`connection ${k}: answer '${s.slice(0, 80)}', expected '${owed}'`);
      versions[v]++;
      messages++;
      owed = null;
      next();
    });
    ws.on('close', (code) => {
      if (!stop || code !== 1000) die(`connection ${k} closed (${code}) after ${seq} messages`);
      resolve();
    });
    ws.on('error', (e) => die(`connection ${k}: ${e.message}`));
  });
}
await Promise.all(Array.from({ length: conns }, (_, k) => one(k)));
console.log(`ok ${conns} connections, ${messages} messages, a=${versions.a} b=${versions.b}`);
