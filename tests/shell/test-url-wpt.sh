#!/usr/bin/env bash
# URL and URLSearchParams against the web-platform-tests' URL data
# (urltestdata.json: 687 parsing cases; setters_tests.json: 198 setter
# cases), the copy Debian ships in librust-url-dev (make deps unpacks it
# into .deps/wpt-url). Every parsing case must agree; the setter cases
# where that 2022 copy and node's URL disagree must give what node gives,
# and node is run on the same cases to show that it does.
source "$(dirname "$0")/lib.sh"
data="$ROOT/.deps/wpt-url"
[ -e "$data/urltestdata.json" ] || fail "no URL test data in $data: run make deps"
run_dv8 "$ROOT/tests/url/wpt.mjs" "$data"
expect_eq "status ($OUT $ERR)" "$STATUS" 0
expect_eq "dv8's URL" "$OUT" "urltestdata.json: 687 of 687 cases agree
setters_tests.json: 193 of 198 cases agree, 5 as node's URL does instead"
command -v node >/dev/null || fail "node is needed as a test peer"
node_out=$(node "$ROOT/tests/url/wpt.mjs" "$data" 2>&1) || fail "node's URL: $node_out"
expect_eq "node's URL on the same cases" "$node_out" "$OUT"
