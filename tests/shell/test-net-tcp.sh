# TCP data paths with 100 MiB of random bytes: netcat to a listening netcat,
# and netcat through the echo server, every byte intact (checksums), with
# the counters of a netcat run balanced.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

head -c $((100 * 1024 * 1024)) /dev/urandom >"$TMP/test.bin"
size=$(stat -c %s "$TMP/test.bin")
expected=$(md5sum <"$TMP/test.bin")


# netcat -l receives what netcat sends.
port=$(free_port)
"$DV8" examples/netcat.js -l "$port" </dev/null >"$TMP/received.bin" &
pids+=($!)
sleep 0.3
"$DV8" examples/netcat.js 127.0.0.1 "$port" <"$TMP/test.bin" >/dev/null ||
  fail "sending netcat exited $?"
wait "${pids[-1]}" || fail "listening netcat exited $?"
expect_eq "netcat to netcat -l" "$(md5sum <"$TMP/received.bin")" "$expected"

# Through the echo server, with counters.
port=$(free_port)
"$DV8" examples/echo.js "$port" >/dev/null &
pids+=($!)
wait_port "$port"
got=$(cat "$TMP/test.bin" | DV8_COUNTERS=1 "$DV8" examples/netcat.js 127.0.0.1 "$port" 2>"$TMP/counters" | md5sum)
expect_eq "netcat through echo" "$got" "$expected"
node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
  const by = Object.fromEntries(lines.map((c) => [c.name, c]));
  const size = Number(process.argv[2]);
  const fail = (m) => { console.error("counters: " + m + "\n" + JSON.stringify(by, null, 1)); process.exit(1); };
  const { stdin, stdout, socket } = by;
  if (stdin.bytes_read !== size || socket.bytes_written !== size) fail("sent bytes");
  if (socket.bytes_read !== size || stdout.bytes_written !== size) fail("received bytes");
  if (stdout.bytes_written !== stdin.bytes_read) fail("stdout written != stdin read");
  if (stdin.pauses !== stdin.resumes - 1) fail("stdin pauses != resumes - 1");
  if (socket.pauses !== socket.resumes - 1) fail("socket pauses != resumes - 1");
  if (stdin.pauses !== socket.writes_queued) fail("a stdin pause per queued socket write");
  if (socket.pauses !== stdout.writes_queued) fail("a socket pause per queued stdout write");
  for (const c of [stdin, stdout, socket]) {
    if (c.closes !== 1 || c.errors !== 0) fail(c.name + " closes/errors");
    if (c.buffers_allocated !== c.buffers_freed) fail(c.name + " buffers allocated != freed");
    if (c.writes_full !== 0) fail(c.name + " refused writes");
  }
  if (stdin.ends !== 1 || socket.ends !== 1) fail("ends");
' "$TMP/counters" "$size" || fail "counter invariants"

# Several clients at once through the same server.
for i in 1 2 3 4; do
  head -c 3000000 "$TMP/test.bin" | "$DV8" examples/netcat.js 127.0.0.1 "$port" >"$TMP/out$i" &
  pids+=($!)
done
for i in 1 2 3 4; do wait "${pids[-$i]}" || fail "client exited $?"; done
small=$(head -c 3000000 "$TMP/test.bin" | md5sum)
for i in 1 2 3 4; do expect_eq "client $i" "$(md5sum <"$TMP/out$i")" "$small"; done

# Connecting to a port nobody listens on is a clear error.
kill "${pids[1]}"
wait "${pids[1]}" 2>/dev/null || true
run_dv8 examples/netcat.js 127.0.0.1 "$port"
expect_eq "refused status" "$STATUS" 1
expect_eq "refused message" "$ERR" "netcat: connect to 127.0.0.1:$port: ECONNREFUSED (connection refused)"
