#!/usr/bin/env bash
# URL and URLSearchParams against node's own (Ada, a test peer run beside
# dv8, never part of it): 6,000 generated inputs, relative ones against
# several bases, some followed by a setter, parsed by both
# (tests/url/differential.mjs); href, origin, every component, the search
# params and the href after the setter must agree in every case but those
# in the four classes where node's Ada departs from the standard's text
# (counted apart by differential.mjs; docs/globals.md has the numbers).
source "$(dirname "$0")/lib.sh"
command -v node >/dev/null || fail "node is needed as a test peer"
out=$(node "$ROOT/tests/url/differential.mjs" generate "$TMP" 2>&1) || fail "node could not generate the cases: $out"
run_dv8 "$ROOT/tests/url/differential.mjs" check "$TMP"
expect_eq "status ($ERR)" "$STATUS" 0
expect_match "dv8's URL against node's" "$(printf '%s\n' "$OUT" | head -1)" '^url: [0-9]+ of 6000 cases agree with node \([0-9]+ valid URLs\), 0 differ otherwise$'
