# Shared by the shell tests: assertions that print what differed and exit 1.
# Tests get DV8 (the binary), DV8_BUILD and DV8_TEST_MODULES from run-all.
set -euo pipefail
: "${DV8:?run through tests/run-all (DV8 unset)}"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TMP=$(mktemp -d)
# Background processes to kill when the test ends: add their pids. Those a
# test could not learn the pid of (an upgrade's new process, when the test
# fails before the upgrade answered) run files from $TMP: they go too.
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; pkill -f -- "$TMP/" 2>/dev/null || true; rm -rf "$TMP"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# expect_eq WHAT ACTUAL EXPECTED
expect_eq() {
  if [ "$2" != "$3" ]; then
    printf 'FAIL: %s\n--- expected ---\n%s\n--- got ---\n%s\n' "$1" "$3" "$2" >&2
    exit 1
  fi
}

# expect_match WHAT ACTUAL REGEX (extended, matched against the whole text)
# (A here-string, not a pipe: grep -q stops at the first match, and with
# pipefail a printf still writing into the closed pipe failed the match.)
expect_match() {
  if ! grep -Eq -- "$3" <<<"$2"; then
    printf 'FAIL: %s\n--- expected to match ---\n%s\n--- got ---\n%s\n' "$1" "$3" "$2" >&2
    exit 1
  fi
}

# run_dv8 ARGS...: sets OUT, ERR and STATUS without stopping the test.
run_dv8() {
  set +e
  "$DV8" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
  STATUS=$?
  set -e
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
}

# free_port: a TCP port nothing listens on now (node finds one).
free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}

# wait_port PORT: until something accepts on 127.0.0.1:PORT (this makes
# one connection), or fail.
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  fail "nothing listens on port $1"
}

# running PID: whether PID is a live process. A process that is not this
# shell's child (an upgrade's new process) is reaped by init, maybe late:
# until then `kill -0` still finds its zombie.
running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat:0:1}" != Z ]
}

# gone PID SECONDS: waits for PID to end (running), or fails.
gone() {
  for _ in $(seq $(($2 * 20))); do running "$1" || return 0; sleep 0.05; done
  fail "process $1 still there after $2 s"
}

# echo_app FILE VERSION [BODY]: tests/reload/echo-app.js.in made into FILE,
# whole at once (a running program may reload or upgrade from it).
echo_app() {
  sed -e "s/VERSION/$2/g" -e "s|BODY|${3:-}|" "$ROOT/tests/reload/echo-app.js.in" >"$1.tmp"
  mv "$1.tmp" "$1"
}

# upgrade_to PID [SPELLING]: `dv8 upgrade PID` (or SPELLING, e.g.
# --upgrade); the new process's pid in NEW (and in pids), or fail.
upgrade_to() {
  local answer
  answer=$("$DV8" "${2:-upgrade}" "$1" 2>&1) || fail "upgrade of $1 refused: $answer"
  NEW=$(sed -n 's/^upgraded: pid \([0-9]*\) took over$/\1/p' <<<"$answer")
  [ -n "$NEW" ] || fail "upgrade of $1: unexpected answer '$answer'"
  pids+=("$NEW")
}

# tls_ca: a CA made here (ca.pem, ca.key in the current directory).
tls_ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
    -out ca.pem -days 2 -subj /CN=dv8-test-ca 2>/dev/null
}

# tls_cert NAME CN [SAN]: NAME.pem and NAME.key, CN and the subjectAltName
# SAN (e.g. DNS:localhost,IP:127.0.0.1), signed by tls_ca's CA.
tls_cert() {
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
    -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  local ext=()
  if [ -n "${3:-}" ]; then
    printf 'subjectAltName=%s\n' "$3" >"$1.ext"
    ext=(-extfile "$1.ext")
  fi
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out "$1.pem" -days 2 "${ext[@]}" 2>/dev/null
}
