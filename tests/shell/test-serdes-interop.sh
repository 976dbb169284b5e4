#!/usr/bin/env bash
# serdes against two independent MessagePack libraries run by node (npm test
# peers in tests/peers): 3,000 generated values encoded by msgpackr and by
# @msgpack/msgpack decode in dv8 to the same values, and dv8's encodings
# decode in both libraries to the same values (tests/serdes/interop.mjs).
source "$(dirname "$0")/lib.sh"
command -v node >/dev/null || fail "node is needed as a test peer"
[ -d "$ROOT/tests/peers/node_modules/msgpackr" ] || fail "npm test peers missing: run 'make deps'"
out=$(node "$ROOT/tests/serdes/interop.mjs" encode "$TMP" 2>&1) || fail "node peers could not encode: $out"
run_dv8 "$ROOT/tests/serdes/interop.mjs" check "$TMP"
expect_eq "dv8 decoding the peers' encodings (status $STATUS, $ERR)" "$OUT" "dv8 decodes msgpackr: 3000 values ok
dv8 decodes msgpack: 3000 values ok"
[ -s "$TMP/dv8.bin" ] || fail "dv8 wrote no encodings"
out=$(node "$ROOT/tests/serdes/interop.mjs" check "$TMP" 2>&1) || true
expect_eq "the peers decoding dv8's encodings" "$out" "msgpackr decodes dv8: 3000 values ok
msgpack decodes dv8: 3000 values ok"
