# dv8.exit(n) during a reload (at the new code's top level, in its load(),
# in the old code's unload()) ends the program with n, under SIGHUP and
# under --watch alike, and the message says so ("...: the program ends
# with status n", not "reload failed, the old code goes on"). Under --watch
# the process used to stay up with every socket closed, n lost.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
# app.js WHERE: a server that calls dv8.exit(CODE) in WHERE once the file
# "go" exists (WHERE: top, load or unload; the first start never exits).
app() {
  cat >app.js <<APP
import * as fs from 'fs';
import * as net from 'net';
const go = () => fs.existsSync('$TMP/go');
if ('$1' === 'top' && go()) dv8.exit($2);
let server;
export function load(state) {
  if ('$1' === 'load' && go()) dv8.exit($2);
  server = state?.server ?? net.listen('127.0.0.1', 0, 8, () => {});
  console.log('load');
}
export function unload() {
  if ('$1' === 'unload' && go()) dv8.exit($2);
  return { server };
}
APP
}
# ended PID SECONDS: the status PID (our child) ended with, or fail.
ended() {
  for _ in $(seq $(($2 * 20))); do
    running "$1" || { set +e; wait "$1"; STATUS=$?; set -e; return 0; }
    sleep 0.05
  done
  fail "process $1 still there after $2 s: $(cat err)"
}
try() { # WHERE CODE WATCH(0/1) EXPECTED-MESSAGE
  rm -f go
  app "$1" "$2"
  if [ "$3" = 1 ]; then "$DV8" --watch app.js >out 2>err & else "$DV8" app.js >out 2>err & fi
  pid=$!
  pids+=($pid)
  for _ in $(seq 100); do grep -q '^load' out && break; sleep 0.02; done
  touch go
  if [ "$3" = 1 ]; then echo '// edited' >>app.js; else kill -HUP $pid; fi
  ended $pid 5
  expect_eq "$1, watch=$3: status" "$STATUS" "$2"
  expect_match "$1, watch=$3: message" "$(cat err)" "$4"
  if grep -q 'the old code goes on' err; then fail "$1, watch=$3: said the old code goes on: $(cat err)"; fi
}
try top 9 0 "dv8: reload: the new code's top level called dv8.exit\(9\): the program ends with status 9"
try load 7 0 'dv8: reload: load\(\) called dv8.exit\(7\): the program ends with status 7'
try unload 8 0 'dv8: reload: unload\(\) called dv8.exit\(8\): the program ends with status 8'
try load 5 1 'dv8: reload: load\(\) called dv8.exit\(5\): the program ends with status 5'
try top 0 1 "dv8: reload: the new code's top level called dv8.exit\(0\): the program ends with status 0"
