# --heap-limit MB: the main program's JS heap and ArrayBuffers together.
# Past it (garbage collected first), dv8 prints why and exits with status
# 5, its peak RSS bounded, instead of growing until the kernel's OOM killer
# ends it; a program that allocates and drops many times the limit runs to
# its end. Bad values are refused; --help documents the option.
source "$(dirname "$0")/lib.sh"

# run_rss ARGS...: runs dv8 like run_dv8, and sets PEAK_MB (its peak RSS).
run_rss() {
  set +e
  PEAK_MB=$(python3 -c '
import os, subprocess, sys
with open(sys.argv[1], "w") as out, open(sys.argv[2], "w") as err:
    p = subprocess.Popen(sys.argv[3:], stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    _, status, usage = os.wait4(p.pid, 0)
print(usage.ru_maxrss // 1024)
sys.exit(os.waitstatus_to_exitcode(status))' "$TMP/out" "$TMP/err" "$DV8" "$@")
  STATUS=$?
  set -e
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
}
# Under sanitizers RSS also counts their shadow memory and quarantine.
BOUND=200
[ -n "${SAN:-}" ] && BOUND=400

# Buffers kept (written, so that their pages are real): at most 512 MiB of
# them, which the limit stops at 48.
for kind in 'new Uint8Array(1 << 20).fill(1)' 'new ArrayBuffer(1 << 20)' 'new Float64Array(1 << 17).fill(1.5)'; do
  run_rss --heap-limit 48 -e "const keep = []; for (let i = 0; i < 512; i++) keep.push($kind); console.log('kept all');"
  expect_eq "$kind: status (stderr: $ERR)" "$STATUS" 5
  expect_eq "$kind: stdout" "$OUT" ""
  expect_match "$kind: message" "$ERR" '^dv8: heap limit of 48 MiB \(--heap-limit\) reached \(ArrayBuffers: [0-9.]+ MiB held, 1\.0 MiB more asked for; JS heap: [0-9.]+ MiB\)$'
  [ "$PEAK_MB" -lt "$BOUND" ] || fail "$kind: peak RSS $PEAK_MB MiB"
done

# The same from a callback, with the RangeError caught: the program still
# ends of its limit (its catch block does not run), the timer after it
# never fires.
run_dv8 --heap-limit 48 -e '
setTimeout(() => {
  const keep = [];
  try { for (let i = 0; i < 512; i++) keep.push(new ArrayBuffer(1 << 20)); } catch (err) { console.log("caught", err.message); }
}, 1);
setTimeout(() => console.log("later"), 200);'
expect_eq "caught: status" "$STATUS" 5
expect_eq "caught: stdout" "$OUT" ""
expect_match "caught: message" "$ERR" '^dv8: heap limit of 48 MiB \(--heap-limit\) reached \(ArrayBuffers'

# The JS heap alone.
run_rss --heap-limit 48 -e 'const keep = []; for (let i = 0; i < 1e6; i++) keep.push(new Array(1000).fill(i)); console.log("kept all");'
expect_eq "JS heap: status (stderr: $ERR)" "$STATUS" 5
expect_eq "JS heap: message" "$ERR" 'dv8: heap limit of 48 MiB (--heap-limit) reached'
[ "$PEAK_MB" -lt "$BOUND" ] || fail "JS heap: peak RSS $PEAK_MB MiB"

# Under the limit: 2 GiB allocated and dropped, 40 MiB kept at the end.
run_dv8 --heap-limit 48 -e '
let sum = 0;
for (let i = 0; i < 2048; i++) sum += new Uint8Array(1 << 20).fill(1)[3];
const keep = Array.from({ length: 40 }, () => new ArrayBuffer(1 << 20));
console.log(sum, keep.length);'
expect_eq "under the limit (stderr: $ERR)" "$STATUS $OUT" "0 2048 40"

# Without --heap-limit nothing changes: 64 MiB kept is fine.
run_dv8 -e 'const keep = Array.from({ length: 64 }, () => new ArrayBuffer(1 << 20)); console.log(keep.length);'
expect_eq "no limit" "$STATUS $OUT" "0 64"

for bad in abc 0 -5 1048577 ''; do
  run_dv8 --heap-limit $bad -e 1
  expect_eq "--heap-limit '$bad' status" "$STATUS" 2
  expect_eq "--heap-limit '$bad'" "$ERR" "dv8: --heap-limit needs a number of MiB (1 to 1048576)"
done

run_dv8 --help
expect_match "--help documents --heap-limit" "$OUT" '--heap-limit MB +end the program when its JS heap and ArrayBuffers'
