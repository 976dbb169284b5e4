# The REPL through a pipe: values print, declarations persist across lines,
# multi-line input waits for the end of a statement, errors print and the
# REPL goes on.
source "$(dirname "$0")/lib.sh"

out=$(printf '%s\n' \
  '1 + 1' \
  'let x = 20' \
  'const y = 22' \
  'x + y' \
  'class Point { constructor(a) { this.a = a } }' \
  'new Point(3)' \
  'function twice(n) {' \
  '  return n * 2' \
  '}' \
  'twice(x)' \
  '({ a: 1, b: [1, 2] })' \
  '{ c: 3 }' \
  'throw new Error("oops")' \
  'x' \
  'nosuchvar' \
  '[1, 2,' \
  ' 3].map(n => n * 10)' \
  'Promise.reject(new Error("async oops")); "after"' \
  '`multi' \
  'line`' \
  "'done'" | "$DV8" 2>"$TMP/err")
status=$?
expect_eq "status" "$status" 0
expect_eq "stdout" "$out" "2
undefined
undefined
42
undefined
Point { a: 3 }
undefined
40
{ a: 1, b: [ 1, 2 ] }
{ c: 3 }
20
[ 10, 20, 30 ]
'after'
'multi\\nline'
'done'"
err=$(cat "$TMP/err")
expect_match "errors go to stderr" "$err" "Uncaught Error: oops"
expect_match "reference errors" "$err" "Uncaught ReferenceError: nosuchvar is not defined"
expect_match "unhandled rejections print and the REPL goes on" "$err" "Uncaught \(in promise\) Error: async oops"

# Timers run while the REPL waits for input, and .exit leaves. The last two
# lines go in one write: written apart, the second could find dv8 gone
# (SIGPIPE, and the test ended with status 141 under load).
out=$( (echo 'setTimeout(() => console.log("tick"), 10)'; sleep 0.3; printf '.exit\n"not evaluated"\n') | "$DV8" 2>&1)
expect_match "timer fired while waiting" "$out" "tick"
if printf '%s' "$out" | grep -q "not evaluated"; then fail ".exit did not stop the REPL"; fi

# A statement cut off by the end of input still reports its error.
out=$(printf 'let z = (1 +\n' | "$DV8" 2>&1 || true)
expect_match "unfinished input at EOF" "$out" "SyntaxError"

# Top-level await: the value prints once it settles, later input waits for
# it, `const x = await ...` stays visible, a rejection prints and the REPL
# goes on.
out=$(printf '%s\n' \
  'await 42' \
  'const v = await new Promise(r => setTimeout(() => r(7), 20))' \
  'v * 2' \
  'await Promise.reject(new Error("rejected"))' \
  'for (const i of [1, 2]) await null' \
  '"end"' | "$DV8" 2>"$TMP/err")
expect_eq "await output" "$out" "42
undefined
14
undefined
'end'"
expect_eq "await rejection" "$(cat "$TMP/err")" "Uncaught Error: rejected
    at [repl]:1:36"

# Input that arrives after an await settled is still read.
out=$( (echo 'await new Promise(r => setTimeout(() => r(1), 50))'; sleep 0.4; echo '"later"') | "$DV8" 2>&1)
expect_eq "reading resumes after an await" "$out" "1
'later'"
