#!/usr/bin/env bash
# serdes against independent MessagePack codecs from Debian packages, both
# ways: msgpack-c (libmsgpack-dev, tests/serdes/interop-c.c built here),
# Python's msgpack in C and in pure Python (python3-msgpack) and Ruby's
# (ruby-msgpack). Over an edge corpus (tests/serdes/edge-corpus.mjs: every
# format family at its boundaries, non-smallest forms, non-string map keys,
# nesting 32 deep, extensions, timestamps), each codec decodes the bytes to
# the values the corpus gives and writes them back as exactly the bytes the
# corpus expects of such a codec; dv8 does the same; every codec decodes
# every other one's output to the same values. Random values go both ways:
# corpus.mjs's, encoded by dv8, come back byte for byte from every peer;
# Python's own, encoded by Python, decode in dv8 to their values, and dv8's
# encoding of them decodes in Python and Ruby to the same values. A value
# is left out only where a codec cannot hold it, and the checks say where:
# dv8 refuses timestamp seconds beyond 2^53, msgpack.fallback cannot write
# extension types below 0, a Ruby Hash takes a str and a bin key of the
# same ASCII bytes as one. Steps and files: tests/serdes/interop-peers.mjs
# (dv8), interop.py, interop.rb.
source "$(dirname "$0")/lib.sh"
S="$ROOT/tests/serdes"
# Debian's python3-msgpack is installed for Debian's python, which a
# python3 from pyenv or a venv earlier in PATH does not see.
PY=/usr/bin/python3
"$PY" -c 'import msgpack' 2>/dev/null || fail "python3-msgpack missing (Debian package, for $PY)"
ruby -e 'require "msgpack"' 2>/dev/null || fail "ruby-msgpack missing (Debian package)"
cc -Wall -Wextra -Werror -O2 -o "$TMP/interop-c" "$S/interop-c.c" -lmsgpackc 2>"$TMP/cc.err" ||
  fail "tests/serdes/interop-c.c does not build (libmsgpack-dev missing?): $(cat "$TMP/cc.err")"

# Every step runs, whatever failed before it (a wrong value leaves an empty
# frame behind, which later steps report too), so that a failure shows all
# that went wrong; the test fails at the end if any step's output or status
# was not the expected one.
problems=()
summary=()
expect_step() { # WHAT EXPECTED OUTPUT STATUS
  if [ "$3" != "$2" ] || [ "$4" != 0 ]; then
    problems+=("$(printf 'FAIL: %s (status %s)\n--- expected ---\n%s\n--- got ---\n%s' "$1" "$4" "$2" "$3")")
    # The lines not expected, first ones: the summary at the end shows them
    # where run-all's tail of the output does.
    summary+=("$1 (status $4):" "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | sed -n 's/^> /  /p' | head -n 4 | cut -c1-240 || true)")
  fi
}
step() { # WHAT EXPECTED COMMAND...
  local what=$1 want=$2 got status
  shift 2
  set +e
  got=$("$@" 2>&1)
  status=$?
  set -e
  expect_step "$what" "$want" "$got" "$status"
}
dv8_step() { # WHAT EXPECTED ARGS...
  local what=$1 want=$2
  shift 2
  run_dv8 "$S/interop-peers.mjs" "$@"
  expect_step "$what" "$want" "$OUT${ERR:+$'\n'$ERR}" "$STATUS"
}
c_step() { # IN OUT (names in $TMP, without .bin)
  step "msgpack-c rewriting $1.bin" "" "$TMP/interop-c" "$TMP/$1.bin" "$TMP/$2.bin"
}

dv8_step "dv8 writing the corpora" "\
dv8 decodes and rewrites the edge corpus: 174 values ok, 3 refused as the corpus says
dv8 encodes and decodes its random values: 500 values ok" write "$TMP"
c_step edge edge.c
c_step random.dv8 random.c
c_step edge.dv8 edge.dv8.c
step "python decoding and rewriting" "\
python decodes the edge corpus: 174 values ok
python decodes dv8's random values: 500 values ok
python-pure decodes the edge corpus: 174 values ok, 3 it cannot write back
python-pure decodes dv8's random values: 500 values ok
python and python-pure encode their random values: 1500 values ok" "$PY" "$S/interop.py" encode "$TMP"
c_step pyrandom pyrandom.c
step "ruby decoding and rewriting" "\
ruby decodes the edge corpus: 174 values ok
ruby decodes dv8's random values: 500 values ok
ruby decodes python's random values: 1492 values ok, 8 left out (keys a Hash merges)" ruby "$S/interop.rb" encode "$TMP"
dv8_step "dv8 decoding python's random values" "\
dv8 decodes and rewrites pyrandom: 1500 values ok" roundtrip "$TMP" pyrandom
dv8_step "dv8 checking the peers' output" "\
dv8 checks c's writing of the edge corpus: 174 values ok
dv8 checks c's writing of dv8's random values: 500 values ok
dv8 checks python's writing of the edge corpus: 174 values ok
dv8 checks python's writing of dv8's random values: 500 values ok
dv8 checks python-pure's writing of the edge corpus: 174 values ok, 3 left out (extension types below 0, which it cannot write)
dv8 checks python-pure's writing of dv8's random values: 500 values ok
dv8 checks ruby's writing of the edge corpus: 174 values ok
dv8 checks ruby's writing of dv8's random values: 500 values ok
dv8 checks c's writing of dv8's edge output: 174 values ok" check "$TMP" c python python-pure ruby
step "python checking the others' output" "\
python decodes dv8's writing of the edge corpus: 171 values ok, 3 left out
python decodes c's writing of the edge corpus: 174 values ok
python decodes python's writing of the edge corpus: 174 values ok
python decodes python-pure's writing of the edge corpus: 171 values ok, 3 left out
python decodes ruby's writing of the edge corpus: 174 values ok
python decodes dv8's writing of its random values: 1500 values ok
python-pure decodes dv8's writing of the edge corpus: 171 values ok, 3 left out
python-pure decodes c's writing of the edge corpus: 174 values ok
python-pure decodes python's writing of the edge corpus: 174 values ok
python-pure decodes python-pure's writing of the edge corpus: 171 values ok, 3 left out
python-pure decodes ruby's writing of the edge corpus: 174 values ok
python-pure decodes dv8's writing of its random values: 1500 values ok
python checks c's writing of its random values: 1500 values ok
python checks ruby's writing of its random values: 1492 values ok, 8 left out (keys a Ruby Hash merges)" \
  "$PY" "$S/interop.py" check "$TMP"
step "ruby checking the others' output" "\
ruby decodes dv8's writing of the edge corpus: 171 values ok, 3 left out
ruby decodes c's writing of the edge corpus: 174 values ok
ruby decodes python's writing of the edge corpus: 174 values ok
ruby decodes python-pure's writing of the edge corpus: 171 values ok, 3 left out
ruby decodes ruby's writing of the edge corpus: 174 values ok
ruby decodes dv8's writing of python's random values: 1492 values ok, 8 left out (keys a Hash merges)" \
  ruby "$S/interop.rb" check "$TMP"

if [ ${#problems[@]} -gt 0 ]; then
  printf '%s\n' "${problems[@]}" >&2
  printf '\nFAIL: %d of the steps above; each one'"'"'s first unexpected lines:\n' "${#problems[@]}" >&2
  printf '%s\n' "${summary[@]}" >&2
  exit 1
fi
