# An echo server at its descriptor limit (ulimit -n 64) and 100 clients:
# its onConnection hears EMFILE (once), it goes on serving the connections
# it has, the others wait in the kernel's accept queue (none is cut off),
# it does not spin while at the limit (its CPU time over a second at the
# limit), and once some clients leave, the waiting ones are accepted. With
# libuv's own EMFILE handling alone, the server never heard and the clients
# it had no room for were accepted and closed at once.
source "$(dirname "$0")/lib.sh"

cat >"$TMP/server.js" <<'EOF'
import * as net from 'net';
const server = net.listen('127.0.0.1', 0, 511, (c) => {
  if (c < 0) return console.log(`onConnection: ${net.errname(c)}`);
  const buf = new Uint8Array(1024);
  net.readStart(c, buf, (n) => {
    if (n < 0) return net.close(c);
    net.write(c, buf, n);
  });
});
console.log(`port ${net.address(server).port}`);
EOF

cat >"$TMP/clients.mjs" <<'EOF'
import net from 'node:net';
import fs from 'node:fs';
const [port, pid, hz] = process.argv.slice(2).map(Number);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fail = (why) => { console.error(`FAIL: ${why}`); process.exit(1); };
const clients = [];
let echoed = 0, lastEcho = Date.now();
for (let i = 0; i < 100; i++) {
  const c = { s: net.connect(port, '127.0.0.1'), echoes: 0, closing: false };
  c.s.on('connect', () => c.s.write('x'));
  c.s.on('data', (d) => { if (c.echoes++ === 0) { echoed++; lastEcho = Date.now(); } });
  c.s.on('close', () => { if (!c.closing) fail(`client ${i} was cut off (${c.echoes} echoes)`); });
  c.s.on('error', (e) => { if (!c.closing) fail(`client ${i}: ${e.code}`); });
  clients.push(c);
}
// Until no echo came for 700 ms: the server is at its limit (it looks for
// a free descriptor every 100 ms).
const settle = async (max) => {
  const start = Date.now();
  while (Date.now() - Math.max(lastEcho, start) < 700 && Date.now() < start + max)
    await sleep(50);
};
await settle(10000);
const served = echoed;
console.log(`served at the limit: ${served}`);
if (served < 20 || served >= 100) fail(`${served} clients served at ulimit -n 64`);

// No spinning at the limit: CPU time over a second.
const cpu = () => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  .slice(11, 13).reduce((a, b) => a + Number(b), 0);
const before = cpu();
await sleep(1000);
const used = (cpu() - before) / hz;
console.log(`server CPU over 1 s at the limit: ${used.toFixed(2)} s`);
if (used > 0.3) fail(`the server used ${used.toFixed(2)} s of CPU in 1 s at the limit`);

// The connections it has are still served.
const served1 = clients.filter((c) => c.echoes > 0);
for (const c of served1.slice(0, 5)) {
  const n = c.echoes;
  c.s.write('y');
  const until = Date.now() + 5000;
  while (c.echoes === n && Date.now() < until) await sleep(20);
  if (c.echoes === n) fail('a connection the server had no longer echoes');
}

// Some leave: as many waiting ones are accepted.
for (const c of served1.slice(0, 20)) { c.closing = true; c.s.destroy(); }
await settle(10000);
console.log(`served after 20 left: ${echoed}`);
if (echoed < served + 15) fail(`only ${echoed - served} more served after 20 clients left`);

// All leave: every one is served in the end (they leave as they are).
for (const c of clients) if (c.echoes > 0) { c.closing = true; c.s.destroy(); }
const until = Date.now() + 20000;
while (echoed < 100 && Date.now() < until) {
  await sleep(50);
  for (const c of clients) if (c.echoes > 0 && !c.closing) { c.closing = true; c.s.destroy(); }
}
if (echoed < 100) fail(`${echoed} of 100 clients served in the end`);
for (const c of clients) { c.closing = true; c.s.destroy(); }
console.log('all served');
EOF

(ulimit -n 64 && exec "$DV8" "$TMP/server.js") >"$TMP/out" 2>"$TMP/err" &
server=$!
pids+=("$server")
for _ in $(seq 100); do
  grep -q '^port ' "$TMP/out" 2>/dev/null && break
  sleep 0.05
done
port=$(sed -n 's/^port //p' "$TMP/out")
[ -n "$port" ] || fail "the server did not start: $(cat "$TMP/err")"

node "$TMP/clients.mjs" "$port" "$server" "$(getconf CLK_TCK)" ||
  fail "clients (server said: $(cat "$TMP/out" "$TMP/err"))"
running "$server" || fail "the server died: $(cat "$TMP/err")"
expect_match "onConnection heard EMFILE" "$(cat "$TMP/out")" '^onConnection: EMFILE$'
[ ! -s "$TMP/err" ] || fail "the server wrote to stderr: $(cat "$TMP/err")"
