# A program whose top level awaits (its configuration, a timer, I/O) has
# its load() called once that has settled, on the first start and on a
# reload alike (load() used to run first, and fail with a ReferenceError);
# meanwhile the old code serves. A top level that never settles fails the
# reload at the deadline, the old code going on; one that rejects fails it
# with the error. The first start's rejected top level is the program's
# own failure (status 1, the error with its source line). An upgrade's new
# process waits for its top level too.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
# app.js DELAY_MS [HOW]: the configuration comes after DELAY_MS (HOW:
# "never" or "reject" change that).
app() {
  cat >app.js.tmp <<APP
import * as net from 'net';
const config = await new Promise((resolve, reject) => {
  if ('${2:-}' === 'never') return;
  setTimeout(() => '${2:-}' === 'reject' ? reject(new Error('no configuration')) : resolve({ delay: $1 }), $1);
});
let server, n = 0, timer;
export function load(state) {
  n = state?.n ?? 0;
  server = state?.server ?? net.listen('127.0.0.1', 0, 8, () => {});
  console.log(\`load \${config.delay} \${state === undefined ? 'first' : 'again'}\`);
  timer = setInterval(() => console.log(\`tick \${++n}\`), 20);
}
export function unload() { return { n, server }; }
APP
  mv app.js.tmp app.js
}
wait_out() { # FILE REGEX
  for _ in $(seq 200); do grep -Eq "$2" "$1" && return 0; sleep 0.025; done
  fail "no line matching '$2' in $1: $(tail -3 "$1")"
}

app 150
"$DV8" --reload-deadline 1500 app.js >out 2>err &
pid=$!
pids+=($pid)
wait_out out '^load 150 first$'
wait_out out '^tick 3$'
# A reload whose new top level awaits 300 ms: the old code ticks meanwhile.
app 300
answer=$("$DV8" reload $pid) || fail "reload: $answer / $(cat err)"
expect_match "reload answer" "$answer" '^reloaded: 1 so far, 0 failed, prepare [0-9.]+ ms'
wait_out out '^load 300 again$'
prepare=$(sed -n 's/.*prepare \([0-9]*\)\..*/\1/p' <<<"$answer")
[ "$prepare" -ge 290 ] || fail "prepare took ${prepare} ms: the top level's 300 ms await was not waited for"
n=$(grep -c '^tick' out)
wait_out out "^tick $((n + 2))$"
# A top level that never settles: refused at the deadline, the old goes on.
app 0 never
set +e
answer=$("$DV8" reload $pid 2>&1)
status=$?
set -e
expect_eq "a top level that never settles: status" "$status" 1
expect_match "a top level that never settles" "$answer" 'did not finish within the reload deadline of 1500 ms'
# One that rejects: refused with the error.
app 50 reject
set +e
answer=$("$DV8" reload $pid 2>&1)
set -e
expect_match "a rejected top level" "$answer" "the new code's top level threw: Error: no configuration"
n=$(grep -c '^tick' out)
wait_out out "^tick $((n + 2))$"
expect_eq "loads" "$(grep -c '^load' out)" 2
# An upgrade's new process waits for its top level too.
app 200
upgrade_to $pid
gone $pid 5
for _ in $(seq 100); do grep -q '^load 200 again$' out && break; sleep 0.05; done
expect_match "the upgraded process loaded" "$(cat out)" 'load 200 again'
n=$(grep -c '^tick' out)
wait_out out "^tick $((n + 2))$"
kill -TERM "$NEW"
gone "$NEW" 3

# The first start's top level rejecting is the program's failure.
app 50 reject
set +e
"$DV8" app.js >out 2>err
status=$?
set -e
expect_eq "a rejected top level at start: status" "$status" 1
expect_match "a rejected top level at start" "$(cat err)" '^Error: no configuration'
if grep -q 'Uncaught (in promise)' err; then fail "reported as an unhandled rejection: $(cat err)"; fi
