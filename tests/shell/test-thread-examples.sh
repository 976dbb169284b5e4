# The thread examples: workers.js fans a prime count out to threads and its
# total agrees with the single-thread count; acceptor.js hands connections
# to two echo threads in turn, and 6 clients (3 at a time) each get 4 MiB
# of random bytes back intact (checksums).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

run_dv8 examples/workers.js 3 300000
expect_eq "workers.js status ($ERR)" "$STATUS" 0
expect_match "workers.js total" "$OUT" '25997 primes below 300000 \([0-9]+ \+ [0-9]+ \+ [0-9]+\); one thread agrees: true'


port=$(free_port)
"$DV8" examples/acceptor.js "$port" 2 >"$TMP/acceptor.log" 2>&1 &
pids+=($!)
wait_port "$port"
for round in 1 2; do
  cpids=()
  for i in 1 2 3; do
    head -c $((4 * 1024 * 1024)) /dev/urandom >"$TMP/in$i"
    "$DV8" examples/netcat.js 127.0.0.1 "$port" <"$TMP/in$i" >"$TMP/out$i" &
    cpids+=($!)
  done
  for p in "${cpids[@]}"; do wait "$p" || fail "a netcat client failed"; done
  for i in 1 2 3; do
    expect_eq "round $round client $i: echoed bytes" "$(md5sum <"$TMP/out$i")" "$(md5sum <"$TMP/in$i")"
  done
done
sleep 0.2
log=$(cat "$TMP/acceptor.log")
# wait_port's probe is the first connection: 7 in all, handed in turn.
expect_eq "connections taken by worker 0" "$(grep -c 'worker 0: took' <<<"$log")" 4
expect_eq "connections taken by worker 1" "$(grep -c 'worker 1: took' <<<"$log")" 3
expect_eq "4 MiB echoed" "$(grep -c ' 4194304 bytes echoed' <<<"$log")" 6
