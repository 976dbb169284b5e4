# Reload reaches worker threads from outside: under --watch an edit of a
# thread's own module reloads that thread (not the program), its parent
# hears of it (Thread.onReload) and the thread's state goes on; SIGHUP
# reloads the program and every thread at once; `dv8 reload PID` says how
# many threads it asked. A thread's broken edit is refused in the thread
# alone, and its parent hears why.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
worker() { # word
  cat >worker.js.tmp <<JS
import { parent } from 'thread';
let n = 0;
export function load(state) {
  if (state !== undefined) n = state.n;
  parent.onMessage = () => parent.send(\`\${++n} $1\`);
}
export function unload() { return { n }; }
JS
  mv worker.js.tmp worker.js
}
worker one
cat >app.js <<'JS'
import { spawn, adopt } from 'thread';
let t;
let loads = 0;
function bind(thread) {
  t = thread;
  t.onMessage = (m) => console.log(`reply ${m}`);
  t.onReload = (error) => console.log(error === null ? 'thread reloaded' : `thread refused: ${error.split('\n')[0]}`);
}
export function load(state) {
  if (state === undefined) bind(spawn(`${import.meta.dirname}/worker.js`));
  else { loads = state.loads + 1; bind(adopt(state.t)); }
  console.log(`main load ${loads}`);
  setInterval(() => t.send('tick'), 10);
}
export function unload() { return { t: t.id, loads }; }
JS
"$DV8" --watch app.js >out 2>err &
pid=$!
pids+=($pid)
wait_for() { # file regex
  for _ in $(seq 200); do grep -Eq "$2" "$1" && return 0; sleep 0.025; done
  fail "no '$2' in $1: $(tail -3 "$1") / $(tail -3 err)"
}
wait_for out '^reply 3 one$'
worker two
wait_for out '^thread reloaded$'
wait_for out '^reply [0-9]+ two$'
expect_eq "the program itself did not reload" "$(grep -c '^main load' out)" 1
expect_match "the thread's --watch line" "$(cat err)" 'dv8: reloaded .*/worker.js in its thread \(1 so far, 0 failed\)'
# A broken edit: refused in the thread, 'two' goes on.
echo 'syntax error here;' >>worker.js
wait_for out '^thread refused: .*SyntaxError'
n=$(grep -Eo '^reply [0-9]+' out | tail -1 | cut -d' ' -f2)
wait_for out "^reply $((n + 3)) two$"
# SIGHUP: the program and its thread, at once (the thread's file fixed).
worker three
wait_for out '^thread reloaded$'
before=$(grep -c '^thread reloaded$' out)
kill -HUP $pid
wait_for out '^main load 1$'
for _ in $(seq 200); do [ "$(grep -c '^thread reloaded$' out)" -gt "$before" ] && break; sleep 0.025; done
[ "$(grep -c '^thread reloaded$' out)" -gt "$before" ] || fail "SIGHUP did not reload the thread"
# The control socket says how many threads it asked.
expect_match "dv8 reload PID" "$("$DV8" reload $pid)" '^reloaded: 2 so far, 0 failed, .* \(and 1 thread asked to\)$'
wait_for out '^main load 2$'
# Every reply counted on from the last: the thread's state crossed each time.
grep -Eo '^reply [0-9]+' out | cut -d' ' -f2 | awk 'NR > 1 && $1 != prev + 1 { print "gap after " prev; bad = 1 } { prev = $1 } END { exit bad }' ||
  fail "the thread's count skipped"
echo ok
