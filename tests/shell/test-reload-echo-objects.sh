# Server and Socket objects cross reloads and upgrades under load: an echo
# server written with net's objects (tests/reload/echo-objects-app.js.in)
# serves 32 clients sending random bytes continuously while it is reloaded
# by SIGHUP 100 times, alternating two versions, one reload in four broken
# on purpose, then handed to a new process by `dv8 upgrade` 3 times. Its
# state holds the Server and its Sockets themselves, which arrive in the new
# code as a Server and Sockets (checked by the app: load() throws
# otherwise) and are bound by reload(handlers). Pass: no connection dropped
# or reset, every byte echoed in order (checked by the clients), every
# broken reload refused, the echoed count never going back.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
app="$TMP/echo.js"
port=$(free_port)
make_app() {
  sed -e "s/VERSION/$2/g" -e "s|BODY|${3:-}|" "$ROOT/tests/reload/echo-objects-app.js.in" >"$1.tmp"
  mv "$1.tmp" "$1"
}
make_app "$app" a
"$DV8" "$app" "$port" >"$TMP/out" 2>"$TMP/err" &
pid=$!
pids+=($pid)
wait_port "$port"
node tests/reload/echo-clients.mjs "$port" 32 120 5 >"$TMP/clients" 2>&1 &
clients=$!
reloads=0
while [ $reloads -lt 100 ] && kill -0 $clients 2>/dev/null; do
  reloads=$((reloads + 1))
  if [ $((reloads % 4)) = 0 ]; then
    make_app "$app" bad 'throw new Error("broken on purpose");'
  elif [ $((reloads % 2)) = 0 ]; then
    make_app "$app" b
  else
    make_app "$app" a
  fi
  kill -HUP $pid
  sleep 0.04
done
make_app "$app" a
for i in 1 2 3; do
  upgrade_to $pid
  gone $pid 2
  pid=$NEW
  sleep 0.2
done
kill -USR2 $clients 2>/dev/null || true # enough: finish
wait $clients || fail "clients: $(cat "$TMP/clients") / server: $(grep -v "^load" "$TMP/out" | tail -3) $(grep -v "reload failed\|broken on purpose\|^    at " "$TMP/err" | tail -5)"
expect_match "clients" "$(cat "$TMP/clients")" '^ok 32 connections, [0-9]+ bytes$'
[ "$reloads" -ge 100 ] || fail "only $reloads reloads happened before the clients ended"
running $pid || fail "the server died: $(tail -5 "$TMP/err")"
expect_eq "every failure is the broken version's" "$(grep 'reload failed' "$TMP/err" | grep -vc 'broken on purpose' || true)" 0
[ "$(grep -c 'reload failed' "$TMP/err" || true)" -ge 1 ] || fail "no broken reload was refused"
grep -q '^load bad' "$TMP/out" && fail "a broken version took over"
expect_match "the last load kept the connections" "$(grep '^load' "$TMP/out" | tail -1)" 'conns=32 '
grep -Eo 'echoed=[0-9]+' "$TMP/out" | cut -d= -f2 >"$TMP/echoed"
expect_eq "echoed count continuous" "$(awk 'NR > 1 && $1 < prev { print "went back at " NR } { prev = $1 }' "$TMP/echoed")" ""
