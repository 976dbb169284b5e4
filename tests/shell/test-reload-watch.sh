# dv8 --watch: editing the entry file or a module it imports reloads the
# program (a write in place, and an editor's write-then-rename alike), a
# burst of writes makes one reload, a broken edit is refused while the old
# code goes on, and each reload prints its statistics.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
printf "export const word = 'one';\n" >lib.js
cat >app.js <<'JS'
import { word } from './lib.js';
let n = 0;
export function load(state) {
  if (state !== undefined) n = state.n;
  console.log(`load ${word} ${n}`);
  setInterval(() => console.log(`tick ${++n} ${word}`), 10);
}
export function unload() { return { n }; }
JS
"$DV8" --watch app.js >out 2>err &
pids+=($!)
wait_for() { # file regex
  for _ in $(seq 200); do grep -Eq "$2" "$1" && return 0; sleep 0.025; done
  fail "no '$2' in $1: $(tail -3 "$1")"
}
wait_for out '^tick 3 one$'
printf "export const word = 'two';\n" >lib.js # in place
wait_for out '^load two [0-9]+$'
printf "export const word = 'three';\n" >lib.tmp && mv lib.tmp lib.js # renamed over
wait_for out '^load three [0-9]+$'
# A burst: five writes in quick succession, one reload.
for i in 1 2 3 4 5; do printf "export const word = 'burst%s';\n" "$i" >lib.js; sleep 0.005; done
wait_for out '^load burst5 [0-9]+$'
sleep 0.2
expect_eq "reloads for the burst" "$(grep -c '^load burst' out)" 1
# A broken edit of the entry file: refused, 'burst5' goes on.
echo 'this is not javascript(' >>app.js
wait_for err 'reload failed, the old code goes on: .*SyntaxError'
n=$(grep -Eo '^tick [0-9]+' out | tail -1 | cut -d' ' -f2)
wait_for out "^tick $((n + 3)) burst5$"
expect_match "statistics" "$(cat err)" 'dv8: reloaded .*/app.js \(3 so far, 0 failed\): prepare [0-9.]+ ms, pause [0-9.]+ ms'
# The count never skipped or repeated.
grep -Eo '^tick [0-9]+' out | cut -d' ' -f2 >ticks
expect_eq "ticks continuous" "$(awk 'NR > 1 && $1 != prev + 1 { print "gap after " prev } { prev = $1 }' ticks)" ""
expect_eq "--watch without a file" "$("$DV8" --watch 2>&1; echo "status $?")" "dv8: --watch needs a file to run
status 2"
