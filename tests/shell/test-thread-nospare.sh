# Threads without the spare runtime (DV8_THREAD_SPARE=0: every spawn makes
# its isolate and context on the spot): the value, error and control tests
# pass that way too, so both ways of starting a thread are covered.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
for t in values errors control; do
  out=$(DV8_THREAD_SPARE=0 "$DV8" "tests/js/test-thread-$t.js" 2>&1) || fail "test-thread-$t.js without a spare: $out"
done
