# timeout: 120
# An upgrade whose new process does not load in time fails, the new
# process is killed, and the old one goes on (serving all along) and can
# be upgraded again. The old process times each step of the new one
# itself (a uv timer), so a new process stuck anywhere is covered:
# (1) new code looping at top level: `upgrade failed: the new process did
# not load within N ms (--reload-deadline)`, the old process serving
# meanwhile; (2) the same with a SIGTERM handler of its own, so that only
# SIGKILL ends it; (3) load() looping after the handoff (the new process's
# own watchdog stops it: 'F'); (4) load() stuck in C (open(2) of a FIFO
# nobody writes: no watchdog stops that), the old process paused until its
# timer fires, then resumed; (5) the old code's unload() looping. After
# each: the answer within its bound, the new process gone and reaped (no
# zombie left), the old one echoing; at the end a good upgrade works.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
app="$TMP/echo.js"
port=$(free_port)
echo_app "$app" a
"$DV8" --reload-deadline 700 "$app" "$port" >"$TMP/out" 2>"$TMP/err" &
pid=$!
pids+=($pid)
wait_port "$port"

# echo_ok WORD: a line through the server comes back (within 10 s).
echo_ok() {
  local line=
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf '%s\n' "$1" >&3
  IFS= read -r -t 10 line <&3 || true
  exec 3<&-
  [ "$line" = "$1" ]
}

# no_children WHAT: the old process's children (a failed new process) are
# gone and reaped within 7 s (one that failed by itself exits a moment
# after its answer; a zombie would stay).
no_children() {
  for _ in $(seq 140); do
    [ -z "$(ps -o pid= --ppid $pid)" ] && return 0
    sleep 0.05
  done
  fail "$1: children of the old process left: $(ps -o pid=,stat=,args= --ppid $pid)"
}

# upgrade_fails WHAT REGEX MAX_SECONDS: `dv8 upgrade` answers within
# MAX_SECONDS (a hang fails the test), with status 1 and an answer
# matching REGEX; then no child of the old process is left, and it echoes.
upgrade_fails() {
  local t0 t1 status answer
  t0=$(date +%s%N)
  set +e
  answer=$(timeout 30 "$DV8" upgrade $pid 2>&1)
  status=$?
  set -e
  t1=$(date +%s%N)
  [ $status != 124 ] || fail "$1: no answer within 30 s (the upgrade hangs)"
  expect_eq "$1: status ($answer)" "$status" 1
  expect_match "$1: answer" "$answer" "$2"
  [ $(((t1 - t0) / 1000000)) -le $(($3 * 1000)) ] ||
    fail "$1: answered after $(((t1 - t0) / 1000000)) ms (bound: $3 s)"
  no_children "$1"
  running $pid || fail "$1: the old process died: $(tail -5 "$TMP/err")"
  echo_ok "after $1" || fail "$1: the old process does not echo: $(tail -5 "$TMP/err")"
}

# (1) The new code loops at top level; the old process serves meanwhile.
echo_app "$app" loop
echo 'for (;;) {}' >>"$app"
timeout 30 "$DV8" upgrade $pid >"$TMP/upgrade1" 2>&1 &
upgrading=$!
sleep 0.3
echo_ok "while the new process loops" || fail "the old process stopped serving while the new one loaded"
set +e
wait $upgrading
status=$?
set -e
[ $status != 124 ] || fail "top-level loop: no answer within 30 s (the upgrade hangs)"
expect_eq "top-level loop: status ($(cat "$TMP/upgrade1"))" "$status" 1
expect_eq "top-level loop: answer" "$(cat "$TMP/upgrade1")" \
  "upgrade failed: the new process did not load within 700 ms (--reload-deadline)"
expect_match "top-level loop: the old process's stderr" "$(cat "$TMP/err")" \
  'dv8: upgrade failed, this process goes on: the new process did not load within 700 ms'
no_children "top-level loop"
echo_ok "after the top-level loop" || fail "the old process does not echo after (1)"

# (2) The same, the new code ignoring SIGTERM: SIGKILL ends it.
echo_app "$app" stubborn
cat >>"$app" <<'JS'
import * as proc from 'process';
proc.onSignal('SIGTERM', () => {});
for (;;) {}
JS
upgrade_fails "SIGTERM ignored" \
  '^upgrade failed: the new process did not load within 700 ms \(--reload-deadline\)$' 10

# (3) load() loops after the handoff: the new process's watchdog stops it.
echo_app "$app" slowload 'if (state !== undefined) for (;;) {}'
upgrade_fails "load() looping" '^upgrade failed: load\(\) ran past the reload deadline of 700 ms' 10

# (4) load() stuck in C: open(2) of a FIFO nobody writes to.
mkfifo "$TMP/fifo"
echo_app "$app" stuck "if (state !== undefined) fs.openSync('$TMP/fifo', 'r');"
sed -i '1i import * as fs from "fs";' "$app"
upgrade_fails "load() stuck in C" \
  '^upgrade failed: the new process did not take over within [0-9]+ ms' 10

# (5) The old code's unload() loops (the reload deadline applies to it as
# in a reload; once: it sets a flag first); the old code then goes on.
echo_app "$app" c
sed -i 's/^export function unload() {$/&\n  if (!globalThis.looped) { globalThis.looped = true; for (;;) {} }/' "$app"
kill -HUP $pid # the old process runs c from here on (a reload)
for _ in $(seq 100); do grep -q '^load c' "$TMP/out" && break; sleep 0.05; done
grep -q '^load c' "$TMP/out" || fail "the reload to c did not happen: $(tail -3 "$TMP/err")"
upgrade_fails "unload() looping" '^upgrade failed: unload\(\) ran past the reload deadline of 700 ms' 10

# A good upgrade works afterwards.
echo_app "$app" d
upgrade_to $pid
gone $pid 5
pid=$NEW
echo_ok "after a good upgrade" || fail "the new process does not echo: $(tail -5 "$TMP/err")"
expect_match "the new process runs d" "$(cat "$TMP/out")" 'load d conns=0'
