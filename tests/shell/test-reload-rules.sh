# What reload triggers do with programs that cannot or should not reload:
# - one SIGTERM ends a program run under --watch with 143 (its watches
#   used to keep the loop waiting until a second SIGTERM);
# - SIGHUP ignored when dv8 started (nohup) stays ignored: no reload;
# - a program that exports no load() is not reloaded by SIGHUP, the control
#   socket or --watch: each says so, its top level does not run again, and
#   it goes on.
source "$(dirname "$0")/lib.sh"
cd "$TMP"

# A program that ticks, with or without load().
cat >ticker.js <<'EOF'
console.log(`top ${dv8.args[0]}`);
let n = 0;
setInterval(() => console.log(`tick ${++n}`), 20);
EOF
cat >reloadable.js <<'EOF'
let timer;
let n = 0;
export function load(state) {
  n = state?.n ?? 0;
  console.log(`load ${n}`);
  timer = setInterval(() => console.log(`tick ${++n}`), 20);
}
export function unload() { return { n }; }
EOF

# wait_out FILE REGEX: until a line of FILE matches, or fail (5 s).
wait_out() {
  for _ in $(seq 200); do grep -Eq "$2" "$1" && return 0; sleep 0.025; done
  fail "no line matching '$2' in $1: $(tail -3 "$1")"
}
# ended PID SECONDS: the status PID (our child) ended with, or fail.
ended() {
  for _ in $(seq $(($2 * 20))); do
    running "$1" || { set +e; wait "$1"; STATUS=$?; set -e; return 0; }
    sleep 0.05
  done
  fail "process $1 still there after $2 s"
}

# --watch and SIGTERM: one is enough, and the status says why it ended.
"$DV8" --watch reloadable.js >watch.out 2>watch.err &
pid=$!
pids+=($pid)
wait_out watch.out '^tick 3$'
kill -TERM $pid
ended $pid 3
expect_eq "--watch ends on one SIGTERM with" "$STATUS" 143

# The same with a reload done first (the watches were made again).
"$DV8" --watch reloadable.js >watch.out 2>watch.err &
pid=$!
pids+=($pid)
wait_out watch.out '^tick 3$'
touch reloadable.js
wait_out watch.err 'reloaded .*reloadable.js'
kill -TERM $pid
ended $pid 3
expect_eq "--watch after a reload ends on one SIGTERM with" "$STATUS" 143

# nohup: SIGHUP was ignored when dv8 started, and stays ignored.
(trap '' HUP && exec "$DV8" reloadable.js) >hup.out 2>hup.err &
pid=$!
pids+=($pid)
wait_out hup.out '^tick 3$'
kill -HUP $pid
sleep 0.3
running $pid || fail "SIGHUP under nohup killed it"
expect_eq "loads under nohup after SIGHUP" "$(grep -c '^load' hup.out)" 1
expect_eq "stderr under nohup" "$(cat hup.err)" ""
kill -TERM $pid
ended $pid 3
expect_eq "SIGTERM under nohup" "$STATUS" 143

# Without nohup the same program reloads on SIGHUP (the test above can
# fail).
"$DV8" reloadable.js >hup.out 2>hup.err &
pid=$!
pids+=($pid)
wait_out hup.out '^tick 3$'
kill -HUP $pid
wait_out hup.out '^load [1-9]'
kill -TERM $pid
ended $pid 3

# No load(): not reloadable, whatever asks.
"$DV8" ticker.js once >plain.out 2>plain.err &
pid=$!
pids+=($pid)
wait_out plain.out '^tick 3$'
kill -HUP $pid
wait_out plain.err 'reload refused: the program exports no load\(\): it is not reloadable'
set +e
answer=$("$DV8" reload $pid 2>&1)
status=$?
set -e
expect_eq "dv8 reload of a program without load(): status" "$status" 1
expect_match "dv8 reload of a program without load(): answer" "$answer" 'reload refused: the program exports no load\(\)'
n=$(grep -c '^tick' plain.out)
wait_out plain.out "^tick $((n + 3))$"
expect_eq "top level runs once" "$(grep -c '^top' plain.out)" 1
running $pid || fail "it stopped"
kill -TERM $pid
ended $pid 3
expect_eq "SIGTERM" "$STATUS" 143

# --watch on it: an edit is refused the same way.
"$DV8" --watch ticker.js once >plain.out 2>plain.err &
pid=$!
pids+=($pid)
wait_out plain.out '^tick 3$'
echo '// edited' >>ticker.js
wait_out plain.err 'reload refused: the program exports no load\(\)'
expect_eq "top level runs once under --watch" "$(grep -c '^top' plain.out)" 1
kill -TERM $pid
ended $pid 3
expect_eq "SIGTERM under --watch" "$STATUS" 143
