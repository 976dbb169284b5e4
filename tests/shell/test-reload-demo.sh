# The demo, examples/reload/chat.js under --watch: two clients chat; the
# file is edited (format() changed) and saved; both clients stay connected,
# see the reload announced, and their next messages use the new format with
# the counter going on; a broken edit is refused and chat goes on.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
mkdir -p "$TMP/reload"
cp examples/reload/chat.js "$TMP/reload/chat.js"
port=$(free_port)
"$DV8" --watch "$TMP/reload/chat.js" "$port" >"$TMP/server.out" 2>"$TMP/server.err" &
pids+=($!)
wait_port "$port"
cat >"$TMP/clients.mjs" <<'JS'
import net from 'node:net';
const port = Number(process.argv[2]);
const open = (name) => new Promise((resolve) => {
  const s = net.connect(port, '127.0.0.1', () => resolve(s));
  s.lines = [];
  let buf = '';
  s.on('data', (d) => { buf += d; const parts = buf.split('\n'); buf = parts.pop(); s.lines.push(...parts); });
});
const until = async (s, re) => { for (let i = 0; i < 400; i++) { if (s.lines.some((l) => re.test(l))) return; await new Promise((r) => setTimeout(r, 10)); } throw new Error(`no ${re} in ${JSON.stringify(s.lines)}`); };
const a = await open();
const b = await open();
a.write('hello from a\n');
await until(b, /^#\d+ <guest\d+> hello from a$/);
console.log('edit');
process.stdin.once('data', async () => {
  await until(a, /code reloaded \(version 1 -> 1\), 2 still here/);
  b.write('after the edit\n');
  await until(a, /^\[#\d+\] guest\d+ says: after the edit$/);
  console.log('broken');
  process.stdin.once('data', async () => {
    await new Promise((r) => setTimeout(r, 300));
    a.write('still here\n');
    await until(b, /^\[#\d+\] guest\d+ says: still here$/);
    const counts = a.lines.map((l) => Number((l.match(/#(\d+)/) || [])[1])).filter(Boolean);
    console.log(`ok ${counts.join(',')}`);
    a.end(); b.end();
  });
});
JS
coproc CLIENTS { node "$TMP/clients.mjs" "$port" 2>&1; }
read -r -t 10 line <&"${CLIENTS[0]}" || fail "clients did not start"
expect_eq "clients first step" "$line" edit
sed -i 's|return `#${count} <${from}> ${text}\\n`;|return `[#${count}] ${from} says: ${text}\\n`;|' "$TMP/reload/chat.js"
grep -q 'says:' "$TMP/reload/chat.js" || fail "the edit did not apply"
echo go >&"${CLIENTS[1]}"
read -r -t 10 line <&"${CLIENTS[0]}" || fail "no reload seen by the clients: $(cat "$TMP/server.err")"
expect_eq "clients second step" "$line" broken
echo 'this is not javascript(' >>"$TMP/reload/chat.js"
echo go >&"${CLIENTS[1]}"
read -r -t 10 line <&"${CLIENTS[0]}" || fail "chat stopped after a broken edit: $(cat "$TMP/server.err")"
expect_match "clients end" "$line" '^ok [0-9,]+$'
# The counter never went back.
expect_eq "counter increasing" "$(tr ',' '\n' <<<"${line#ok }" | awk 'NR > 1 && $1 <= prev { print "back at " $1 } { prev = $1 }')" ""
expect_match "the broken edit was refused" "$(cat "$TMP/server.err")" 'reload failed, the old code goes on'
