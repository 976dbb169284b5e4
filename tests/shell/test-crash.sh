# A fatal signal prints where it happened, then the process dies of it as it
# would have (status 128 + signal): a line naming the signal and the thread,
# the native stack (frames addr2line resolves), and the JavaScript stack of
# the thread that crashed, a worker's included, and a C stack overflow still
# reports (the handler runs on an alternate stack). tests/modules/crash.c
# crashes on purpose.
source "$(dirname "$0")/lib.sh"
export DV8_PATH="$DV8_TEST_MODULES"
ulimit -c 0 # the crashes write no core files
cd "$TMP"

# The line numbers of the calls are checked below.
cat >main.js <<'JS'
import { nullDeref, abort, overflow } from 'crash';

function crashHereOnPurpose(how) {
  if (how === 'segv') nullDeref();
  if (how === 'abort') abort();
  if (how === 'overflow') overflow();
}
crashHereOnPurpose(dv8.args[0]);
JS
cat >worker.js <<'JS'
import { nullDeref, overflow } from 'crash';

function crashInWorkerOnPurpose(how) {
  if (how === 'segv') nullDeref();
  if (how === 'overflow') overflow();
}
export default function (how) {
  crashInWorkerOnPurpose(how);
}
JS
# The main thread is busy in JS while its worker crashes: the report shows
# the worker's stack, not this one.
cat >spawner.js <<'JS'
import { spawn } from 'thread';

spawn('./worker.js', { args: [dv8.args[0]] });
function mainThreadBusy() {
  const end = Date.now() + 30000;
  while (Date.now() < end) {}
}
mainThreadBusy();
JS

# AddressSanitizer builds leave SIGSEGV to ASan's own handler (crash.c);
# the rest of the test then turns it off to check dv8's report under ASan.
# UndefinedBehaviorSanitizer's runtime leaves them to dv8 with GCC; clang's
# would take them (make CC=clang SAN=undefined) unless told not to.
if [ "${SAN:-}" = undefined ]; then
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0"
fi
if [ "${SAN:-}" = address ]; then
  # ASan's report on stderr, where this test reads it (run-all sends
  # sanitizer reports to files, as failures).
  export ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=stderr"
  run_dv8 main.js segv
  expect_match "ASan reports the SEGV" "$ERR" "AddressSanitizer: SEGV"
  if grep -q 'dv8: fatal signal' <<<"$ERR"; then
    fail "dv8's handler took SIGSEGV from ASan: $ERR"
  fi
  export ASAN_OPTIONS="${ASAN_OPTIONS:-}:handle_segv=0"
fi

# A NULL dereference in a native function called from JS.
run_dv8 main.js segv
expect_eq "status after SIGSEGV" "$STATUS" 139
expect_match "the header" "$ERR" \
  "^dv8: fatal signal SIGSEGV \(address 0x0\) in the main thread$"
expect_match "the JS frame" "$ERR" \
  "^    at crashHereOnPurpose \($TMP/main\.js:4:[0-9]+\)$"
# The faulting frame is the module's, as FILE(+0xOFFSET): addr2line names
# the function from that.
offset=$(sed -n 's|^.*/crash\.so(+\(0x[0-9a-f]*\)).*|\1|p' <<<"$ERR" | head -1)
[ -n "$offset" ] || fail "no native frame of crash.so: $ERR"
expect_eq "addr2line resolves the frame" \
  "$(addr2line -f -e "$DV8_TEST_MODULES/crash.so" "$offset" | head -1)" \
  js_null_deref

# abort() (as a CHECK failure ends): SIGABRT, status 134.
run_dv8 main.js abort
expect_eq "status after abort()" "$STATUS" 134
expect_match "the header" "$ERR" "^dv8: fatal signal SIGABRT in the main thread$"
expect_match "a native frame" "$ERR" "libc\.so\.6\(abort\+0x[0-9a-f]+\)"
expect_match "the JS frame" "$ERR" \
  "^    at crashHereOnPurpose \($TMP/main\.js:5:[0-9]+\)$"

# A C stack overflow: the handler runs on the alternate stack.
run_dv8 main.js overflow
expect_eq "status after a stack overflow" "$STATUS" 139
expect_match "the header" "$ERR" \
  "^dv8: fatal signal SIGSEGV \(address 0x[0-9a-f]+\) in the main thread$"
expect_match "the JS frame" "$ERR" \
  "^    at crashHereOnPurpose \($TMP/main\.js:6:[0-9]+\)$"

# In a worker thread: the worker's stack, not the busy main thread's.
run_dv8 spawner.js segv
expect_eq "status after SIGSEGV in a worker" "$STATUS" 139
expect_match "the worker's header" "$ERR" \
  "^dv8: fatal signal SIGSEGV \(address 0x0\) in worker thread \[thread [0-9]+\]$"
expect_match "the worker's JS frame" "$ERR" \
  "^    at crashInWorkerOnPurpose \($TMP/worker\.js:4:[0-9]+\)$"
if grep -q mainThreadBusy <<<"$ERR"; then
  fail "the main thread's stack was printed for the worker's crash: $ERR"
fi

# A stack overflow in a worker: each runtime thread has its own alternate
# stack.
run_dv8 spawner.js overflow
expect_eq "status after a stack overflow in a worker" "$STATUS" 139
expect_match "the worker's header" "$ERR" \
  "^dv8: fatal signal SIGSEGV \(address 0x[0-9a-f]+\) in worker thread \[thread [0-9]+\]$"
expect_match "the worker's JS frame" "$ERR" \
  "^    at crashInWorkerOnPurpose \($TMP/worker\.js:5:[0-9]+\)$"

# No core file was left in the test's directory.
if compgen -G "$TMP/core*" >/dev/null; then
  fail "core files left: $(ls "$TMP"/core*)"
fi
