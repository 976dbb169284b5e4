# A module's per-runtime data (ABI 3's runtime_data) is destroyed when its
# runtime ends, each thread's as that thread ends, and after the context is
# gone (the finalizer of a wrap still alive then uses it); the module's
# unload runs once, at the process's end, after every runtime's data is
# destroyed. tests/modules/apitest.c writes these events to $DV8_APITEST_LOG.
source "$(dirname "$0")/lib.sh"
export DV8_PATH="$DV8_TEST_MODULES"
export DV8_APITEST_LOG="$TMP/log"

cat >"$TMP/main.js" <<JS
import * as api from 'apitest';
import { spawn } from 'thread';
import { readFileSync } from 'fs';

// Alive until the context is disposed: its finalizer runs then.
globalThis.kept = api.wrap(1);
for (let i = 0; i < 4; i++) api.counter();
const work = async (n) => {
  const api = await import('apitest');
  for (let i = 0; i < n; i++) api.counter();
};
for (const n of [5, 7]) {
  const { code, error } = await spawn(work, { args: [n] }).join();
  if (code !== 0) throw error;
}
// Both workers' runtimes have ended by now: their data is gone already.
console.log(readFileSync('$DV8_APITEST_LOG', 'utf8'));
JS

run_dv8 "$TMP/main.js"
expect_eq "status" "$STATUS" 0
expect_eq "stderr" "$ERR" ""
expect_eq "destroyed as each worker ended" "$OUT" "runtime data destroyed: counter 5, wraps finalized 0
runtime data destroyed: counter 7, wraps finalized 0"
expect_eq "the process's log" "$(cat "$TMP/log")" "runtime data destroyed: counter 5, wraps finalized 0
runtime data destroyed: counter 7, wraps finalized 0
runtime data destroyed: counter 4, wraps finalized 1
unloaded"

# A program that never uses runtime_data still gets the unload, once.
rm "$TMP/log"
run_dv8 -e 'import { add } from "apitest"; add(1, 2)'
expect_eq "unload alone" "$(cat "$TMP/log")" "unloaded"
