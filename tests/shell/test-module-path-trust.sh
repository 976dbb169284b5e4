# DV8_PATH is checked as ssh checks its keys: a module there that another
# user could have written (the file or a directory on its way writable by
# others, or owned by another user) is refused with a message naming the
# path and why, and the search goes on; a module only found there fails to
# import with that reason listed. A sticky directory above (/tmp) is fine.
# Relative entries are made absolute when dv8 starts: a dv8 started from
# it in another directory still finds the modules.
source "$(dirname "$0")/lib.sh"
umask 022
add='import { add } from "apitest"; console.log(add(1, 2))'

# A module where it may be: loads (TMP is in /tmp, which is sticky).
mkdir "$TMP/good"
cp "$DV8_TEST_MODULES/apitest.so" "$TMP/good/"
DV8_PATH="$TMP/good" run_dv8 -e "$add"
expect_eq "a module in a private directory loads ($ERR)" "$OUT" "3"

# A world-writable directory: refused, and nothing else has the module.
mkdir "$TMP/open"
cp "$DV8_TEST_MODULES/apitest.so" "$TMP/open/"
chmod 0777 "$TMP/open"
DV8_PATH="$TMP/open" run_dv8 -e "$add"
expect_eq "world-writable directory: status" "$STATUS" 1
expect_match "world-writable directory: the message" "$ERR" \
  "cannot find module 'apitest' \(searched $TMP/open, .*; refused $TMP/open/apitest.so: the directory $TMP/open is writable by its group and everyone \(mode 0777\)\)"
# Sticky changes nothing for the module's own directory: anyone may still
# add a module of their own there.
chmod 1777 "$TMP/open"
DV8_PATH="$TMP/open" run_dv8 -e "$add"
expect_match "sticky module directory: refused" "$ERR" "the directory $TMP/open is writable by its group and everyone \(mode 1777\)"

# A module file writable by others.
chmod 0666 "$TMP/good/apitest.so"
DV8_PATH="$TMP/good" run_dv8 -e "$add"
expect_eq "mode 0666 file: status" "$STATUS" 1
expect_match "mode 0666 file: the message" "$ERR" \
  "refused $TMP/good/apitest.so: the file $TMP/good/apitest.so is writable by its group and everyone \(mode 0666\)"
chmod 0664 "$TMP/good/apitest.so"
DV8_PATH="$TMP/good" run_dv8 -e "$add"
expect_match "group-writable file: refused" "$ERR" "the file $TMP/good/apitest.so is writable by its group \(mode 0664\)"
chmod 0644 "$TMP/good/apitest.so"

# A directory above the module's, writable by others: refused unless sticky.
mkdir -p "$TMP/above/mods"
cp "$DV8_TEST_MODULES/apitest.so" "$TMP/above/mods/"
chmod 0777 "$TMP/above"
DV8_PATH="$TMP/above/mods" run_dv8 -e "$add"
expect_match "writable directory above: refused" "$ERR" \
  "refused $TMP/above/mods/apitest.so: the directory $TMP/above is writable by its group and everyone \(mode 0777\)"
chmod 1777 "$TMP/above"
DV8_PATH="$TMP/above/mods" run_dv8 -e "$add"
expect_eq "sticky directory above: loads ($ERR)" "$OUT" "3"

# A symbolic link is followed, and what it leads to is checked.
chmod 0777 "$TMP/open"
ln -s "$TMP/open" "$TMP/link"
DV8_PATH="$TMP/link" run_dv8 -e "$add"
expect_match "through a symbolic link: refused" "$ERR" "the directory $TMP/open is writable"

# The search goes on past a refused module, loudly: a standard module
# shadowed from a world-writable directory is not the one loaded.
cp "$DV8_BUILD/lib/dv8/os.so" "$TMP/open/"
DV8_PATH="$TMP/open" run_dv8 -e 'import { pid } from "os"; console.log(pid() === dv8.pid)'
expect_eq "the standard os loads instead" "$OUT" "true"
expect_match "and dv8 says so" "$ERR" \
  "^dv8: native module 'os': refused $TMP/open/os.so: the directory $TMP/open is writable by its group and everyone \(mode 0777\); loading $DV8_BUILD/lib/dv8/os.so instead$"

# Owned by another user (root can make one): refused, even for root.
if [ "$(id -u)" = 0 ]; then
  mkdir "$TMP/theirs"
  cp "$DV8_TEST_MODULES/apitest.so" "$TMP/theirs/"
  chown nobody "$TMP/theirs"
  DV8_PATH="$TMP/theirs" run_dv8 -e "$add"
  expect_match "another user's directory: refused" "$ERR" \
    "refused $TMP/theirs/apitest.so: the directory $TMP/theirs is owned by uid [0-9]+, neither this process's user \(uid 0\) nor root"
  chown root "$TMP/theirs"
  chown nobody "$TMP/theirs/apitest.so"
  DV8_PATH="$TMP/theirs" run_dv8 -e "$add"
  expect_match "another user's file: refused" "$ERR" "the file $TMP/theirs/apitest.so is owned by uid"
fi

# Relative entries: made absolute when dv8 starts, in its environment too,
# so that a dv8 it starts in another directory finds the same modules (it
# searched that directory's ./good before).
cd "$TMP"
DV8_PATH="good::./good" run_dv8 -e "$add; console.log(dv8.env.DV8_PATH)"
expect_eq "relative entries" "$OUT" "3
$TMP/good:$TMP/good"
cat >"$TMP/child.js" <<'EOF'
import * as proc from 'process';
const code = 'import { add } from "apitest"; console.log(add(1, 2))';
proc.exec(dv8.execPath, ['-e', code], { cwd: '/' }, (status, signal, out, err) => {
  const text = (u8) => new TextDecoder().decode(u8);
  console.log(status, text(out).trim(), text(err).trim());
});
EOF
DV8_PATH=good run_dv8 child.js
expect_eq "a dv8 started in / finds the relative entry's modules ($ERR)" "$OUT" "0 3 "
