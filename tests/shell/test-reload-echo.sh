# Reloads keep every connection: a TCP echo server (tests/reload/
# echo-app.js.in) serves 64 clients sending random bytes continuously while
# it is reloaded by SIGHUP 200 times, alternating between two versions, one
# reload in four broken on purpose. Pass: no connection dropped or reset,
# every byte echoed in order (checked by the clients), every broken reload
# refused, and the server's count of echoed bytes never going back.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
app="$TMP/echo.js"
port=$(free_port)
echo_app "$app" a
"$DV8" "$app" "$port" >"$TMP/out" 2>"$TMP/err" &
pid=$!
pids+=($pid)
wait_port "$port"
node tests/reload/echo-clients.mjs "$port" 64 120 >"$TMP/clients" 2>&1 &
clients=$!
reloads=0
broken=0
while [ $reloads -lt 200 ] && kill -0 $clients 2>/dev/null; do
  reloads=$((reloads + 1))
  if [ $((reloads % 4)) = 0 ]; then
    echo_app "$app" bad 'throw new Error("broken on purpose");'
    broken=$((broken + 1))
  elif [ $((reloads % 2)) = 0 ]; then
    echo_app "$app" b
  else
    echo_app "$app" a
  fi
  kill -HUP $pid
  sleep 0.04
done
kill -USR2 $clients 2>/dev/null || true # enough: finish
wait $clients || fail "clients: $(cat "$TMP/clients") / server: $(grep -v "^load" "$TMP/out" | tail -3) $(grep -v "reload failed\|broken on purpose\|^    at " "$TMP/err" | tail -5)"
expect_match "clients" "$(cat "$TMP/clients")" '^ok 64 connections, [0-9]+ bytes$'
[ "$reloads" -ge 200 ] || fail "only $reloads reloads happened before the clients ended"
kill -0 $pid || fail "the server died: $(tail -5 "$TMP/err")"
failed=$(grep -c 'reload failed' "$TMP/err" || true)
[ "$failed" -ge 1 ] || fail "no broken reload was refused"
expect_eq "every failure is the broken version's" "$(grep 'reload failed' "$TMP/err" | grep -vc 'broken on purpose' || true)" 0
grep -q '^load bad' "$TMP/out" && fail "a broken version took over"
# The echoed count only grows from one load to the next.
grep -Eo 'echoed=[0-9]+' "$TMP/out" | cut -d= -f2 >"$TMP/echoed"
expect_eq "echoed count continuous" "$(awk 'NR > 1 && $1 < prev { print "went back at " NR } { prev = $1 }' "$TMP/echoed")" ""
echo "reloads $reloads, refused $failed, loads $(grep -c '^load' "$TMP/out")" >&2
