# stdin/stdout data paths with 100 MiB of random bytes: pipecat keeps every
# byte (checksum), count.js reports the exact size, a slow reader downstream
# loses nothing while dv8's memory stays bounded, and the counters balance.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

head -c $((100 * 1024 * 1024)) /dev/urandom >"$TMP/test.bin"
size=$(stat -c %s "$TMP/test.bin")
expected=$(md5sum <"$TMP/test.bin")

got=$(cat "$TMP/test.bin" | DV8_COUNTERS=1 "$DV8" examples/pipecat.js 2>"$TMP/counters" | md5sum)
expect_eq "pipecat checksum" "$got" "$expected"

# Counter invariants (see modules/net/README.md): every byte read was
# written; every write() was accepted; each queued write paused stdin once
# and each drain resumed it (readStart is the first resume).
check_counters() { # file name
  node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
    const by = Object.fromEntries(lines.map((c) => [c.name, c]));
    const size = Number(process.argv[2]);
    const fail = (m) => { console.error("counters: " + m + "\n" + JSON.stringify(by, null, 1)); process.exit(1); };
    const { stdin, stdout } = by;
    if (stdin.bytes_read !== size) fail("stdin read " + stdin.bytes_read);
    if (stdout.bytes_written !== stdin.bytes_read) fail("stdout written != stdin read");
    if (stdin.pauses !== stdin.resumes - 1) fail("stdin pauses != resumes - 1");
    if (stdin.pauses !== stdout.writes_queued) fail("a pause per queued write");
    if (stdout.writes !== stdin.reads) fail("a write per read");
    if (stdout.writes_eagain > stdout.writes_queued) fail("eagain is a subset of queued");
    if (stdout.writes_full !== 0) fail("no write refused (pipecat waits for drain)");
    for (const c of [stdin, stdout]) {
      if (c.closes !== 1 || c.errors !== 0) fail(c.name + " closes/errors");
      if (c.buffers_allocated !== c.buffers_freed) fail(c.name + " buffers allocated != freed");
    }
    if (stdin.ends !== 1) fail("stdin ends");
  ' "$1" "$2" || fail "counter invariants"
}
check_counters "$TMP/counters" "$size"

out=$(cat "$TMP/test.bin" | "$DV8" examples/count.js)
expect_eq "count.js first number" "${out%% *}" "$size"

# A slow reader: nothing lost, and dv8's peak RSS stays bounded: the write
# queue is capped at 1 MiB, so pipecat needs little more than an idle dv8
# of the same build (measured here, so that sanitizer builds compare alike).
/usr/bin/time -f '%M' -o "$TMP/rss-idle" "$DV8" -e '' || fail "idle dv8"
idle=$(tail -1 "$TMP/rss-idle")
got=$(cat "$TMP/test.bin" | /usr/bin/time -f '%M' -o "$TMP/rss" "$DV8" examples/pipecat.js | (sleep 1; cat) | md5sum)
expect_eq "slow reader checksum" "$got" "$expected"
rss=$(tail -1 "$TMP/rss")
[ "$rss" -lt $((idle + 32 * 1024)) ] ||
  fail "pipecat peak RSS ${rss} KB with a slow reader, idle dv8 ${idle} KB (want < idle + 32 MB)"

# stdin from a regular file and stdout to a regular file.
"$DV8" examples/pipecat.js <"$TMP/test.bin" >"$TMP/copy.bin"
expect_eq "file to file" "$(md5sum <"$TMP/copy.bin")" "$expected"

# Steady state allocates nothing on the JS heap: 1 GiB through count.js's
# read path triggers no garbage collection at all.
cat >"$TMP/gc.js" <<'JS'
import { open, readStart, close } from 'net';
const stdin = open(0);
const buffer = new Uint8Array(65536);
const total = new Float64Array(1);
const before = dv8.memoryUsage();
readStart(stdin, buffer, (n) => {
  if (n > 0) { total[0] += n; return; }
  const after = dv8.memoryUsage();
  close(stdin);
  console.log(total[0], after.markSweeps - before.markSweeps, after.scavenges - before.scavenges);
});
JS
out=$(head -c $((1024 * 1024 * 1024)) /dev/zero | "$DV8" "$TMP/gc.js")
expect_eq "1 GiB read: bytes, mark-sweeps, scavenges" "$out" "1073741824 0 0"
