// URL differentially against node's own (Ada): the same generated inputs,
// parsed by both, must give the same href, origin and components, and the
// same results after a setter. Run by tests/shell/test-url-node.sh:
//   node differential.mjs generate DIR   writes DIR/url-cases.json
//   dv8 differential.mjs check DIR       compares, prints a summary line
// The cases come from a seeded generator (the same every run): URL-shaped
// strings built from pieces that exercise each part of the parser (schemes,
// credentials, IPv4 in every radix, IPv6, IDNA, ports, dot segments,
// Windows drive letters, percent-encoding, opaque paths), relative inputs
// against several bases, and random mutations of them.
const COUNT = 6000;

function prng(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(16);
const pick = (list) => list[Math.floor(random() * list.length)];

const schemes = ['http', 'https', 'ws', 'wss', 'ftp', 'file', 'foo', 'data', 'javascript',
  'mailto', 'blob', 'HTTP', 'HtTpS', 'a+b-c.d', 'h2', ''];
const afterScheme = [':', '://', ':/', ':\\\\', ':///', ':////', ':/\\', '://'];
const userinfo = ['', '', '', 'user@', 'user:pass@', 'u%20:p@', ':@', '@', 'a@b@', 'ü:ß@',
  'us er:pa ss@', 'a:b:c@', '%zz@'];
const hosts = ['example.com', 'EXAMPLE.com', '127.0.0.1', '0x7f.1', '0177.0.0.1', '4294967295',
  '4294967296', '1.2.3', '[::1]', '[1:2::3]', '[::ffff:1.2.3.4]', '[1:2:3:4:5:6:7:8]', '[::]',
  '[0:0:1:0:0:1:0:0]', '[1::2:0:0:3]', '[::1.2.3]', '[1:2:3:4:5:6:7:8:9]', '[:1]', '[g::]',
  'a..b', 'xn--nxasmq6b', 'münchen.de', 'ＥＸＡＭＰＬＥ.com', 'a%2eb', '%41.com', 'a b', 'a<b',
  '', 'localhost', 'LOCALHOST', 'foo.09', '1.2.3.09', 'é.com', '0x', '1.2.3.4.', '..', '0x100.1',
  '09.1', '1.0x', 'a.b.c.1', 'a.0x1f', '%30.%31', 'xn--a', 'faß.de', 'a\u00adb.com', 'exa_mple.com',
  'ex%ample', '1.2.3.256', '256.1.1', '0.0.0.0.0', '999999999999999999999', 'b\u3002com'];
const ports = ['', '', '', ':', ':80', ':443', ':8080', ':65535', ':65536', ':0', ':00080', ':a', ':21', ':1a'];
const paths = ['', '/', '/a/b', '/a/./b/../c', '/%2e%2E/x', '/a b', '/ü', '\\a\\b', '/C:/x', '/c|/x',
  '//x', '/a/..', '/.', '/a%2fb', '/{}^`', '/"<>', "/'", '/a/b/', '/./..', '/%2e', '/C|', '/..//a',
  'a/b', '../x', './y', 'C:/z', '/%', '/\u0000', '/a\tb', '/\u{1F600}'];
const queries = ['', '', '?', '?a=b&c=d', "?q=a b'\"<>", '?ü=1', '?%zz', '?a=1&a=2&b=%20+x', '?`{}'];
const fragments = ['', '', '#', '#frag', '# x`<>', '#ü', '##', '#"\'{}'];
const bases = [undefined, undefined, 'http://example.org/foo/bar?x#y', 'file:///C:/a/b',
  'https://user:pw@h:8/p/q', 'foo:opaque', 'data:text/plain,x', 'foo://host/a/b', 'file://host/dir/f',
  'http://[::1]:99/'];
const noise = ['\t', '\n', ' ', '\u0001', '%', '\\', '@', ':', '[', ']', '#', '?', '/', '.', 'ü', '%2e', '\u00a0'];

function makeInput() {
  let s;
  const kind = random();
  if (kind < 0.6) {
    const scheme = pick(schemes);
    s = (scheme === '' ? '' : scheme + pick(afterScheme)) + pick(userinfo) + pick(hosts) + pick(ports) +
      pick(paths) + pick(queries) + pick(fragments);
  } else if (kind < 0.85) {
    s = pick([...paths, '', '?x', '#y', '//h/p', '\\\\h\\p', 'h:p', '/..', 'C|/x']) + pick(queries) + pick(fragments);
  } else {
    s = pick(schemes) + ':' + pick(['', 'text/plain,hi there', 'alert(1) ', 'x@y', '//', ' a ', '?q #f']);
  }
  const mutations = random() < 0.3 ? 1 + Math.floor(random() * 3) : 0;
  for (let i = 0; i < mutations; i++) {
    const at = Math.floor(random() * (s.length + 1));
    s = s.slice(0, at) + pick(noise) + s.slice(at);
  }
  if (random() < 0.05) s = ' \u0000' + s + ' ';
  return s;
}

const setters = ['protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash', 'href'];
const setterValues = ['https', 'file', 'foo', 'x y', 'u@s:e', '', 'example.net:81', '[::2]', '1.2.3.4', '99',
  '8080abc', '70000', '/a/../b c', 'q=1 2', '#h', '?s', 'ü', 'http://other/', 'not a url', 'ws:', 'h:12', 'a/b'];

function describe(u) {
  return {
    href: u.href, origin: u.origin, protocol: u.protocol, username: u.username, password: u.password,
    host: u.host, hostname: u.hostname, port: u.port, pathname: u.pathname, search: u.search,
    hash: u.hash, params: String(u.searchParams),
  };
}

function run(c) {
  let u;
  try { u = c.base === undefined ? new URL(c.input) : new URL(c.input, c.base); } catch { return null; }
  const out = describe(u);
  if (c.setter !== undefined) {
    try { u[c.setter] = c.value; out.after = u.href; } catch { out.after = 'throws'; }
  }
  return out;
}

const [mode, dir] = [globalThis.dv8 ? dv8.args[0] : process.argv[2], globalThis.dv8 ? dv8.args[1] : process.argv[3]];
if (mode === 'generate') {
  const fs = await import('node:fs');
  const cases = [];
  for (let i = 0; i < COUNT; i++) {
    const c = { input: makeInput(), base: pick(bases) };
    if (random() < 0.3) { c.setter = pick(setters); c.value = pick(setterValues); }
    c.expected = run(c);
    cases.push(c);
  }
  fs.writeFileSync(`${dir}/url-cases.json`, JSON.stringify(cases));
} else {
  const fs = await import('fs');
  const cases = JSON.parse((fs.readFileSync ?? fs.readFile)(`${dir}/url-cases.json`, 'utf8'));
  let agree = 0, valid = 0;
  const known = new Map();
  const bad = [];
  for (const c of cases) {
    const got = run(c);
    if (c.expected !== null) valid++;
    if (JSON.stringify(got) === JSON.stringify(c.expected)) { agree++; continue; }
    const why = knownDifference(c, got);
    if (why !== undefined) known.set(why, (known.get(why) ?? 0) + 1);
    else bad.push({ input: c.input, base: c.base, setter: c.setter, value: c.value, node: c.expected, dv8: got });
  }
  for (const b of bad.slice(0, 10)) console.log(JSON.stringify(b));
  console.log(`url: ${agree} of ${cases.length} cases agree with node (${valid} valid URLs), ${bad.length} differ otherwise`);
  for (const [why, n] of [...known].sort()) console.log(`known difference: ${why}: ${n}`);
}

// Where node's Ada (2.9.2, node 20) and the standard's text part, dv8
// follows the standard; these cases are counted apart, and nothing else may
// differ.
function knownDifference(c, got) {
  const node = c.expected;
  const opaqueBase = c.base === 'foo:opaque' || c.base === 'data:text/plain,x';
  // "no scheme state": a base with an opaque path takes only a fragment.
  // Ada accepts other relative inputs against it when they contain a '#'.
  if (opaqueBase && got === null && node !== null && !c.input.replace(/^[\x00-\x20]+/, '').startsWith('#')) {
    return 'relative input against an opaque-path base (the standard: failure; Ada: parsed)';
  }
  if (node === null || got === null) return undefined;
  const only = (keys) => Object.keys(node).every((k) => keys.includes(k) || node[k] === got[k]);
  // A non-special URL with a host whose path ends in ".." or "." segments
  // that empty it: the standard appends an empty segment ("/").
  if (node.pathname === '' && got.pathname === '/' && only(['href', 'pathname', 'after']) &&
      got.href.replace(/\/(?=[?#]|$)/, '') === node.href) {
    return 'non-special URL whose dot segments empty the path (the standard: "/"; Ada: "")';
  }
  if ((c.setter === 'host' || c.setter === 'hostname') && only(['after']) && /^[?#/]|^$/.test(c.value)) {
    return 'host setter with an empty host on a URL without one (the standard: sets an empty host; Ada: no change)';
  }
  if (c.setter === 'port' && only(['after']) && !/^[0-9]/.test(c.value)) {
    return 'port setter with a value not starting with a digit (the standard: no change; Ada: sometimes clears the port)';
  }
  return undefined;
}
