# A reload asked for while an upgrade hands the program to a new process
# is refused, by every trigger (SIGHUP, the control socket), with a
# message; before, it resumed reads on sockets the new process already
# owned. The new process's load() takes 1.5 s here, so the window is wide.
# Pass: both refusals said, the upgrade completes, 8 clients sending all
# along get every byte back in order, the old process is gone.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
app="$TMP/echo.js"
port=$(free_port)
echo_app "$app" a
"$DV8" --reload-deadline 5000 "$app" "$port" >"$TMP/out" 2>"$TMP/err" &
pid=$!
pids+=($pid)
wait_port "$port"
node tests/reload/echo-clients.mjs "$port" 8 60 5 >"$TMP/clients" 2>&1 &
clients=$!
sleep 0.3
# The new process's load() (state given) is slow on purpose.
echo_app "$app" b 'if (state !== undefined) { console.log("slow load"); const until = Date.now() + 1500; while (Date.now() < until); }'
"$DV8" upgrade $pid >"$TMP/upgrade" 2>&1 &
upgrading=$!
# The handoff is under way once the new process is in its load().
for _ in $(seq 200); do grep -q '^slow load' "$TMP/out" && break; sleep 0.01; done
grep -q '^slow load' "$TMP/out" || fail "the new process did not start loading: $(tail -3 "$TMP/err")"
kill -HUP $pid
set +e
answer=$("$DV8" reload $pid 2>&1)
status=$?
set -e
expect_eq "dv8 reload during an upgrade: status" "$status" 1
expect_match "dv8 reload during an upgrade: answer" "$answer" '^reload refused: an upgrade is under way'
wait $upgrading || fail "the upgrade failed: $(cat "$TMP/upgrade") / $(tail -5 "$TMP/err")"
new=$(sed -n 's/^upgraded: pid \([0-9]*\) took over$/\1/p' "$TMP/upgrade")
[ -n "$new" ] || fail "no new pid: $(cat "$TMP/upgrade")"
pids+=($new)
expect_match "SIGHUP during an upgrade" "$(cat "$TMP/err")" 'dv8: reload refused: an upgrade is under way'
gone $pid 5
sleep 0.5
kill -USR2 $clients 2>/dev/null || true
wait $clients || fail "clients: $(cat "$TMP/clients") / server: $(tail -5 "$TMP/err")"
expect_match "clients" "$(cat "$TMP/clients")" '^ok 8 connections, [0-9]+ bytes$'
running $new || fail "the new process died: $(tail -5 "$TMP/err")"
expect_eq "loads: a, then b in the new process" "$(grep -c '^load' "$TMP/out")" 2
