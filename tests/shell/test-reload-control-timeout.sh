# `dv8 reload` and `dv8 upgrade` give up on a program that does not answer:
# a socket that accepts and says nothing, a program stuck in JS (its loop
# never serves the control socket), and one stuck with its socket's
# backlog full (connect(2) itself would wait). Each ends within its
# timeout (--timeout MS, or DV8_CONTROL_TIMEOUT), status 1, saying what
# happened; the defaults are in --help.
source "$(dirname "$0")/lib.sh"
cd "$TMP"

# ends_within SECONDS CMD...: runs CMD (a hang fails the test); STATUS, ERR.
ends_within() {
  local limit=$1 t0 t1
  shift
  t0=$(date +%s%N)
  set +e
  timeout 20 "$@" >out 2>err </dev/null
  STATUS=$?
  set -e
  t1=$(date +%s%N)
  ERR=$(cat err)
  [ $STATUS != 124 ] || fail "$* did not end within 20 s"
  [ $(((t1 - t0) / 1000000)) -le $((limit * 1000)) ] ||
    fail "$* ended after $(((t1 - t0) / 1000000)) ms (bound: $limit s)"
}

# A socket that accepts and never answers.
node -e 'require("net").createServer(() => {}).listen(process.argv[1])' "$TMP/silent.sock" &
pids+=($!)
for _ in $(seq 100); do [ -S silent.sock ] && break; sleep 0.05; done
ends_within 5 env DV8_CONTROL_TIMEOUT=1000 "$DV8" reload "$TMP/silent.sock"
expect_eq "silent socket: status" "$STATUS" 1
expect_eq "silent socket: message" "$ERR" \
  "dv8 reload: no answer from $TMP/silent.sock within 1000 ms: the program may be stuck (in JS, or its event loop blocked) or still reloading (--timeout MS waits longer)"
ends_within 5 "$DV8" upgrade --timeout 800 "$TMP/silent.sock"
expect_eq "silent socket, upgrade: status" "$STATUS" 1
expect_match "silent socket, upgrade: message" "$ERR" \
  "^dv8 upgrade: no answer from $TMP/silent.sock within 800 ms: .* or still upgrading \(its stderr tells how it ends; --timeout MS waits longer\)\$"

# A program stuck in JS: its loop never gets to the control socket.
cat >stuck.js <<'JS'
export function load() { setTimeout(() => { console.log('stuck'); for (;;) {} }, 200); }
JS
"$DV8" stuck.js >stuck.out 2>&1 &
stuck=$!
pids+=($stuck)
for _ in $(seq 100); do grep -q stuck stuck.out && break; sleep 0.05; done
grep -q stuck stuck.out || fail "the program did not get stuck: $(cat stuck.out)"
ends_within 5 "$DV8" --reload --timeout=1000 $stuck
expect_eq "stuck program: status" "$STATUS" 1
expect_match "stuck program: message" "$ERR" "^dv8 reload: no answer from .*/$stuck.sock within 1000 ms"
# Its backlog (8) full: connect(2) waits for room too. 12 at once.
for i in $(seq 12); do
  timeout 20 "$DV8" upgrade --timeout 1500 $stuck >"many$i.out" 2>"many$i.err" &
  many[i]=$!
done
t0=$(date +%s%N)
for i in $(seq 12); do
  set +e
  wait ${many[i]}
  status=$?
  set -e
  [ $status != 124 ] || fail "client $i of 12 hung"
  expect_eq "client $i of 12: status" "$status" 1
  expect_match "client $i of 12: message" "$(cat "many$i.err")" \
    "^dv8 upgrade: (no answer from .*/$stuck.sock within 1500 ms|.*/$stuck.sock did not accept the connection within 1500 ms)"
done
t1=$(date +%s%N)
[ $(((t1 - t0) / 1000000)) -le 6000 ] || fail "12 clients took $(((t1 - t0) / 1000000)) ms"
grep -q 'did not accept the connection' many*.err || fail "no client found the backlog full"
kill -9 $stuck
wait $stuck 2>/dev/null || true

# Bad values and the defaults.
run_dv8 reload --timeout 0 1
expect_eq "--timeout 0" "$STATUS" 2
expect_match "--timeout 0" "$ERR" 'dv8 reload: --timeout needs a number of milliseconds'
DV8_CONTROL_TIMEOUT=abc run_dv8 reload 1
expect_eq "DV8_CONTROL_TIMEOUT=abc" "$STATUS" 2
expect_match "DV8_CONTROL_TIMEOUT=abc" "$ERR" 'DV8_CONTROL_TIMEOUT'
run_dv8 --help
expect_match "--help: the client's timeout" "$OUT" 'dv8 reload\|upgrade\|stats \[--timeout MS\] PID\|SOCKET'
expect_match "--help: the defaults" "$OUT" '30000 for reload, 60000 for upgrade'
expect_match "--help: the variable" "$OUT" 'DV8_CONTROL_TIMEOUT'
