# Ctrl-C in the REPL on a terminal, as in node: it interrupts the input
# being evaluated (what was defined before stays) or an await in progress;
# it drops a half-typed line or multi-line input; at an empty prompt the
# first says how to exit and the second in a row exits with status 0, while
# anything typed in between starts the count again. Driven through a
# pseudo-terminal (drive-tty.py), where \x03 is a real Ctrl-C. Each step
# that waits fails after 10 s, so a REPL that hangs fails the test.
source "$(dirname "$0")/lib.sh"

hint='\(To exit, press Ctrl\+C again or Ctrl\+D or type \.exit\)'
interrupted='Uncaught Error: Script execution was interrupted by SIGINT'

python3 "$ROOT/tests/shell/drive-tty.py" "$DV8" <<EOF || fail "see the session above"
expect \n> $
send let x = 41\r
expect undefined\n> $
# Code that never returns; "spinning" says it is running.
send console.log("spinning"); for (;;) {}\r
expect spinning\n
send \x03
expect \n$interrupted\n> $
send x + 1\r
expect \n42\n> $
# A long computation inside a function, and an await that never settles.
send function spin() { console.log("spinning"); while (true) {} }\r
expect undefined\n> $
send spin()\r
expect spinning\n
send \x03
expect \n$interrupted\n> $
send console.log("waiting"); await new Promise(() => {})\r
expect waiting\n
send \x03
expect \n$interrupted\n> $
send typeof spin\r
expect 'function'\n> $
# A half-typed line is dropped, without the hint.
send "never" + 1
send \x03
expect "never" \+ 1\^C\n> $
send "after"\r
expect \n'after'\n> $
# A half-typed multi-line input is dropped.
send function half() {\r
expect \.\.\. $
send \x03
expect \^C\n> $
send typeof half\r
expect \n'undefined'\n> $
# At an empty prompt: the hint; a line typed in between, or a half-typed
# line dropped, starts the count again; two in a row exit.
send \x03
expect \^C\n$hint\n> $
send 1 + 2\r
expect \n3\n> $
send \x03
expect \^C\n$hint\n> $
send ab
send \x03
expect ab\^C\n> $
send \x03
expect \^C\n$hint\n> $
send \x03
exit 0
EOF

# A program run from a file keeps the default: Ctrl-C ends it by SIGINT.
echo 'console.log("running"); setInterval(() => {}, 1000);' >"$TMP/run.js"
python3 "$ROOT/tests/shell/drive-tty.py" "$DV8" "$TMP/run.js" <<EOF || fail "see the session above"
expect running\n
send \x03
exit signal 2
EOF
