// Run: build/dv8 tests/url/wpt.mjs DIR   (DIR holds urltestdata.json and
//      setters_tests.json, the web-platform-tests' URL data; make deps
//      unpacks them from Debian's librust-url-dev into .deps/wpt-url).
//      node tests/url/wpt.mjs DIR runs the same cases against node's URL.
// Shows: dv8's URL against the WHATWG URL test data: every parsing case
// (href, origin, each component, failures) and every setter case. Prints
// one line per file, the cases that fail (at most 40), and exits 1 if any
// case fails that is not listed in KNOWN below.
import * as fs from 'fs';

const dv8Runs = typeof dv8 !== 'undefined';
const dir = dv8Runs ? dv8.args[0] : process.argv[2];
const read = (name) => JSON.parse((fs.readFileSync ?? fs.readFile)(`${dir}/${name}`, 'utf8'));

// Setter cases where this copy of the data (rust-url 2.3.1's, from 2022)
// and node 20's URL (Ada 2.9) disagree, and dv8 gives what node gives:
// the href each must have instead (checked: a change here fails).
const KNOWN = new Map([
  ['URL("http://example.net/path").hostname = "example.com:8080"', 'http://example.net/path'],
  ['URL("http://example.net:8080/path").hostname = "example.com:"', 'http://example.net:8080/path'],
  [String.raw`URL("file://monkey/").pathname = "\\\\"`, 'file://monkey//'],
  [String.raw`URL("file:///unicorn").pathname = "//\\/"`, 'file://////'],
  ['URL("file:///unicorn").pathname = "//monkey/..//"', 'file://///'],
]);

const failures = [];
let known = 0;
function failed(what, detail, href) {
  if (KNOWN.has(what) && KNOWN.get(what) === href) { known++; return; }
  failures.push(`${what}: ${detail}`);
}

const show = (s) => JSON.stringify(s);
const FIELDS = ['href', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'];

let parsed = 0;
for (const t of read('urltestdata.json')) {
  if (typeof t === 'string') continue; // a comment
  parsed++;
  const what = `new URL(${show(t.input)}, ${show(t.base)})`;
  let url;
  try {
    url = t.base === null ? new URL(t.input) : new URL(t.input, t.base);
  } catch (err) {
    if (!t.failure) failed(what, `threw ${err.message}, expected ${show(t.href)}`);
    continue;
  }
  if (t.failure) { failed(what, `gave ${show(url.href)}, expected a failure`); continue; }
  for (const f of FIELDS) {
    if (url[f] !== t[f]) { failed(what, `${f} ${show(url[f])}, expected ${show(t[f])}`); break; }
  }
  if (t.origin !== undefined && url.origin !== t.origin) failed(what, `origin ${show(url.origin)}, expected ${show(t.origin)}`);
  if (t.searchParams !== undefined && url.searchParams.toString() !== t.searchParams)
    failed(what, `searchParams ${show(url.searchParams.toString())}, expected ${show(t.searchParams)}`);
}
const parseFailures = failures.length;
console.log(`urltestdata.json: ${parsed - parseFailures} of ${parsed} cases agree`);

let set = 0;
const setters = read('setters_tests.json');
for (const [setter, cases] of Object.entries(setters)) {
  if (setter === 'comment') continue;
  for (const t of cases) {
    set++;
    const what = `URL(${show(t.href)}).${setter} = ${show(t.new_value)}`;
    const url = new URL(t.href);
    url[setter] = t.new_value;
    for (const [f, want] of Object.entries(t.expected)) {
      if (url[f] !== want) { failed(what, `${f} ${show(url[f])}, expected ${show(want)}`, url.href); break; }
    }
  }
}
const setFailures = failures.length - parseFailures;
console.log(`setters_tests.json: ${set - setFailures - known} of ${set} cases agree, ${known} as node's URL does instead`);
for (const f of failures.slice(0, 40)) console.log(`  ${f}`);
if (failures.length > 0) dv8Runs ? dv8.exit(1) : process.exit(1);
