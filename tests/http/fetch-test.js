// fetch against real servers: dv8 tests/http/fetch-test.js PY_PORT
// TLS_PORT CA.pem. PY_PORT is tests/http/py-server.py (python's
// http.server, keep-alive); TLS_PORT is nginx over TLS with a certificate
// for localhost from CA.pem (/file: 1 MiB, /moved: 301 to /file, x-conn:
// nginx's connection number). Prints "ok NAME" per case; the first
// failure throws (status 1).
import * as http from 'http';
import * as assert from '../js/assert.js';

const [pyPort, tlsPort, caFile] = dv8.args;
const py = `http://127.0.0.1:${pyPort}`;
const tlsBase = `https://localhost:${tlsPort}`;
const tlsInit = { ca: (await import('fs')).readFileSync(caFile) };

function sumOf(b) {
  let s = 0;
  for (let i = 0; i < b.length; i++) s = (s + b[i] * ((i % 251) + 1)) >>> 0;
  return s;
}
const ok = (name) => console.log(`ok ${name}`);

let r = await http.fetch(`${py}/hello`);
assert.equal(r.status, 200);
assert.equal(r.ok, true);
assert.equal(r.statusText, 'OK');
assert.equal(r.headers.get('content-type'), 'text/plain');
assert.equal(await r.text(), 'hello');
assert.equal(r.url, `${py}/hello`);
ok('GET text');

const big = await (await http.fetch(`${py}/big`)).bytes();
const want = new Uint8Array(1 << 20).map((_, i) => (i * 7) % 251);
assert.equal(big.length, 1 << 20);
assert.equal(sumOf(big), sumOf(want));
ok('GET 1 MiB bytes, checked');

const body = new Uint8Array(300000);
for (let i = 0; i < body.length; i += 65536) crypto.getRandomValues(body.subarray(i, i + 65536));
r = await http.fetch(`${py}/echo`, { method: 'POST', body });
assert.equal(sumOf(await r.bytes()), sumOf(body));
r = await http.fetch(`${py}/echo`, { method: 'PUT', body: 'text body' });
assert.equal(await r.text(), 'text body');
r = await http.fetch(`${py}/echo`, {
  method: 'POST',
  body: (async function* () {
    yield 'chunk1,';
    yield new Uint8Array([99, 50]);
  })(),
});
assert.equal(await r.text(), 'chunk1,c2');
ok('POST bytes (300 KB), a string, a streamed (chunked) body');

assert.equal(await (await http.fetch(`${py}/chunked`)).text(), 'abc'.repeat(1000));
ok('chunked answer');
const chunks = [];
for await (const c of (await http.fetch(`${py}/big`)).body) chunks.push(c.length);
assert.equal(chunks.reduce((a, b) => a + b, 0), 1 << 20);
ok(`body as a stream (${chunks.length} chunks)`);

const p1 = await (await http.fetch(`${py}/port`)).text();
const p2 = await (await http.fetch(`${py}/port`)).text();
assert.equal(p1, p2, 'a second request goes on the kept-alive connection');
ok('keep-alive: the pooled connection is used again');

r = await http.fetch(`${py}/hello`, { method: 'HEAD' });
assert.equal(r.headers.get('content-length'), '5');
assert.equal((await r.bytes()).length, 0);
assert.equal(await (await http.fetch(`${py}/hello`)).text(), 'hello');
ok('HEAD: no body, the connection goes on');

r = await http.fetch(`${py}/redirect/3`);
assert.equal(await r.text(), 'done');
assert.equal(r.redirected, true);
assert.equal(r.url, `${py}/redirect/0`);
r = await http.fetch(`${py}/r303`, { method: 'POST', body: 'x' });
assert.equal(await r.text(), 'GET');
r = await http.fetch(`${py}/r307`, { method: 'POST', body: 'kept' });
assert.equal(await r.text(), 'kept');
r = await http.fetch(`${py}/redirect/1`, { redirect: 'manual' });
assert.equal(r.status, 302);
assert.equal(r.headers.get('location'), '/redirect/0');
await r.bytes();
let err = await http.fetch(`${py}/redirect/1`, { redirect: 'error' }).catch((e) => e);
assert.ok(err instanceof TypeError && /redirects \(302\)/.test(err.message), String(err));
err = await http.fetch(`${py}/redirect/25`).catch((e) => e);
assert.ok(err instanceof TypeError && /more than 20 redirects/.test(err.message), String(err));
ok('redirects: follow (302, 303 -> GET, 307 keeps the body), manual, error, a limit of 20');

r = await http.fetch(`${py}/headers`, { headers: { 'X-One': '1', 'user-agent': 'mine' } });
const seen = await r.text();
assert.ok(/^x-one: 1$/m.test(seen) && /^user-agent: mine$/m.test(seen) && /^host: 127.0.0.1:/m.test(seen), seen);
ok('request headers sent');

assert.equal(await (await http.fetch(`${py}/eof`)).text(), 'until the end');
ok('an answer ended by closing');

err = await http.fetch(`${py}/garbage`).catch((e) => e);
assert.ok(err instanceof TypeError && /malformed answer/.test(err.message), String(err));
r = await http.fetch(`${py}/cut`);
err = await r.text().catch((e) => e);
assert.ok(err instanceof TypeError && /before the body was complete/.test(err.message), String(err));
ok('malformed and cut-short answers are errors');

const ac = new AbortController();
setTimeout(() => ac.abort(), 100);
const t0 = Date.now();
err = await http.fetch(`${py}/slow`, { signal: ac.signal }).catch((e) => e);
assert.ok(err?.name === 'AbortError' && Date.now() - t0 < 1500, String(err));
err = await http.fetch(`${py}/slow`, { signal: AbortSignal.timeout(100) }).catch((e) => e);
assert.ok(err?.name === 'TimeoutError', String(err));
ok('AbortSignal: abort and timeout');

err = await http.fetch('http://127.0.0.1:1/').catch((e) => e);
assert.ok(err instanceof TypeError && err.cause?.code === 'ECONNREFUSED', String(err));
err = await http.fetch('ftp://x/').catch((e) => e);
assert.ok(err instanceof TypeError && /scheme ftp:/.test(err.message), String(err));
err = await http.fetch('not a url').catch((e) => e);
assert.ok(err instanceof TypeError, String(err));
ok('refused, a bad scheme, a bad URL');

// https: nginx, our CA.
r = await http.fetch(`${tlsBase}/file`, { tls: tlsInit });
const file = await r.bytes();
assert.equal(file.length, 1 << 20);
assert.equal(sumOf(file), sumOf(want));
const c1 = r.headers.get('x-conn');
r = await http.fetch(`${tlsBase}/moved`, { tls: tlsInit });
assert.equal((await r.bytes()).length, 1 << 20);
assert.equal(r.redirected, true);
assert.equal(r.headers.get('x-conn'), c1, 'the TLS connection is kept alive');
ok('https: 1 MiB checked, a redirect, the connection kept alive');
err = await http.fetch(`${tlsBase}/file`).catch((e) => e);
assert.ok(err instanceof TypeError && /certificate/.test(String(err.cause?.message)), `${err} / ${err?.cause}`);
err = await http.fetch(`https://127.0.0.1:${tlsPort}/file`, { tls: tlsInit }).catch((e) => e);
assert.ok(err instanceof TypeError && /certificate|IP address mismatch/.test(String(err.cause?.message)), `${err} / ${err?.cause}`);
ok('https: an unknown CA and a wrong name are refused');
console.log('done');
