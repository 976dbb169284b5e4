# An upgrade while the server's writes to its peers are still queued: the
# new process takes over at once and holds its own writes to each such
# connection until the old process has sent what it had queued, so every
# byte arrives once and in order. (1) 16 clients sending as fast as they
# can, 3 upgrades: all bytes back in order, each old process gone once
# flushed. (2) A peer that reads nothing: the old process gives up on it at
# --flush-deadline and ends that connection (the peer gets a prefix of its
# bytes in order, then the end, never a gap), a new upgrade is refused
# while the old process still flushes, and the old process killed while
# flushing ends only the connections it still held; the others go on.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
app="$TMP/echo.js"
echo_app "$app" a

# (1) Unpaced clients.
port=$(free_port)
"$DV8" "$app" "$port" >"$TMP/out1" 2>"$TMP/err1" &
pid=$!
pids+=($pid)
wait_port "$port"
node tests/reload/echo-clients.mjs "$port" 16 5 >"$TMP/clients1" 2>&1 &
clients=$!
sleep 1
for i in 1 2 3; do
  upgrade_to $pid
  new=$NEW
  gone $pid 60
  pid=$new
  sleep 0.3
done
wait $clients || fail "clients: $(cat "$TMP/clients1") / server: $(tail -5 "$TMP/err1")"
expect_match "unpaced clients" "$(cat "$TMP/clients1")" '^ok 16 connections, [0-9]+ bytes$'
held=$(grep -Eo 'still to flush here' "$TMP/err1" | wc -l)
expect_eq "upgrades reported" "$held" 3
# Whether an upgrade here finds writes queued depends on how fast the
# clients read on this machine at this moment; (2) queues them for certain.
kill $pid

# (2) A peer that reads nothing.
port=$(free_port)
"$DV8" --flush-deadline 3000 "$app" "$port" >"$TMP/out2" 2>"$TMP/err2" &
pid=$!
pids+=($pid)
wait_port "$port"
node tests/reload/echo-clients.mjs "$port" 8 120 5 >"$TMP/clients2" 2>&1 &
clients=$!
node tests/reload/stuck-client.mjs "$port" 8000000 >"$TMP/stuck-a" 2>&1 &
stuck_a=$!
sleep 1
old=$pid
upgrade_to $old
pid=$NEW
expect_match "the old process's report" "$(cat "$TMP/err2")" 'took over; [1-9][0-9]* connections still to flush here'
set +e
answer=$("$DV8" upgrade $pid 2>&1)
status=$?
set -e
expect_eq "an upgrade while the one before flushes: status" "$status" 1
expect_match "why" "$answer" 'still sending what it had queued \([1-9][0-9]* connections\)'
gone $old 10
expect_match "given up at the deadline" "$(cat "$TMP/err2")" 'bytes queued for handle [0-9]+ did not go out within 3000 ms \(--flush-deadline\): that connection is ended'
kill -USR2 $stuck_a 2>/dev/null || true # it may have seen the end (a reset) already
wait $stuck_a
got=$(sed -n 's/^got \([0-9]*\) of 8000000 in order$/\1/p' "$TMP/stuck-a")
[ -n "$got" ] && [ "$got" -lt 8000000 ] || fail "the peer given up on: $(cat "$TMP/stuck-a")"
# Killed while flushing: the new process ends what was still held.
node tests/reload/stuck-client.mjs "$port" 8000000 >"$TMP/stuck-b" 2>&1 &
stuck_b=$!
sleep 1
old=$pid
upgrade_to $old
pid=$NEW
sleep 0.2
running $old || fail "the old process did not wait for its queued writes"
kill -KILL $old
sleep 0.5
expect_match "the new process's report" "$(cat "$TMP/err2")" 'the process before ended with writes to handle [0-9]+ still queued: that connection is ended'
kill -USR2 $stuck_b 2>/dev/null || true
wait $stuck_b
got=$(sed -n 's/^got \([0-9]*\) of 8000000 in order$/\1/p' "$TMP/stuck-b")
[ -n "$got" ] && [ "$got" -lt 8000000 ] || fail "the peer of a killed old process: $(cat "$TMP/stuck-b")"
# Nothing held any more: the next upgrade goes at once; the others never
# noticed any of this.
old=$pid
upgrade_to $old
pid=$NEW
gone $old 10
sleep 0.3
kill -USR2 $clients
wait $clients || fail "clients: $(cat "$TMP/clients2") / server: $(tail -5 "$TMP/err2")"
expect_match "clients" "$(cat "$TMP/clients2")" '^ok 8 connections, [0-9]+ bytes$'

# (3) SIGTERM during an upgrade: new code that takes 3 s to load.
port=$(free_port)
echo_app "$app" c
"$DV8" "$app" "$port" >"$TMP/out3" 2>"$TMP/err3" &
pid=$!
wait_port "$port"
{ printf 'const t0 = Date.now();\nwhile (Date.now() - t0 < 3000);\n'; cat "$app"; } >"$app.tmp"
mv "$app.tmp" "$app"
"$DV8" upgrade $pid >"$TMP/answer3" 2>&1 &
up=$!
new=
for _ in $(seq 100); do new=$(pgrep -P $pid || true); [ -n "$new" ] && break; sleep 0.02; done
[ -n "$new" ] || fail "no new process started"
sleep 0.3
kill -TERM $pid
set +e
wait $pid
status=$?
wait $up
up_status=$?
set -e
expect_eq "the program's status" "$status" 143
expect_eq "the upgrade command's status" "$up_status" 1
expect_eq "its answer" "$(cat "$TMP/answer3")" "upgrade failed: this process is ending"
gone $new 2
true
