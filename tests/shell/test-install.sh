# make install PREFIX=...: the installed binary runs from anywhere and finds
# its modules (and libnode) next to itself, through ../lib/dv8.
source "$(dirname "$0")/lib.sh"
make -s -C "$ROOT" install PREFIX="$TMP/prefix" SAN="${SAN:-}" >"$TMP/make.log" 2>&1 ||
  { cat "$TMP/make.log" >&2; fail "make install failed"; }
for f in bin/dv8 lib/dv8/os.so lib/dv8/fs.so lib/dv8/timers.so lib/dv8/tty.so lib/dv8/libnode.so.108 include/dv8.h; do
  [ -e "$TMP/prefix/$f" ] || fail "make install did not install $f"
done
cd "$TMP"
out=$(env -u DV8_PATH "$TMP/prefix/bin/dv8" -e 'import { pid } from "os"; console.log(pid() === dv8.pid, typeof setTimeout)')
expect_eq "installed dv8 runs and finds os.so" "$out" "true function"
runpath=$(readelf -d "$TMP/prefix/bin/dv8" | sed -n 's/.*RUNPATH.*\[\(.*\)\]/\1/p')
expect_match "run path starts next to the binary" "$runpath" '^\$ORIGIN/\.\./lib/dv8'
