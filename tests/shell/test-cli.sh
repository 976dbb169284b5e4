# The command line: version, help, options, exit codes and one-line
# messages for missing files, syntax errors and missing imports.
source "$(dirname "$0")/lib.sh"

run_dv8 --version
expect_eq "--version status" "$STATUS" 0
expect_match "--version" "$OUT" '^dv8 [0-9]+\.[0-9]+\.[0-9]+$'

run_dv8 --help
expect_eq "--help status" "$STATUS" 0
expect_match "--help" "$OUT" 'usage: dv8'
expect_match "--help lists -e" "$OUT" '-e, --eval CODE'

run_dv8 --bogus
expect_eq "unknown option status" "$STATUS" 2
expect_eq "unknown option" "$ERR" "dv8: unknown option '--bogus' (see dv8 --help)"

run_dv8 -e
expect_eq "-e without code status" "$STATUS" 2

for cmd in upgrade --upgrade reload --reload; do
  run_dv8 $cmd
  expect_eq "$cmd without a target: status" "$STATUS" 2
  expect_eq "$cmd without a target" "$ERR" "usage: dv8 ${cmd#--} [--timeout MS] PID|SOCKET"
done

for opt in --reload-deadline --flush-deadline; do
  for bad in abc 0 3600001 ''; do
    run_dv8 $opt $bad -e 1
    expect_eq "$opt '$bad' status" "$STATUS" 2
    expect_eq "$opt '$bad'" "$ERR" "dv8: $opt needs a number of milliseconds (1 to 3600000)"
  done
  run_dv8 $opt 250 -e 'console.log("ran")'
  expect_eq "$opt 250" "$STATUS $OUT" "0 ran"
done

run_dv8 -e 'console.log(1 + 2, dv8.args)' x y
expect_eq "-e status" "$STATUS" 0
expect_eq "-e output" "$OUT" "3 [ 'x', 'y' ]"

echo 'console.log(dv8.args.join(","))' >"$TMP/args.js"
run_dv8 "$TMP/args.js" a -e --version
expect_eq "args after the file are the script's" "$OUT" "a,-e,--version"

run_dv8 "$TMP/missing.js"
expect_eq "missing file status" "$STATUS" 1
expect_eq "missing file" "$ERR" "dv8: cannot find module '$TMP/missing.js'"

printf 'const a = 1;\nconst b = ;\n' >"$TMP/syntax.js"
run_dv8 "$TMP/syntax.js"
expect_eq "syntax error status" "$STATUS" 1
expect_eq "syntax error" "$ERR" "dv8: $TMP/syntax.js:2:11: SyntaxError: Unexpected token ';'"

echo "import { x } from './nope.js';" >"$TMP/imports.js"
run_dv8 "$TMP/imports.js"
expect_eq "missing import status" "$STATUS" 1
expect_eq "missing import" "$ERR" "dv8: cannot find module './nope.js' imported from $TMP/imports.js ($TMP/nope.js)"

echo "export const y = 1;" >"$TMP/lib.js"
echo "import { x } from './lib.js';" >"$TMP/badname.js"
run_dv8 "$TMP/badname.js"
expect_eq "missing export status" "$STATUS" 1
expect_match "missing export" "$ERR" "SyntaxError: The requested module './lib.js' does not provide an export named 'x'"

echo "import 'nosuchnative';" >"$TMP/native.js"
run_dv8 "$TMP/native.js"
expect_eq "missing native status" "$STATUS" 1
expect_match "missing native lists the search path" "$ERR" "^dv8: cannot find module 'nosuchnative' \(searched .*/lib/dv8.*\)$"

printf 'function f() {\n  throw new Error("boom");\n}\nf();\n' >"$TMP/throws.js"
run_dv8 "$TMP/throws.js"
expect_eq "uncaught status" "$STATUS" 1
expect_match "uncaught shows the line" "$ERR" "^$TMP/throws.js:2"
expect_match "uncaught shows the message" "$ERR" "Error: boom"
expect_match "uncaught stack has file:line:col" "$ERR" "at f \($TMP/throws.js:2:9\)"

echo 'setTimeout(() => { null.x; }, 1); setTimeout(() => console.log("never"), 50);' >"$TMP/late.js"
run_dv8 "$TMP/late.js"
expect_eq "uncaught in a timer status" "$STATUS" 1
expect_match "uncaught in a timer" "$ERR" "TypeError: Cannot read properties of null"
expect_eq "nothing runs after an uncaught error" "$OUT" ""

echo 'Promise.reject(new RangeError("nope"));' >"$TMP/reject.js"
run_dv8 "$TMP/reject.js"
expect_eq "unhandled rejection status" "$STATUS" 1
expect_match "unhandled rejection" "$ERR" "Uncaught \(in promise\) RangeError: nope"
expect_match "unhandled rejection stack" "$ERR" "at $TMP/reject.js:1:16"

echo 'const p = Promise.reject(new Error("late")); setTimeout(() => p.catch(() => {}), 0);' >"$TMP/handled.js"
run_dv8 "$TMP/handled.js"
expect_eq "a rejection unhandled at the checkpoint is fatal, like node" "$STATUS" 1

echo 'Promise.reject(new Error("x")).catch(() => console.log("caught"));' >"$TMP/caught.js"
run_dv8 "$TMP/caught.js"
expect_eq "handled rejection status" "$STATUS" 0
expect_eq "handled rejection" "$OUT" "caught"

echo 'throw 42;' >"$TMP/throw-value.js"
run_dv8 "$TMP/throw-value.js"
expect_eq "thrown number status" "$STATUS" 1
expect_match "thrown number" "$ERR" "^42$"

run_dv8 -e 'console.log("a"); dv8.exit(7); console.log("b")'
expect_eq "exit code" "$STATUS" 7
expect_eq "nothing after exit()" "$OUT" "a"

run_dv8 -e 'setTimeout(() => dv8.exit(3), 5); setInterval(() => {}, 1000)'
expect_eq "exit from a timer stops the loop" "$STATUS" 3

run_dv8 -e 'await new Promise(() => {})'
expect_eq "unsettled top-level await status" "$STATUS" 13
expect_match "unsettled top-level await" "$ERR" "top-level await never settled"

run_dv8 -e 'setTimeout(() => console.log("unref ran"), 10000).unref(); console.log("done")'
expect_eq "unref'd timer does not keep the process alive" "$OUT" "done"

printf '#!/usr/bin/env dv8\nconsole.log("shebang ok")\n' >"$TMP/shebang.js"
run_dv8 "$TMP/shebang.js"
expect_eq "shebang line" "$OUT" "shebang ok"

mkdir "$TMP/dir.js"
run_dv8 "$TMP/dir.js"
expect_eq "a directory status" "$STATUS" 1
expect_eq "a directory" "$ERR" "dv8: cannot read module '$TMP/dir.js': illegal operation on a directory"

run_dv8 -e 'queueMicrotask(() => { throw new Error("in microtask") }); setTimeout(() => console.log("after"), 10)'
expect_eq "throw in a microtask status" "$STATUS" 1
expect_match "throw in a microtask" "$ERR" "Uncaught Error: in microtask"
expect_eq "nothing runs after it" "$OUT" ""

run_dv8 -e 'function f() { return f() + 1 } f()'
expect_eq "stack overflow status" "$STATUS" 1
expect_match "stack overflow" "$ERR" "RangeError: Maximum call stack size exceeded"

# Running out of heap is fatal, as in node, with a message saying so.
run_dv8 --v8-flags=--max-old-space-size=16 -e 'const a = []; for (;;) a.push(new Array(1e5).fill(1))'
[ "$STATUS" -ne 0 ] || fail "heap exhaustion exited 0"
expect_match "heap exhaustion" "$ERR" "dv8: out of memory \(JavaScript heap\)"
