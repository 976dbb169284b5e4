// node tests/http/reload-clients.mjs PORT CONNS SECONDS [PACE_MS]: CONNS keep-alive
// clients (node's http, one socket each) POST bodies of random size and
// check every answer: it names the request's id, its body's length and
// checksum (the code that answered had all of it) and a version (a or b:
// which code answered). Each waits PACE_MS (default 0) between requests.
// Runs SECONDS or until SIGUSR2; then prints "ok N
// connections, R requests, a=A b=B" and exits 0, or exits 1 at the first
// wrong answer, failed request or socket opened twice.
import http from 'node:http';
import crypto from 'node:crypto';

const [port, conns, seconds, pace = 0] = process.argv.slice(2).map(Number);
let stop = false;
let requests = 0;
const versions = { a: 0, b: 0 };
const sockets = new Set();
process.on('SIGUSR2', () => (stop = true));
setTimeout(() => (stop = true), seconds * 1000).unref();

function sum(b) {
  let s = 0;
  for (let i = 0; i < b.length; i++) s = (s + b[i] * ((i % 251) + 1)) >>> 0;
  return s;
}

function die(why) {
  console.error(`FAIL ${why}`);
  process.exit(1);
}

async function client(n) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; !stop; i++) {
    const body = crypto.randomBytes(Math.floor(Math.random() * 4096));
    const id = `${n}.${i}`;
    const got = await new Promise((resolve, reject) => {
      const req = http.request(
        { port, method: 'POST', path: '/work', agent, headers: { 'x-id': id, 'x-delay': String(i % 3), 'content-length': body.length } },
        (res) => {
          const parts = [];
          res.on('data', (d) => parts.push(d));
          res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(parts).toString() }));
          res.on('error', reject);
        },
      );
      req.on('socket', (s) => sockets.add(s));
      req.setTimeout(10000, () => req.destroy(new Error('no answer within 10 s')));
      req.on('error', reject);
      req.end(body);
    }).catch((err) => die(`client ${n} request ${i}: ${err.message}`));
    const [v, gotId, len, s] = got.text.split(' ');
    if (got.status !== 200 || gotId !== id || Number(len) !== body.length || Number(s) !== sum(body) || !(v in versions))
      die(`client ${n} request ${i}: got ${got.status} '${got.text}', sent ${id} ${body.length} ${sum(body)}`);
    versions[v]++;
    requests++;
    if (pace > 0) await new Promise((resolve) => setTimeout(resolve, pace));
  }
  agent.destroy();
}

await Promise.all(Array.from({ length: conns }, (_, n) => client(n)));
if (sockets.size !== conns) die(`${sockets.size} sockets were opened for ${conns} clients: a connection was dropped`);
console.log(`ok ${conns} connections, ${requests} requests, a=${versions.a} b=${versions.b}`);
