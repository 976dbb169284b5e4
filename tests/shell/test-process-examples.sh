# examples/spawn.js: a program's stdout and stderr lines come labelled and
# whole (a last line without a newline too), then its exit status, which
# becomes spawn.js's own; a signal ends it with 128 + the signal; a
# program that does not exist exits 127 with the reason. examples/helper.js
# gets its answers from a helper process.
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
echo ok
