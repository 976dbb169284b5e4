# A control directory dv8 will not use (open to others, a symbolic link,
# another user's) is not skipped silently: the program says on stderr, in
# one line, which directory, why and what to do, and `dv8 reload PID` says
# the same kind of thing instead of "No such file or directory"; so does
# the client when the directory is missing, or the process has no socket.
# (XDG_RUNTIME_DIR points each case at a directory of its own.)
source "$(dirname "$0")/lib.sh"
cd "$TMP"
cat >app.js <<'JS'
export function load() { setTimeout(() => {}, 10000); }
JS

# insecure NAME REASON_REGEX: a program run with XDG_RUNTIME_DIR=$TMP/NAME
# (whose dv8/ the caller made wrong) says so once; the client too.
insecure() {
  local xdg="$TMP/$1" p
  XDG_RUNTIME_DIR="$xdg" "$DV8" app.js >"$1.out" 2>"$1.err" &
  p=$!
  pids+=($p)
  for _ in $(seq 250); do [ -s "$1.err" ] && break; sleep 0.02; done
  expect_eq "$1: lines on stderr ($(cat "$1.err"))" "$(grep -c '' "$1.err")" 1
  expect_match "$1: the program says why" "$(cat "$1.err")" \
    "^dv8: no control socket for this program: $xdg/dv8 $2 \(meanwhile SIGHUP reloads this program and SIGUSR2 upgrades it\)\$"
  XDG_RUNTIME_DIR="$xdg" run_dv8 reload $p
  expect_eq "$1: client status" "$STATUS" 1
  expect_match "$1: the client says why" "$ERR" \
    "^dv8 reload: $xdg/dv8 $2; dv8 programs do not listen there while it is so \(kill -HUP $p reloads one\)\$"
  kill $p
}

mkdir -p open/dv8 && chmod 0777 open/dv8
insecure open 'is mode 0777, open to other users: chmod 700 it'
mkdir -p real link && chmod 0700 real && ln -s "$TMP/real" link/dv8
insecure link 'is a symbolic link: remove it \(dv8 makes the directory itself\)'
mkdir -p file && touch file/dv8
insecure file 'is not a directory: remove it \(dv8 makes the directory itself\)'
if [ "$(id -u)" = 0 ]; then
  mkdir -p other/dv8 && chmod 0700 other/dv8 && chown 65534 other/dv8
  insecure other "belongs to uid 65534, not to this user \(uid 0\): remove it \(dv8 makes the directory itself\)"
fi

# No directory at all, or no socket in a good one.
mkdir -p none
XDG_RUNTIME_DIR="$TMP/none" run_dv8 reload $$
expect_eq "no directory: status" "$STATUS" 1
expect_match "no directory" "$ERR" \
  "^dv8 reload: no control directory $TMP/none/dv8: process $$ has no control socket here: it is not a dv8 program run from a file, or it was started by another user or with another XDG_RUNTIME_DIR \(give its socket's path then\)\$"
mkdir -p good/dv8 && chmod 700 good/dv8
XDG_RUNTIME_DIR="$TMP/good" run_dv8 upgrade $$
expect_eq "no socket: status" "$STATUS" 1
expect_match "no socket" "$ERR" \
  "^dv8 upgrade: cannot reach $TMP/good/dv8/$$.sock: No such file or directory: process $$ has no control socket here: it is not a dv8 program run from a file, or it was started by another user or with another XDG_RUNTIME_DIR \(give its socket's path then\)\$"
XDG_RUNTIME_DIR="$TMP/good" run_dv8 reload 999999999
expect_match "no such process" "$ERR" "^dv8 reload: cannot reach $TMP/good/dv8/999999999.sock: No such file or directory: there is no process 999999999\$"

# A good directory: silent, and the client reaches the program.
XDG_RUNTIME_DIR="$TMP/good" "$DV8" app.js >good.out 2>good.err &
p=$!
pids+=($p)
for _ in $(seq 100); do [ -S "good/dv8/$p.sock" ] && break; sleep 0.02; done
XDG_RUNTIME_DIR="$TMP/good" run_dv8 reload $p
expect_eq "good directory: reload ($ERR)" "$STATUS" 0
kill $p
wait $p || true
expect_eq "good directory: stderr" "$(cat good.err)" ""
