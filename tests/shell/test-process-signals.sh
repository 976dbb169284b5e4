# Signals to a dv8 program: SIGTERM with no handler ends it cleanly (status
# 143, its control socket removed, what it wrote flushed); a JS handler
# (process.onSignal) takes SIGTERM instead, until it is closed; a SIGHUP
# handler replaces the reload SIGHUP otherwise triggers; a child process
# and a signal handler cross a reload (the new code rebinds them) and the
# child's exit reaches the new code.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
wait_for() { # file regex
  for _ in $(seq 200); do grep -Eq "$2" "$1" && return 0; sleep 0.025; done
  fail "no '$2' in $1: $(tail -3 "$1")"
}
dir=${XDG_RUNTIME_DIR:+$XDG_RUNTIME_DIR/dv8}
dir=${dir:-/tmp/dv8-$(id -u)}

# The default: SIGTERM ends the program as if it had finished.
cat >server.js <<'JS'
import * as net from 'net';
net.listen('127.0.0.1', 0, 8, () => {});
console.log('serving');
JS
"$DV8" server.js >out1 2>err1 &
pid=$!
pids+=($pid)
wait_for out1 '^serving$'
[ -S "$dir/$pid.sock" ] || fail "no control socket at $dir/$pid.sock"
kill -TERM $pid
set +e
wait $pid
status=$?
set -e
expect_eq "exit status after SIGTERM" "$status" 143
[ ! -e "$dir/$pid.sock" ] || fail "the control socket was left behind"

# A handler takes SIGTERM (twice), then closes itself: the third ends it.
cat >handler.js <<'JS'
import * as proc from 'process';
let n = 0;
const h = proc.onSignal('SIGTERM', (name) => {
  console.log(`handled ${name} ${++n}`);
  if (n === 2) proc.close(h);
});
proc.refSignal(h, true);
const hup = proc.onSignal('SIGHUP', () => console.log('hup handled'));
setInterval(() => {}, 1000); // alive after the handler closes
console.log('ready');
export function load() {}
JS
"$DV8" handler.js >out2 2>err2 &
pid=$!
pids+=($pid)
wait_for out2 '^ready$'
kill -TERM $pid
wait_for out2 '^handled SIGTERM 1$'
kill -HUP $pid
wait_for out2 '^hup handled$'
kill -TERM $pid
wait_for out2 '^handled SIGTERM 2$'
kill -TERM $pid
set +e
wait $pid
status=$?
set -e
expect_eq "exit status once the handler closed" "$status" 143
grep -q 'reloaded\|reload failed' err2 && fail "SIGHUP reloaded despite the handler: $(cat err2)"

# A child and a signal handler across a reload.
cat >app.js <<'JS'
import * as proc from 'process';
let child, sig;
const onExit = (status, signal) => console.log(`child ended ${status} ${signal} (code ${globalThis.gen})`);
const onUsr = () => console.log(`usr1 (code ${globalThis.gen})`);
export function load(state) {
  globalThis.gen = state === undefined ? 1 : state.gen + 1;
  if (state === undefined) {
    child = proc.spawn('/bin/sleep', ['30'], { stdio: 'ignore' }, onExit).id;
    sig = proc.onSignal('SIGUSR1', onUsr);
  } else {
    ({ child, sig } = state);
    proc.onExit(child, onExit);
    proc.onSignal(sig, onUsr);
    if (globalThis.gen === 3) setTimeout(() => proc.kill(child, 'SIGTERM'), 10);
  }
  console.log(`loaded ${globalThis.gen}`);
}
export function unload() { return { child, sig, gen: globalThis.gen }; }
JS
"$DV8" app.js >out3 2>err3 &
pid=$!
pids+=($pid)
wait_for out3 '^loaded 1$'
"$DV8" reload $pid >/dev/null
wait_for out3 '^loaded 2$'
kill -USR1 $pid
wait_for out3 '^usr1 \(code 2\)$'
"$DV8" reload $pid >/dev/null
wait_for out3 '^child ended 0 15 \(code 3\)$'
set +e
wait $pid
status=$?
set -e
expect_eq "the app ended by itself once its child had" "$status" 0
echo ok
