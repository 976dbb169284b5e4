# The control socket: a program run from a file listens on DIR/PID.sock
# (DIR 0700, the socket 0600); `dv8 reload PID` (or the socket's path)
# reloads it and prints the statistics, or the reason it was refused, with
# exit status 0 or 1; a bad target is a usage error; another user cannot
# reach the socket; the socket is removed when the program ends.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
cat >app.js <<'JS'
let n = 0;
export function load(state) {
  if (state !== undefined) n = state.n;
  console.log(`load ${n}`);
  const ticking = setInterval(() => n++, 10);
  setTimeout(() => clearInterval(ticking), 5000); // ends by itself (late
  // enough for every step below, on a busy machine too)
}
export function unload() { return { n }; }
JS
"$DV8" app.js >app.out 2>app.err &
pid=$!
pids+=($pid)
dir=${XDG_RUNTIME_DIR:+$XDG_RUNTIME_DIR/dv8}
dir=${dir:-/tmp/dv8-$(id -u)}
sock="$dir/$pid.sock"
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.02; done
[ -S "$sock" ] || fail "no control socket at $sock"
expect_eq "directory mode" "$(stat -c %a "$dir")" 700
expect_eq "socket mode" "$(stat -c %a "$sock")" 600

run_dv8 reload "$pid"
expect_eq "reload by pid ($ERR)" "$STATUS" 0
expect_match "reload by pid" "$OUT" '^reloaded: 1 so far, 0 failed, prepare [0-9.]+ ms, pause [0-9.]+ ms$'
run_dv8 reload "$sock"
expect_eq "reload by path ($ERR)" "$STATUS" 0
expect_match "reload by path" "$OUT" '^reloaded: 2 so far'

echo 'this is broken(' >>app.js
run_dv8 reload "$pid"
expect_eq "a refused reload's status" "$STATUS" 1
expect_match "a refused reload says why" "$ERR" '^reload failed, the old code goes on: .*SyntaxError'

run_dv8 reload not-a-pid
expect_eq "bad target" "$STATUS" 2
expect_match "bad target" "$ERR" "expected a pid or a socket path, not 'not-a-pid'"
run_dv8 reload 999999999
expect_eq "no such process" "$STATUS" 1
expect_match "no such process" "$ERR" 'cannot reach .*999999999.sock'
run_dv8 reload
expect_eq "usage" "$STATUS" 2

if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null; then
  out=$(runuser -u nobody -- "$DV8" reload "$sock" 2>&1) && fail "another user reached the socket: $out"
  expect_match "another user" "$out" 'cannot reach .*(Permission denied|Connection refused)'
fi

wait "$pid"
[ ! -e "$sock" ] || fail "the socket outlived its program"
expect_eq "loads: the start and two reloads" "$(grep -c '^load ' app.out)" 3
