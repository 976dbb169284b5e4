# Crash safety of the persistent root (issue 22): a writer moves an amount
# between two of ten accounts (each a top-level key) every turn and records
# the turn; it is killed with SIGKILL at a random moment, PERSIST_CRASHES
# times for each sync mode (make test: 30; make soak: 1,000). Each restart
# checks that the total is unchanged and that the accounts are exactly what
# the turns up to the recorded one make (never a torn turn), and that the
# recorded turn is not older than the last one the killed writer said was
# committed (a crash of the process loses nothing in either mode), nor more
# than one past it (the turn being committed when it died).
source "$(dirname "$0")/lib.sh"
cd "$TMP"
CRASHES=${PERSIST_CRASHES:-30}
cat >writer.js <<'JS'
import { root } from 'persist';
const N = 10;
// Turn t moves (t * 37) % 50 from account t % N to (t * 7 + 3) % N.
function move(acc, t) {
  const from = t % N, to = (t * 7 + 3) % N, amount = (t * 37) % 50;
  acc[from] -= amount;
  acc[to] += amount;
}
if (root.turn === undefined) {
  for (let i = 0; i < N; i++) root['a' + i] = { balance: 1000 };
  root.turn = 0;
}
const expect = new Array(N).fill(1000);
for (let t = 1; t <= root.turn; t++) move(expect, t);
const got = [];
let total = 0;
for (let i = 0; i < N; i++) {
  got.push(root['a' + i].balance);
  total += root['a' + i].balance;
}
const same = got.every((v, i) => v === expect[i]);
console.log(`start ${root.turn} ${total} ${same ? 'exact' : 'TORN ' + got.join(',') + ' expected ' + expect.join(',')}`);
if (dv8.args[0] === 'check') dv8.exit(0);
// The commit of a turn is done once the next callback runs: it says so.
function step() {
  console.log(`committed ${root.turn}`);
  const t = root.turn + 1;
  const acc = new Array(N);
  for (let i = 0; i < N; i++) acc[i] = root['a' + i].balance;
  move(acc, t);
  root['a' + (t % N)].balance = acc[t % N];
  root['a' + ((t * 7 + 3) % N)].balance = acc[(t * 7 + 3) % N];
  root.turn = t;
  setImmediate(step);
}
setImmediate(step);
JS
for mode in turn 5; do
  rm -rf store
  last=0
  "$DV8" --persist store --persist-sync $mode writer.js check >out 2>err || fail "first start: $(cat err)"
  expect_eq "an empty store starts at turn 0" "$(cat out)" "start 0 10000 exact"
  for i in $(seq "$CRASHES"); do
    "$DV8" --persist store --persist-sync $mode writer.js >out 2>err &
    pid=$!
    # 20 to 220 ms: from before the first commit to some hundreds of turns.
    sleep "0.$(printf '%03d' $((20 + RANDOM % 200)))"
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    first=$(head -n 1 out)
    start=$(awk '{ print $2 }' <<<"$first")
    [ -n "$start" ] || start=$last # killed before it printed
    expect_match "crash $i ($mode): the state at start" "$first" "^(start [0-9]+ 10000 exact)?$"
    [ "$start" -ge "$last" ] || fail "crash $i ($mode): started at turn $start, older than the $last committed before"
    [ "$start" -le $((last + 1)) ] || fail "crash $i ($mode): started at turn $start, past $((last + 1))"
    said=$(grep '^committed' out | tail -n 1 | awk '{ print $2 }' || true)
    last=${said:-$start}
    [ -s err ] && fail "crash $i ($mode): stderr: $(cat err)"
  done
  "$DV8" --persist store --persist-sync $mode writer.js check >out 2>err || fail "last check: $(cat err)"
  final=$(awk '{ print $2 }' out)
  expect_match "after $CRASHES crashes ($mode)" "$(cat out)" "^start [0-9]+ 10000 exact$"
  [ "$final" -ge "$last" ] && [ "$final" -le $((last + 1)) ] || fail "$mode: ended at turn $final, last said committed $last"
  [ "$final" -gt $((CRASHES * 5)) ] || fail "$mode: only $final turns in $CRASHES runs: the writer hardly ran"
  echo "$mode: $CRASHES kills, turn $final, every restart exact" >&2
done
