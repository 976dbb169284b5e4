# The control socket cannot be used to take a program's descriptors or to
# hold it waiting: at most 16 connections at once (more are answered
# "busy" and closed), 2 s to send a line (then "timed out" and closed), a
# NUL or a line past 63 bytes refused at once. An echo server at
# `ulimit -n 256` gets 400 idle connections to its control socket: its
# echo service still answers, it keeps few descriptors, and `dv8 reload
# PID` works once the idle ones have been timed out.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
app="$TMP/echo.js"
port=$(free_port)
echo_app "$app" a
(ulimit -n 256 && exec "$DV8" "$app" "$port" >"$TMP/out" 2>"$TMP/err") &
pid=$!
pids+=($pid)
wait_port "$port"
dir=${XDG_RUNTIME_DIR:+$XDG_RUNTIME_DIR/dv8}
sock="${dir:-/tmp/dv8-$(id -u)}/$pid.sock"
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.02; done
[ -S "$sock" ] || fail "no control socket at $sock"

echo_ok() {
  local line=
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf '%s\n' "$1" >&3
  IFS= read -r -t 10 line <&3 || true
  exec 3<&-
  [ "$line" = "$1" ]
}

# 400 connections, one after the other (again after 10 ms when the
# socket's backlog is full: EAGAIN), each kept open and silent; when all
# have closed (or after 20 s): how many were answered what.
cat >"$TMP/flood.mjs" <<'JS'
import net from 'node:net';
const [path, n] = [process.argv[2], Number(process.argv[3])];
const answers = {};
let connected = 0, closed = 0;
const done = () => { console.log(`closed ${closed} ${JSON.stringify(answers)}`); process.exit(0); };
setTimeout(done, 20000);
const open = () => {
  const s = net.connect(path);
  let text = '', up = false;
  s.on('connect', () => { up = true; if (++connected === n) console.log(`connected ${n}`); else open(); });
  s.on('data', (d) => { text += d; });
  s.on('error', (e) => { if (!up && e.code === 'EAGAIN') setTimeout(open, 10); else text = text || e.code; });
  s.on('close', () => {
    if (!up) return;
    const k = text.split(':')[0] || '(nothing)';
    answers[k] = (answers[k] || 0) + 1;
    if (++closed === n) done();
  });
};
open();
JS
node "$TMP/flood.mjs" "$sock" 400 >"$TMP/flood" 2>&1 &
flood=$!
pids+=($flood)
for _ in $(seq 200); do grep -q '^connected' "$TMP/flood" && break; sleep 0.05; done
grep -q '^connected 400' "$TMP/flood" || fail "400 connections: $(cat "$TMP/flood")"
echo_ok "during the flood" || fail "the echo service stopped answering: $(tail -3 "$TMP/err")"
fds=$(ls /proc/$pid/fd | wc -l)
[ "$fds" -lt 60 ] || fail "the server holds $fds descriptors"
wait $flood || true
summary=$(cat "$TMP/flood")
expect_match "every connection closed by the server" "$summary" '^closed 400 '
busy=$(sed -n 's/.*"busy":\([0-9]*\).*/\1/p' <<<"$summary")
timed=$(sed -n 's/.*"timed out":\([0-9]*\).*/\1/p' <<<"$summary")
# Each one answered: busy (past the 16 held), or timed out (held, idle);
# more than 16 time out only if opening them took longer than 2 s.
[ "${busy:-0}" -ge 1 ] && [ "${timed:-0}" -ge 1 ] &&
  [ $((busy + timed)) = 400 ] || fail "answers: $summary"
run_dv8 reload "$pid"
expect_eq "reload after the flood ($ERR)" "$STATUS" 0
expect_match "reload after the flood" "$OUT" '^reloaded: 1 so far'
echo_ok "after the flood" || fail "the echo service stopped answering"

# say TEXT: sends TEXT (with Python escapes: \x00, \n); prints the answer
# and how long it took (ms).
say() {
  python3 - "$sock" "$1" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode().decode('unicode_escape').encode('latin-1'))
t = time.monotonic()
s.settimeout(10)
got = b''
try:
    while True:
        d = s.recv(1024)
        if not d:
            break
        got += d
except socket.timeout:
    got += b'(no end)'
except ConnectionResetError: # closed with what it did not read: the end
    pass
print(got.decode(errors='replace').rstrip('\n'), int((time.monotonic() - t) * 1000))
PY
}
answer=$(say 'reload\x00\n')
expect_match "a NUL" "$answer" '^refused: a NUL byte in the command [0-9]+$'
answer=$(say "$(printf 'x%.0s' $(seq 100))")
expect_match "an overlong line" "$answer" '^refused: a command is one line of at most 63 bytes [0-9]+$'
answer=$(say 'relo')
expect_match "half a line" "$answer" '^timed out: no command within 2000 ms \(send reload or upgrade, then a newline\) [0-9]+$'
ms=${answer##* }
[ "$ms" -ge 1500 ] && [ "$ms" -le 5000 ] || fail "half a line timed out after $ms ms"
answer=$(say 'reload\r\n')
expect_match "a CRLF line" "$answer" '^reloaded: 2 so far'
grep -q 'write failed\|CHECK' "$TMP/err" && fail "server: $(cat "$TMP/err")"
running $pid || fail "the server died"
