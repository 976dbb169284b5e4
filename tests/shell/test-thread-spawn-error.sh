# A thread the system will not start (at the limit on a user's processes,
# RLIMIT_NPROC, which counts threads) throws an Error with .code 'EAGAIN'
# and a message saying what failed; it was an Error reading 'spawn: cannot
# start a thread (-11)' with .code -11. Once the limit is lifted threads
# start again. RLIMIT_NPROC does not hold for root: as root, dv8 runs as
# nobody. The limit is lowered on the running process (prlimit), after
# V8's own threads have started.
source "$(dirname "$0")/lib.sh"

as_user=()
if [ "$(id -u)" = 0 ]; then
  as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
  chmod 755 "$TMP"
fi
cat >"$TMP/spawner.js" <<'EOF2'
import { spawn } from 'thread';
import * as proc from 'process';
let round = 0;
const sig = proc.onSignal('SIGUSR1', () => {
  round++;
  try {
    const t = spawn((x) => x * 2, { args: [21] });
    t.onExit = (code, result) => {
      console.log(`round ${round}: exit ${code} ${result}`);
      proc.close(sig);
    };
  } catch (e) {
    console.log(`round ${round}: ${e instanceof Error} ${e.code} ${e.errno} ${e.message}`);
  }
});
proc.refSignal(sig, true);
console.log('ready');
EOF2
chmod 644 "$TMP/spawner.js"

wait_line() { # PATTERN: until a line of the output matches it, or fail
  for _ in $(seq 200); do
    grep -q "$1" "$TMP/out" && return 0
    sleep 0.05
  done
  fail "no '$1' from dv8: $(cat "$TMP/out" "$TMP/err")"
}

DV8_THREAD_SPARE=0 "${as_user[@]}" "$DV8" "$TMP/spawner.js" >"$TMP/out" 2>"$TMP/err" &
pid=$!
pids+=("$pid")
wait_line '^ready$'
soft=$(awk '/^Max processes/ { print $3 }' "/proc/$pid/limits")
"${as_user[@]}" prlimit --pid "$pid" --nproc=1: || fail "prlimit could not lower the limit"
kill -USR1 "$pid"
wait_line '^round 1: '
"${as_user[@]}" prlimit --pid "$pid" --nproc="$soft": || fail "prlimit could not restore the limit"
kill -USR1 "$pid"
wait_line '^round 2: '
wait "$pid" || fail "dv8 exited with $?: $(cat "$TMP/err")"
expect_eq "spawn at the limit, then after it" "$(cat "$TMP/out")" "ready
round 1: true EAGAIN -11 EAGAIN: resource temporarily unavailable, spawning a thread
round 2: exit 0 42"
