// Run: build/dv8 tests/ws/client.js URL [CA.pem]
// Shows: dv8's WebSocket client (the browsers' API) against an echo server
// (dv8's tests/ws/server.js or the npm ws package's tests/ws/node-server.mjs):
// text and binary of every length form, a message sent in fragments, the
// close handshake. Prints one line per check and "client: N passed, M
// failed" (exit 1 if any failed).
import { WebSocket } from 'ws';
import { readFileSync } from 'fs';

const [url, caFile] = dv8.args;
const tls = caFile === undefined ? undefined : { ca: readFileSync(caFile, 'utf8') };
let passed = 0;
let failed = 0;
function check(what, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${ok ? '' : `: ${detail}`}`);
}
function same(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const ws = new WebSocket(url, ['echo', 'other'], { tls });
check('readyState starts CONNECTING', ws.readyState === WebSocket.CONNECTING, ws.readyState);
const answers = [];
let waiter = null;
ws.onmessage = (e) => {
  answers.push(e.data);
  if (waiter !== null) waiter();
};
let closeEvent = null;
const closed = new Promise((resolve) => (ws.onclose = (e) => {
  closeEvent = e;
  if (waiter !== null) waiter();
  resolve(e);
}));
// The next answer; a close meanwhile fails the run with its code.
const next = () => new Promise((resolve, reject) => {
  if (answers.length > 0) return resolve(answers.shift());
  waiter = () => {
    waiter = null;
    if (answers.length > 0) resolve(answers.shift());
    else reject(new Error(`closed while an answer was awaited: ${closeEvent?.code} ${closeEvent?.reason}`));
  };
});
ws.onerror = () => console.log('error event');
await new Promise((resolve, reject) => {
  ws.onopen = resolve;
  closed.then(() => reject(new Error('closed before open')));
});
check('open, protocol chosen', ws.readyState === WebSocket.OPEN && ws.protocol === 'echo', `${ws.readyState} '${ws.protocol}'`);
for (const n of [0, 1, 125, 126, 65535, 65536, 1 << 20]) {
  const text = 'aé€'.repeat(Math.ceil(n / 3)).slice(0, n);
  ws.send(text);
  const got = await next();
  check(`text of ${n} chars`, got === text, typeof got === 'string' ? `${got.length} chars` : typeof got);
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = (i * 7 + n) & 0xff;
  ws.send(bytes);
  const back = await next();
  check(`binary of ${n} bytes (an ArrayBuffer)`, back instanceof ArrayBuffer && same(new Uint8Array(back), bytes), String(back));
}
ws.binaryType = 'uint8array';
ws.send('frag', { fin: false });
ws.send('men', { fin: false });
ws.send('ted');
check('a message sent in three fragments', (await next()) === 'fragmented');
const big = new Uint8Array(1536 * 1024).fill(9); // under the servers' limits (2 MiB)
ws.send(big);
check('bufferedAmount after 1.5 MiB', ws.bufferedAmount >= 0);
const bigBack = await next();
check('1.5 MiB binary (a Uint8Array)', bigBack instanceof Uint8Array && bigBack.length === big.length && bigBack[12345] === 9, String(bigBack?.length));
let threw = '';
try {
  ws.close(1005);
} catch (err) {
  threw = err.name;
}
check('close(1005) is refused', threw === 'InvalidAccessError', threw);
ws.close(1000, 'bye');
check('readyState CLOSING after close()', ws.readyState === WebSocket.CLOSING, ws.readyState);
check("send while closing says 'closed'", ws.send('late') === 'closed');
const ev = await closed;
check('close event: 1000, clean', ev.code === 1000 && ev.wasClean === true, `${ev.code} ${ev.wasClean} '${ev.reason}'`);
check('readyState CLOSED', ws.readyState === WebSocket.CLOSED);

// Errors: a refused connection; a server that does not upgrade; bad URLs.
const refused = new WebSocket('ws://127.0.0.1:1/');
const r = await new Promise((resolve) => {
  let error = false;
  refused.onerror = () => (error = true);
  refused.onclose = (e) => resolve({ error, code: e.code, clean: e.wasClean });
});
check('a refused connection: error, then close 1006', r.error && r.code === 1006 && !r.clean, JSON.stringify(r));
for (const bad of ['http://x y', 'ftp://x/', 'ws://x/#frag']) {
  let name = '';
  try {
    new WebSocket(bad);
  } catch (err) {
    name = err.name;
  }
  check(`new WebSocket('${bad}') throws SyntaxError`, name === 'SyntaxError', name);
}
console.log(`client: ${passed} passed, ${failed} failed`);
dv8.exit(failed === 0 ? 0 : 1);
