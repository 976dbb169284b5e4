# tty: reading stdin into a buffer handed over once, from a pipe and from a
# file, with every byte arriving intact (checksums), and writes to stdout.
source "$(dirname "$0")/lib.sh"

cat >"$TMP/cat.js" <<'JS'
import { readStart, write, close, counters, EOF } from 'tty';
const buf = new Uint8Array(16384);
const id = readStart(0, buf, (n) => {
  if (n === EOF) {
    const c = counters(id);
    console.error(JSON.stringify({ bytes: c.bytes_read, ends: c.ends, errors: c.errors }));
    return close(id);
  }
  if (n < 0) throw new Error('read error ' + n);
  const w = write(1, buf.subarray(0, n));
  if (w !== n) throw new Error('short write ' + w);
});
JS
head -c 5000000 /dev/urandom >"$TMP/in.bin"
expected=$(md5sum <"$TMP/in.bin")
size=$(stat -c %s "$TMP/in.bin")

got=$(cat "$TMP/in.bin" | "$DV8" "$TMP/cat.js" 2>"$TMP/counters" | md5sum)
expect_eq "pipe checksum" "$got" "$expected"
expect_eq "pipe counters" "$(cat "$TMP/counters")" "{\"bytes\":$size,\"ends\":1,\"errors\":0}"

got=$("$DV8" "$TMP/cat.js" <"$TMP/in.bin" 2>"$TMP/counters" | md5sum)
expect_eq "file checksum" "$got" "$expected"
expect_eq "file counters" "$(cat "$TMP/counters")" "{\"bytes\":$size,\"ends\":1,\"errors\":0}"

got=$("$DV8" "$TMP/cat.js" </dev/null 2>"$TMP/counters" | wc -c)
expect_eq "empty input" "$got" 0

# Writing to a closed pipe is a code (EPIPE), not a crash.
set +e
"$DV8" -e 'import { write } from "tty"; let r; for (let i = 0; i < 100 && !(r < 0); i++) r = write(1, new Uint8Array(65536)); console.error(r)' 2>"$TMP/err" | head -c 1 >/dev/null
set -e
expect_eq "EPIPE" "$(cat "$TMP/err")" "-32"

run_dv8 -e 'import { readStart } from "tty"; readStart("0", new Uint8Array(1), () => {})'
expect_match "bad fd type" "$ERR" "TypeError: readStart: argument 1 must be an integer \(got string\)"
run_dv8 -e 'import { readStart } from "tty"; readStart(0, new Uint8Array(0), () => {})'
expect_match "empty buffer" "$ERR" "TypeError: readStart: buffer must hold"
