# examples/native-module builds outside dv8's tree against the public header
# alone, and its main.js prints exactly what it promises. Two builds: from
# the tree into a temp dir (OUT=, default DV8_INCLUDE), and from a copy of
# the example elsewhere with DV8_INCLUDE pointing at a copy of dv8.h, as
# after `make install`. Nothing is built inside the tree.
set -euo pipefail
: "${DV8:?run through tests/run-all (DV8 unset)}"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
EXAMPLE=$ROOT/examples/native-module
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

EXPECTED='hello, world
5
TypeError: add: argument 1 must be a number (got string)
waiting for the timer
called back after 10 ms'

# check_run DIR_WITH_HELLO_SO: runs main.js from the example's folder.
check_run() {
  local status=0 out
  out=$(cd "$EXAMPLE" && DV8_PATH="$1" "$DV8" main.js 2>"$TMP/err") || status=$?
  [ "$status" -eq 0 ] || fail "main.js exited with $status: $(cat "$TMP/err")"
  [ -s "$TMP/err" ] && fail "main.js wrote to stderr: $(cat "$TMP/err")"
  if [ "$out" != "$EXPECTED" ]; then
    printf 'FAIL: main.js output\n--- expected ---\n%s\n--- got ---\n%s\n' \
      "$EXPECTED" "$out" >&2
    exit 1
  fi
}

mkdir "$TMP/out"
make -s -C "$EXAMPLE" OUT="$TMP/out" >"$TMP/build.log" 2>&1 ||
  fail "make in the tree failed: $(cat "$TMP/build.log")"
[ -e "$EXAMPLE/hello.so" ] && fail "the build left hello.so in the tree"
check_run "$TMP/out"

# Out of the tree: the relative default ../../include no longer exists there.
mkdir "$TMP/include"
cp "$ROOT/include/dv8.h" "$TMP/include/"
cp -r "$EXAMPLE" "$TMP/native-module"
rm -f "$TMP/native-module/hello.so"
make -s -C "$TMP/native-module" DV8_INCLUDE="$TMP/include" >"$TMP/build.log" 2>&1 ||
  fail "make out of the tree failed: $(cat "$TMP/build.log")"
check_run "$TMP/native-module"
