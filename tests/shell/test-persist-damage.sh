# A store that is not one, or is damaged (docs/persist.md): a clear error
# naming the file, exit status 1, never a crash (a signal) and never a
# silent new root over it: the file is left as it was.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
cat >app.js <<'JS'
import { root } from 'persist';
root.n = (root.n ?? 0) + 1;
console.log('n', root.n);
JS
cat >fill.js <<'JS'
import { root } from 'persist';
for (let i = 0; i < 200; i++) root['k' + i] = { i, text: 'x'.repeat(500 + i), list: [i, i * 2, 'y'.repeat(i)] };
JS

# try WHAT DIR EXPECTED-ERROR-REGEX: app.js on DIR fails as expected and
# leaves DIR/main.db as it was.
try() {
  local before
  before=$(sha256sum "$2/main.db" | cut -d' ' -f1)
  run_dv8 --persist "$2" app.js
  [ "$STATUS" -lt 128 ] || fail "$1: killed by signal $((STATUS - 128)): $ERR"
  expect_eq "$1: status" "$STATUS" 1
  expect_match "$1: the error" "$ERR" "$3"
  expect_eq "$1: the file is left as it was" "$(sha256sum "$2/main.db" | cut -d' ' -f1)" "$before"
}

mkdir foreign
head -c 65536 /dev/urandom >foreign/main.db
try "random bytes" foreign "EFTYPE: .*persist: root 'main': .*/foreign/main.db: file is not a database"

mkdir text
printf 'hello, this is not a store\n' >text/main.db
try "a text file" text "EFTYPE: .*file is not a database"

mkdir other
python3 -c "import sqlite3; c = sqlite3.connect('other/main.db'); c.execute('create table t (a)'); c.execute('insert into t values (1)'); c.commit()"
try "another program's SQLite file" other "EFTYPE: .*/other/main.db is a SQLite database of another program, not a dv8 store"

mkdir newer
"$DV8" --persist newer app.js >/dev/null
python3 -c "import sqlite3; c = sqlite3.connect('newer/main.db'); c.execute('pragma user_version = 9'); c.commit()"
try "a newer format" newer "/newer/main.db was written by a newer dv8 \(format 9, this one reads 1\)"

# A store of 200 keys, then damaged in three ways.
mkdir good
"$DV8" --persist good fill.js || fail "fill"
size=$(stat -c %s good/main.db)
[ "$size" -gt 65536 ] || fail "the store is only $size bytes"
for how in truncate pages header; do
  rm -rf "$how"
  cp -r good "$how"
  case $how in
  truncate) truncate -s $((size / 2)) "$how/main.db" ;;
  pages) # every page from the third on, its first 100 bytes zeroed
    for ((p = 2; p < size / 4096; p++)); do
      dd if=/dev/zero of="$how/main.db" bs=1 seek=$((p * 4096)) count=100 conv=notrunc status=none
    done ;;
  header) # the page size in the file header made impossible
    printf '\x00\x03' | dd of="$how/main.db" bs=1 seek=16 conv=notrunc status=none ;;
  esac
  try "damaged ($how)" "$how" "EFTYPE: .*persist: .*(database disk image is malformed|file is not a database)"
done

# A value whose bytes are not MessagePack (written behind dv8's back).
mkdir badvalue
"$DV8" --persist badvalue app.js >/dev/null
python3 -c "import sqlite3; c = sqlite3.connect('badvalue/main.db'); c.execute(\"update root set v = x'c1' where k = 'n'\"); c.commit()"
try "a value that is not MessagePack" badvalue "EFTYPE: .*persist: root 'main' \(.*/badvalue/main.db\), key 'n': "

# The good copy still works: nothing above touched it.
run_dv8 --persist good app.js
expect_eq "the undamaged store" "$OUT" "n 1"
