// URL and URLSearchParams (the WHATWG URL Standard): components, relative
// resolution, hosts (IPv4 in any radix, IPv6 compression, IDNA to
// Punycode), percent-encoding per component, file URLs, setters, the
// searchParams link, errors. Broader agreement with node's URL:
// tests/shell/test-url-node.sh.
import * as assert from './assert.js';

const u = new URL('HTTPS://us%65r:p@ss@Example.COM:443/a/./b/../c%2e?q=1&r=a b#frag ment');
assert.equal(u.href, 'https://us%65r:p%40ss@example.com/a/c%2e?q=1&r=a%20b#frag%20ment');
assert.equal(u.protocol, 'https:');
assert.equal(u.username, 'us%65r');
assert.equal(u.password, 'p%40ss');
assert.equal(u.host, 'example.com');
assert.equal(u.port, '');
assert.equal(u.pathname, '/a/c%2e');
assert.equal(u.search, '?q=1&r=a%20b');
assert.equal(u.hash, '#frag%20ment');
assert.equal(u.origin, 'https://example.com');
assert.equal(String(u), u.href);
assert.equal(JSON.stringify({ u }), `{"u":"${u.href}"}`);

const cases = [
  // [input, base, href]
  ['../x?y#z', 'http://h/a/b/c', 'http://h/a/x?y#z'],
  ['//other/p', 'https://h/a', 'https://other/p'],
  ['?q', 'http://h/p?old#f', 'http://h/p?q'],
  ['#f', 'http://h/p?q', 'http://h/p?q#f'],
  ['', 'http://h/p?q#f', 'http://h/p?q'],
  ['\\\\x\\y', 'http://h/', 'http://x/y'],
  ['  http://h/\t\na  ', undefined, 'http://h/a'],
  ['http://0x7f.1/', undefined, 'http://127.0.0.1/'],
  ['http://0177.0.0.1/', undefined, 'http://127.0.0.1/'],
  ['http://4294967295/', undefined, 'http://255.255.255.255/'],
  ['http://1.2.3/', undefined, 'http://1.2.0.3/'],
  ['http://[0:0:0:0:0:0:0:1]:8080/', undefined, 'http://[::1]:8080/'],
  ['http://[1:0:0:2:0:0:0:3]/', undefined, 'http://[1:0:0:2::3]/'],
  ['http://[::ffff:1.2.3.4]/', undefined, 'http://[::ffff:102:304]/'],
  ['http://münchen.de/', undefined, 'http://xn--mnchen-3ya.de/'],
  ['http://ＥＸＡＭＰＬＥ.com/', undefined, 'http://example.com/'],
  ['http://%41.com/', undefined, 'http://a.com/'],
  ['http://h:80/', undefined, 'http://h/'],
  ['ws://h:80/', undefined, 'ws://h/'],
  ['http://h/ü?ü#ü', undefined, 'http://h/%C3%BC?%C3%BC#%C3%BC'],
  ["http://h/?'", undefined, 'http://h/?%27'],
  ["foo://h/?'", undefined, "foo://h/?'"],
  ['file:///C:/a/../..', undefined, 'file:///C:/'],
  ['file://localhost/x', undefined, 'file:///x'],
  ['file:c:\\x', undefined, 'file:///c:/x'],
  ['/y', 'file:///C:/a/b', 'file:///C:/y'],
  ['mailto:Joe@Example.COM', undefined, 'mailto:Joe@Example.COM'],
  ['data:text/plain,a b', undefined, 'data:text/plain,a b'],
  ['foo://H%41/p', undefined, 'foo://H%41/p'],
  ['foo:/.//p', undefined, 'foo:/.//p'],
  ['blob:https://a.com/uuid', undefined, 'blob:https://a.com/uuid'],
];
for (const [input, base, href] of cases) {
  assert.equal(new URL(input, base).href, href, `${input} against ${base}`);
}
assert.equal(new URL('blob:https://a.com:8/x').origin, 'https://a.com:8');
assert.equal(new URL('file:///x').origin, 'null');
assert.equal(new URL('foo://h/').origin, 'null');

for (const [input, base] of [['http://h:65536/'], ['http://[::1/'], ['http://a b/'], ['x', 'foo:opaque'],
  ['http://256.0.0.1/'], ['http://1.2.3.4.5/'], ['//h'], ['http://xn--a/'], ['https://'], ['http://@/']]) {
  const err = assert.throws(() => new URL(input, base), TypeError, `${input} against ${base}`);
  assert.equal(err.code, 'ERR_INVALID_URL');
  assert.ok(err.message.startsWith('Invalid URL: '), err.message);
  assert.equal(URL.canParse(input, base), false);
}
assert.equal(URL.canParse('http://h/'), true);
assert.equal(URL.canParse('/p', 'http://h/'), true);
assert.throws(() => new URL('/p', 'not a url'), TypeError);
assert.throws(() => new URL(), TypeError);

// Setters.
const s = new URL('http://h/p?q#f');
s.protocol = 'https';
s.username = 'a b';
s.password = 'c@d';
s.hostname = 'Example.org';
s.port = '8443';
s.pathname = '/x y/../z';
s.search = 'k=v w';
s.hash = 'h h';
assert.equal(s.href, 'https://a%20b:c%40d@example.org:8443/z?k=v%20w#h%20h');
s.port = '443';
assert.equal(s.port, '');
s.host = 'other:99';
assert.equal(s.host, 'other:99');
s.protocol = 'foo'; // special to non-special: refused
assert.equal(s.protocol, 'https:');
s.search = '';
s.hash = '';
assert.equal(s.href, 'https://a%20b:c%40d@other:99/z');
assert.throws(() => { s.href = 'nope'; }, TypeError);
const file = new URL('file:///p');
file.port = '8';
file.username = 'u';
assert.equal(file.href, 'file:///p');

// searchParams follows the URL and writes back to it.
const q = new URL('http://h/?a=1&b=2&a=3+4%20');
const p = q.searchParams;
assert.equal(p.get('a'), '1');
assert.deepEqual(p.getAll('a'), ['1', '3 4 ']);
assert.equal(p.size, 3);
p.append('c', 'x&y=z é');
assert.equal(q.search, '?a=1&b=2&a=3+4+&c=x%26y%3Dz+%C3%A9');
p.delete('a');
p.set('b', '~*');
assert.equal(q.href, 'http://h/?b=%7E*&c=x%26y%3Dz+%C3%A9');
q.search = '?z=9';
assert.equal(p.get('z'), '9');
assert.equal(q.searchParams, p);
p.delete('z');
assert.equal(q.href, 'http://h/');

const sp = new URLSearchParams('?b=2&a=1&b=1&a=0');
sp.sort();
assert.equal(sp.toString(), 'a=1&a=0&b=2&b=1');
assert.deepEqual([...sp.keys()], ['a', 'a', 'b', 'b']);
assert.equal(sp.has('a', '0'), true);
assert.equal(sp.has('a', '9'), false);
sp.delete('a', '1');
assert.deepEqual([...sp], [['a', '0'], ['b', '2'], ['b', '1']]);
assert.equal(new URLSearchParams({ x: '1', y: 'é' }).toString(), 'x=1&y=%C3%A9');
assert.equal(new URLSearchParams([['k', 'v'], ['k', 'w']]).toString(), 'k=v&k=w');
assert.equal(new URLSearchParams(new Map([['m', 'n']])).toString(), 'm=n');
assert.throws(() => new URLSearchParams([['only one']]), TypeError);
assert.equal(new URLSearchParams('a=%zz&b=%41').get('a'), '%zz');
assert.equal(new URLSearchParams('a=%zz&b=%41').get('b'), 'A');
const seen = [];
new URLSearchParams('x=1&y=2').forEach((v, k) => seen.push(k + v));
assert.deepEqual(seen, ['x1', 'y2']);
assert.equal(Object.prototype.toString.call(sp), '[object URLSearchParams]');
assert.equal(Object.prototype.toString.call(u), '[object URL]');

// Shown as node shows them.
assert.equal(dv8.inspect(new URLSearchParams('a=1&b=2')), "URLSearchParams { 'a' => '1', 'b' => '2' }");
assert.equal(dv8.inspect(new URLSearchParams()), 'URLSearchParams {}');
assert.equal(dv8.inspect(new URL('http://h/p?q')).split('\n').slice(0, 3).join('|'),
  "URL {|  href: 'http://h/p?q',|  origin: 'http://h',");
