# examples/spawn.js: a program's stdout and stderr lines come labelled and
# whole (a last line without a newline too), then its exit status, which
# becomes spawn.js's own; a signal ends it with 128 + the signal; a
# program that does not exist exits 127 with the reason. examples/helper.js
# gets its answers from a helper process; examples/upgrade/server.js keeps
# a connection through two upgrades.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
run_dv8 examples/spawn.js /bin/sh -c 'i=0; while [ $i -lt 500 ]; do echo "line $i"; i=$((i+1)); done; echo oops >&2; printf last; exit 4'
expect_eq "status" "$STATUS" 4
expect_eq "stdout lines" "$(grep -c '^\[out\] line [0-9]*$' <<<"$OUT")" 500
expect_match "the last line, without a newline" "$OUT" '\[out\] last'
expect_match "stderr" "$OUT" '\[err\] oops'
expect_eq "the exit line is the last" "$(tail -1 <<<"$OUT")" '[exit 4]'
run_dv8 examples/spawn.js /bin/sh -c 'kill -TERM $$'
expect_eq "status after a signal" "$STATUS" 143
expect_eq "the signal line" "$OUT" '[ended by signal 15]'
run_dv8 examples/spawn.js /no/such/program
expect_eq "status for a missing program" "$STATUS" 127
expect_match "the reason" "$ERR" 'cannot run /no/such/program: ENOENT'
# examples/helper.js: the helper answers in its own process, in order.
run_dv8 examples/helper.js 30
expect_eq "helper.js status" "$STATUS" 0
expect_eq "answers" "$(grep -c '^prime #' <<<"$OUT")" 30
expect_match "the 30th prime" "$OUT" 'prime #30 is 113 \(the helper has answered 30\)'
expect_match "the end" "$OUT" 'helper ended: status 0, signal null, 0 questions lost'
# examples/upgrade/server.js: one connection through two upgrades gets its
# answers from three pids in turn, the count going on. The client sends a
# line every 20 ms until told (SIGUSR2) that both upgrades are done, then
# 10 more, and ends with the answer to its last line: an upgrade takes
# 0.3 s here, up to 1 s under AddressSanitizer.
port=$(free_port)
"$DV8" examples/upgrade/server.js "$port" >"$TMP/up.out" 2>"$TMP/up.err" &
pid=$!
pids+=($pid)
wait_port "$port"
node -e '
  const s = require("net").connect(Number(process.argv[1]), "127.0.0.1");
  let got = "", n = 0, last = Infinity, timer;
  const end = () => { clearTimeout(timer); process.stdout.write(`${got}sent ${n}\n`); s.destroy(); };
  s.on("data", (d) => { got += d; if (got.endsWith(`: line ${last - 1}\n`)) end(); });
  process.on("SIGUSR2", () => { last = n + 10; });
  const t = setInterval(() => { s.write(`line ${n++}\n`); if (n === last) { clearInterval(t); timer = setTimeout(end, 10000); } }, 20);
' "$port" >"$TMP/up.client" &
client=$!
sleep 0.4
upgrade_to $pid
pid2=$NEW
sleep 0.4
upgrade_to $pid2
pid3=$NEW
kill -USR2 $client
wait $client
expect_eq "answers" "$(grep -c '^#' "$TMP/up.client")" "$(sed -n 's/^sent //p' "$TMP/up.client")"
expect_eq "numbered in order" "$(grep -o '^#[0-9]*' "$TMP/up.client" | tr -d '#' | awk '$1 != NR { print "line " NR ": " $1; exit }')" ""
expect_eq "three processes answered, in turn" "$(grep -o 'pid [0-9]*' "$TMP/up.client" | uniq | cut -d' ' -f2 | tr '\n' ' ')" "$pid $pid2 $pid3 "
# examples/upgrade/load.js: 32 clients against the same server through
# two more upgrades: every line answered, in order, no connection dropped.
# The load goes on for 6 s: under a sanitizer on a busy machine each
# upgrade may take a second or more, and the last process must answer too.
"$DV8" examples/upgrade/load.js "$port" 32 6 >"$TMP/load.out" 2>&1 &
load=$!
sleep 1
upgrade_to $pid3
pid4=$NEW
sleep 0.8
upgrade_to $pid4
pid5=$NEW
wait $load || fail "load.js: $(cat "$TMP/load.out")"
expect_match "load.js totals" "$(tail -1 "$TMP/load.out")" "^sent ([0-9]+), answered \\1, lost 0, out of order 0, connections dropped 0, pids $pid3 $pid4 $pid5\$"
echo ok
