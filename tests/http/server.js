// The http tests' server: dv8 tests/http/server.js PORT [CERT KEY] (with
// CERT and KEY, https). Short timeouts
// (500 ms) and a 1 MiB body limit, so the limit tests run fast. Routes:
//   /             'hello'
//   /n/I          'I' (pipelining: answers in order)
//   /slow/MS/I    'I' after MS ms (answers in order whatever finishes first)
//   /echo         the request body back (POST/PUT)
//   /sum          the body's byte count and a checksum (sum of bytes mod 2^32)
//   /stream/K     K chunks of 1000 bytes, streamed (chunked)
//   /headers      the request's method, target, url and headers as JSON
//   /throw        a handler that throws (500)
//   /reject       a handler whose promise rejects (500)
//   /status/S     an empty answer with status S
//   /close        answered with connection: close
import * as http from 'http';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const port = Number(dv8.args[0] ?? 0);

function sumOf(bytes) {
  let s = 0;
  for (let i = 0; i < bytes.length; i++) s = (s + bytes[i] * (i % 251 + 1)) >>> 0;
  return s;
}

const server = http.serve(
  {
    port,
    maxBodySize: 1 << 20,
    headersTimeout: 500,
    bodyTimeout: 500,
    idleTimeout: 500,
    tls: dv8.args[2] === undefined ? undefined : { certFile: dv8.args[1], keyFile: dv8.args[2] },
  },
  async (req) => {
    const path = req.target;
    if (path === '/') return new http.Response('hello');
    if (path.startsWith('/n/')) return new http.Response(path.slice(3));
    if (path.startsWith('/slow/')) {
      const [, , ms, i] = path.split('/');
      await sleep(Number(ms));
      return new http.Response(i);
    }
    if (path === '/echo') return new http.Response(await req.bytes(), { headers: { 'content-type': 'application/octet-stream' } });
    if (path === '/sum') {
      const b = await req.bytes();
      return new http.Response(`${b.length} ${sumOf(b)}`);
    }
    if (path.startsWith('/stream/')) {
      const k = Number(path.slice(8));
      return new http.Response(
        (async function* () {
          for (let i = 0; i < k; i++) {
            yield String(i % 10).repeat(1000);
            if (i % 16 === 0) await sleep(1);
          }
        })(),
      );
    }
    if (path === '/headers')
      return http.Response.json({ method: req.method, target: req.target, url: req.url, headers: [...req.headers] });
    if (path === '/throw') throw new Error('thrown on purpose');
    if (path === '/reject') return Promise.reject(new Error('rejected on purpose'));
    if (path.startsWith('/status/')) return new http.Response(null, { status: Number(path.slice(8)) });
    if (path === '/close') return new http.Response('bye', { headers: { connection: 'close' } });
    return new http.Response('not found', { status: 404 });
  },
);
console.log(`listening ${server.port}`);
