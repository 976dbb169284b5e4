# The reload transaction: a running counter app is replaced by new code on
# SIGHUP and by dv8.reload(), its count carried over by unload()/load() with
# the old version passed to load; each way a reload can fail (syntax
# error, missing import, a throw at top level, load throws or rejects or
# does not settle, or runs past the reload deadline; the old code's unload
# throws or never returns, its state cannot be serialized, it has a handle
# open that cannot cross yet) is refused with the error printed, and the
# old code keeps counting without a gap.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
app="$TMP/app.js"
write() { # version body
  sed -e "s/VERSION/$1/g" -e "s|BODY|$2|" tests/reload/counter.js.in >"$app.tmp"
  mv "$app.tmp" "$app"
}
wait_for() { # regex: until the log has it
  for _ in $(seq 400); do grep -Eq "$1" "$TMP/out" && return 0; sleep 0.025; done
  fail "no line matching '$1' in: $(tail -5 "$TMP/out") / $(tail -5 "$TMP/err")"
}
last_tick() { grep -Eo '^tick [0-9]+' "$TMP/out" | tail -1 | cut -d' ' -f2; }

write v1 ''
# stdin stays open (a pipe nobody writes to) for the stdio reader below.
"$DV8" --reload-deadline 300 "$app" >"$TMP/out" 2>"$TMP/err" < <(sleep 60) &
pid=$!
pids+=($pid)
wait_for '^tick 3 v1$'

# A good reload by signal: the count goes on, load learns the old version.
write v2 ''
kill -HUP $pid
wait_for '^load v2 n=[0-9]+ from=v1$'
wait_for '^tick [0-9]+ v2$'

# Broken versions: each refused, v2 goes on counting.
bad=(
  'syntax error here;'
  'import("./no-such-file.js"); throw new Error("load fails on purpose");'
  'return Promise.reject(new RangeError("rejected on purpose"));'
  'return new Promise(() => {});'
  'for (;;) {}'
)
for body in "${bad[@]}"; do
  before=$(grep -c 'reload failed' "$TMP/err" || true)
  write v3 "$body"
  kill -HUP $pid
  for _ in $(seq 400); do [ "$(grep -c 'reload failed' "$TMP/err" || true)" -gt "$before" ] && break; sleep 0.025; done
  [ "$(grep -c 'reload failed' "$TMP/err" || true)" -gt "$before" ] || fail "no failure reported for: $body"
  n=$(last_tick)
  wait_for "^tick $((n + 2)) v2$"
done
expect_match "the errors" "$(cat "$TMP/err")" 'SyntaxError'
expect_match "the errors" "$(cat "$TMP/err")" 'load fails on purpose'
expect_match "the errors" "$(cat "$TMP/err")" 'rejected on purpose'
expect_match "the errors" "$(cat "$TMP/err")" 'did not settle'
expect_match "the errors" "$(cat "$TMP/err")" 'load\(\) ran past the reload deadline of 300 ms'
grep -q ' v3$' <(grep '^tick' "$TMP/out") && fail "a broken version ticked"

# A missing import and a throw at the top level are refused too.
printf 'import "./missing.js";\n' >"$app"
kill -HUP $pid
wait_for_err() { for _ in $(seq 400); do grep -Eq "$1" "$TMP/err" && return 0; sleep 0.025; done; fail "stderr lacks '$1'"; }
wait_for_err "cannot find module './missing.js'"
printf 'throw new TypeError("top level throws");\n' >"$app"
kill -HUP $pid
wait_for_err 'top level throws'
n=$(last_tick)
wait_for "^tick $((n + 2)) v2$"

# The running code itself can make a reload fail: its unload() throws,
# returns what serdes cannot carry, or it has a handle open that cannot
# cross yet. Each is refused, and a reload goes through once it is over.
refused_while() { # body-of-v5 expected-error
  sleep 1.6 # what the previous round set up (1.5 s) has cleared itself
  loads=$(grep -c '^load v5' "$TMP/out" || true)
  write v5 "$1"
  kill -HUP $pid
  for _ in $(seq 400); do [ "$(grep -c '^load v5' "$TMP/out" || true)" -gt "$loads" ] && break; sleep 0.025; done
  [ "$(grep -c '^load v5' "$TMP/out" || true)" -gt "$loads" ] || fail "v5 did not load: $(tail -3 "$TMP/err")"
  wait_for '^tick [0-9]+ v5$'
  before=$(grep -c 'reload failed' "$TMP/err" || true)
  write v6 ''
  kill -HUP $pid
  for _ in $(seq 400); do [ "$(grep -c 'reload failed' "$TMP/err" || true)" -gt "$before" ] && break; sleep 0.025; done
  expect_match "refused while: $1" "$(cat "$TMP/err")" "$2"
  n=$(last_tick)
  wait_for "^tick $((n + 2)) v5$"
}
refused_while 'globalThis.unloadThrows = true; setTimeout(() => { globalThis.unloadThrows = false; }, 1500);' 'unload\(\) threw: Error: unload fails on purpose'
refused_while 'globalThis.badState = true; setTimeout(() => { globalThis.badState = false; }, 1500);' 'state.onTick: cannot serialize a function'
refused_while 'globalThis.unloadLoops = true; setTimeout(() => { globalThis.unloadLoops = false; }, 1500);' 'unload\(\) ran past the reload deadline of 300 ms'
refused_while 'import("tty").then((tty) => { const r = tty.readStart(0, new Uint8Array(16), () => {}); setTimeout(() => tty.close(r), 1500); });' 'a stdio \(handle [0-9]+\) is open, and it cannot cross a reload'
sleep 1.6

# A good version again, through dv8.reload() this time: counting is
# continuous across all of it (no tick lost or repeated).
write v4 'if (state !== undefined \&\& !globalThis.again) { globalThis.again = 1; setTimeout(() => dv8.reload(), 60); }'
kill -HUP $pid
wait_for '^load v4 n=[0-9]+ from=v5$'
wait_for '^load v4 n=[0-9]+ from=v4$'
wait_for '^tick [0-9]+ v4$'
kill $pid
wait $pid 2>/dev/null || true
grep -Eo '^tick [0-9]+' "$TMP/out" | cut -d' ' -f2 >"$TMP/ticks"
expect_eq "ticks continuous" "$(awk 'NR > 1 && $1 != prev + 1 { print "gap after " prev } { prev = $1 }' "$TMP/ticks")" ""
