# An upgrade carries a stream over a file (stdout redirected to one, opened
# as a net stream) like a socket: the new process gets its descriptor and
# writes on where the old one stopped. (The upgrade used to read socket
# fields of a file stream's idle handle.)
source "$(dirname "$0")/lib.sh"
cd "$TMP"
cat >app.js <<'APP'
import * as net from 'net';
let out, n = 0, timer;
export function load(state) {
  out = state === undefined ? net.open(1) : state.out;
  n = state === undefined ? 0 : state.n;
  const gen = state === undefined ? 'first' : 'second';
  timer = setInterval(() => {
    const r = net.write(out, new TextEncoder().encode(`${gen} ${++n}\n`));
    if (r < 0) { console.error(`write: ${net.errname(r)}`); dv8.exit(1); }
  }, 10);
}
export function unload() { return { out, n }; }
APP
"$DV8" app.js >out.txt 2>err.txt &
pid=$!
pids+=($pid)
for _ in $(seq 100); do grep -q '^first 5$' out.txt && break; sleep 0.02; done
grep -q '^first 5$' out.txt || fail "no output: $(cat err.txt)"
upgrade_to $pid
gone $pid 3
for _ in $(seq 100); do grep -q '^second' out.txt && break; sleep 0.02; done
n=$(grep -c '' out.txt)
for _ in $(seq 100); do [ "$(grep -c '' out.txt)" -gt $((n + 5)) ] && break; sleep 0.02; done
kill -TERM "$NEW"
gone "$NEW" 3
# One count from 1 on, the first process's lines then the second's.
expect_eq "lines numbered on" "$(awk '{ if ($2 != NR) { print "line " NR ": " $0; exit } }' out.txt)" ""
expect_match "the second process wrote" "$(tail -1 out.txt)" '^second [0-9]+$'
expect_eq "stderr" "$(grep -v '^dv8: upgraded' err.txt || true)" ""
