// The http module's objects without a network: Headers as the web's
// (case-insensitive, joined values, set-cookie apart, sorted iteration,
// CR/LF refused: no header injection), Response's statuses and bodies,
// Request bodies read once, and serve()'s argument errors.
import * as assert from './assert.js';
import * as http from 'http';

const h = new http.Headers({ 'Content-Type': 'text/plain', 'X-A': '1' });
assert.equal(h.get('content-type'), 'text/plain');
assert.equal(h.get('CONTENT-TYPE'), 'text/plain');
h.append('x-a', '2');
assert.equal(h.get('x-a'), '1, 2');
h.append('Set-Cookie', 'a=1');
h.append('Set-Cookie', 'b=2');
assert.deepEqual(h.getSetCookie(), ['a=1', 'b=2']);
assert.deepEqual([...h], [['content-type', 'text/plain'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x-a', '1, 2']]);
h.set('X-A', ' 3 ');
assert.equal(h.get('x-a'), '3');
h.delete('x-a');
assert.equal(h.has('x-a'), false);
assert.equal(h.get('missing'), null);
assert.throws(() => h.set('x-b', 'a\r\nx-evil: 1'), /holds CR, LF or NUL/);
assert.throws(() => h.set('bad name', 'v'), /not a valid header name/);
assert.throws(() => new http.Headers(7), TypeError);
assert.deepEqual([...new http.Headers([['a', '1']])], [['a', '1']]);

// Responses.
const r = new http.Response('héllo');
assert.equal(r.status, 200);
assert.equal(r.statusText, 'OK');
assert.equal(r.ok, true);
assert.equal(r.headers.get('content-type'), 'text/plain;charset=UTF-8');
assert.equal(await r.text(), 'héllo');
assert.equal(r.bodyUsed, true);
let rejected = null;
try {
  await r.text();
} catch (err) {
  rejected = err;
}
assert.ok(rejected instanceof TypeError && /read already/.test(rejected.message), String(rejected));
assert.equal((await new http.Response(new Uint8Array([1, 2, 3])).bytes()).length, 3);
assert.deepEqual(await http.Response.json({ a: [1] }).json(), { a: [1] });
assert.equal(http.Response.json({}).headers.get('content-type'), 'application/json');
assert.equal(http.Response.redirect('http://x/', 307).headers.get('location'), 'http://x/');
assert.equal(new http.Response(null, { status: 404 }).statusText, 'Not Found');
assert.throws(() => new http.Response('x', { status: 99 }), RangeError);
assert.throws(() => new http.Response('x', { status: 600 }), RangeError);
assert.throws(() => new http.Response('x', { statusText: 'a\nb' }), /CR or LF/);
assert.throws(() => new http.Response(42), /a body is a string, bytes/);
assert.throws(() => http.Response.redirect('/', 200), RangeError);
const streamed = new http.Response(
  (async function* () {
    yield 'ab';
    yield new Uint8Array([99]);
  })(),
);
assert.equal(await streamed.text(), 'abc');

// Requests made by code (for fetch).
const q = new http.Request('http://example.com/a?b=1', { method: 'post', body: 'xyz', headers: { 'X-Y': 'z' } });
assert.equal(q.method, 'POST');
assert.equal(q.url, 'http://example.com/a?b=1');
assert.equal(q.target, '/a?b=1');
assert.equal(q.headers.get('x-y'), 'z');
assert.equal(await q.text(), 'xyz');
assert.throws(() => new http.Request('http://x/', { method: 'GET', body: 'no' }), /a GET request has no body/);

// serve's argument errors.
assert.throws(() => http.serve({ port: 0 }), /handler must be a function/);
assert.throws(() => http.serve(null, () => {}), /options must be an object/);
assert.throws(() => http.serve({ port: 'x' }, () => {}), /options.port must be a port number/);
assert.throws(() => http.serve({ port: 0, maxHeadSize: 10 }, () => {}), /maxHeadSize must be 256 to 32768/);
assert.throws(() => http.serve({ port: 0, idleTimeout: -1 }, () => {}), /idleTimeout must be a non-negative integer/);
assert.throws(() => new http.Server(), TypeError);
const s = http.serve({ port: 0 }, () => new http.Response('x'));
assert.ok(s.port > 0);
const inUse = assert.throws(() => http.serve({ port: s.port }, () => {}));
assert.equal(inUse.code, 'EADDRINUSE');
assert.equal(s.close(), true);
assert.equal(s.close(), false);
console.log('ok');
