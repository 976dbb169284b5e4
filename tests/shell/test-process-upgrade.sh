# A binary upgrade under load: an echo server (tests/reload/echo-app.js.in)
# serving 64 clients that send random bytes all the time is handed to a
# new dv8 process 10 times in a row (`dv8 upgrade PID`), its listening
# socket and every connection moving with SCM_RIGHTS and its count of
# echoed bytes with its state. Pass: no connection dropped or reset, every
# byte echoed in order (checked by the clients), each old process gone
# once the new one took over, the count never going back, the number of
# open descriptors flat across generations; an upgrade to code that does
# not load is refused and the old process goes on serving.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
app="$TMP/echo.js"
port=$(free_port)
echo_app "$app" a
"$DV8" "$app" "$port" >"$TMP/out" 2>"$TMP/err" &
pid=$!
pids+=($pid)
wait_port "$port"
# Paced (a write of 1-4 KiB every 5 ms per connection, ~25 MB/s in all),
# so that each old process has little queued and is gone quickly: the next
# upgrade waits for that. Clients as fast as the server takes it, whose
# queued writes the old process sends after the takeover: in
# test-process-upgrade-flush.sh.
node tests/reload/echo-clients.mjs "$port" 64 120 5 >"$TMP/clients" 2>&1 &
clients=$!
sleep 0.5
fds=()
for i in $(seq 10); do
  [ $((i % 2)) = 0 ] && echo_app "$app" b || echo_app "$app" a
  cmd=upgrade; [ $i = 5 ] && cmd=--upgrade # both spellings
  upgrade_to $pid $cmd
  new=$NEW
  gone $pid 2
  pid=$new
  fds+=("$(ls /proc/$pid/fd | wc -l)")
  sleep 0.2
done
# A version that does not load: refused, and this process goes on.
echo_app "$app" bad 'throw new Error("broken on purpose");'
set +e
answer=$("$DV8" upgrade $pid 2>&1)
status=$?
set -e
expect_eq "a broken upgrade's status" "$status" 1
expect_match "why" "$answer" 'upgrade failed: .*broken on purpose'
sleep 0.3
running $pid || fail "the old process died with the failed upgrade"
kill -USR2 $clients 2>/dev/null || true # enough: finish
wait $clients || fail "clients: $(cat "$TMP/clients") / server: $(tail -5 "$TMP/err")"
expect_match "clients" "$(cat "$TMP/clients")" '^ok 64 connections, [0-9]+ bytes$'
running $pid || fail "the last process died: $(tail -5 "$TMP/err")"
expect_eq "descriptors across generations (2nd and 10th)" "${fds[9]}" "${fds[1]}"
grep -Eo 'echoed=[0-9]+' "$TMP/out" | cut -d= -f2 >"$TMP/echoed"
expect_eq "echoed count continuous" "$(awk 'NR > 1 && $1 < prev { print "went back at " NR } { prev = $1 }' "$TMP/echoed")" ""
expect_eq "loads: the first, then one per upgrade" "$(grep -c '^load' "$TMP/out")" 11
echo "descriptors per generation: ${fds[*]}" >&2
