# examples/echo.js is reloadable: while 3 netcat clients each push 16 MiB of
# random bytes through it (one of them connected but quiet during the
# reloads), it is reloaded by SIGHUP and by `dv8 reload PID` (and, run from
# a copy under --watch, by rewriting the file): every byte comes back
# (checksums) and no connection is dropped.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
for i in 1 2 3; do head -c $((16 * 1024 * 1024)) /dev/urandom >"$TMP/in$i"; done

through() { # port reload-command...
  local port=$1
  shift
  cpids=()
  # Client 1 connects at once but sends only after the reloads: its
  # connection is certainly open across them.
  (sleep 0.8; cat "$TMP/in1") | "$DV8" examples/netcat.js 127.0.0.1 "$port" >"$TMP/out1" &
  cpids+=($!)
  for i in 2 3; do
    "$DV8" examples/netcat.js 127.0.0.1 "$port" <"$TMP/in$i" >"$TMP/out$i" &
    cpids+=($!)
  done
  for _ in 1 2 3 4 5 6; do sleep 0.1; "$@"; done
  for p in "${cpids[@]}"; do wait "$p" || fail "a netcat client failed"; done
  for i in 1 2 3; do
    expect_eq "client $i: bytes back" "$(md5sum <"$TMP/out$i")" "$(md5sum <"$TMP/in$i")"
  done
}

port=$(free_port)
"$DV8" examples/echo.js "$port" >"$TMP/log" 2>"$TMP/err" &
pid=$!
pids+=($pid)
wait_port "$port"
through "$port" kill -HUP "$pid"
through "$port" "$DV8" reload "$pid"
expect_match "reloads kept connections" "$(cat "$TMP/log")" 'echo: reloaded, [1-3] connections kept'
kill -0 "$pid" || fail "the server died: $(cat "$TMP/err")"

# Under --watch, from a copy: rewriting the file reloads it.
mkdir -p "$TMP/copy/lib"
cp examples/echo.js "$TMP/copy/"
cp examples/lib/*.js "$TMP/copy/lib/"
port=$(free_port)
"$DV8" --watch "$TMP/copy/echo.js" "$port" >"$TMP/wlog" 2>"$TMP/werr" &
pids+=($!)
wait_port "$port"
rewrite() { cp "$TMP/copy/echo.js" "$TMP/copy/echo.tmp" && mv "$TMP/copy/echo.tmp" "$TMP/copy/echo.js"; }
through "$port" rewrite
expect_match "--watch reloads" "$(cat "$TMP/werr")" 'dv8: reloaded .*echo.js'
