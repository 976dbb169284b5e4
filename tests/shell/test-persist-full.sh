# A full disk (docs/persist.md): the commit of a turn fails with an Error
# in JS (persist.onError, code ENOSPC), the program goes on, and what the
# failed turns changed stays in memory and is committed once there is room
# again: nothing is lost. The store lives on a 2 MiB tmpfs, mounted in a
# mount namespace of its own.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
cat >app.js <<'JS'
import { root, onError, flush } from 'persist';
import * as fs from 'fs';
let i = 0, failed = null;
onError((err, name) => {
  if (failed !== null) return;
  failed = err;
  console.log(`error ${name} ${err.code} ${err instanceof Error}`);
  // The program goes on; the test makes room, then the file "room" appears.
  const wait = setInterval(() => {
    if (!fs.existsSync(dv8.args[0])) return;
    clearInterval(wait);
    flush(); // throws if there is still no room
    console.log(`committed ${Object.keys(root).length} keys`);
  }, 20);
});
const add = setInterval(() => {
  if (failed !== null) return clearInterval(add);
  root['k' + i] = String(i).repeat(16384 / String(i).length | 0);
  i++;
}, 1);
JS
cat >check.js <<'JS'
import { root } from 'persist';
const keys = Object.keys(root);
const whole = keys.every((k, i) => k === 'k' + i && root[k].startsWith(String(i)) && root[k].length >= 16000);
console.log(`${keys.length} keys ${whole ? 'whole' : 'BROKEN'}`);
JS
# story.sh DIR: the program on a store in DIR, 1 MiB of DIR taken by a
# filler; once it says the disk is full, the filler goes and "room" is
# made. Prints what it said, and the check of the store after it.
cat >story.sh <<STORY
set -e
head -c 1048576 /dev/zero >\$1/filler
"$DV8" --persist \$1/store app.js $TMP/room >out 2>err &
pid=\$!
for _ in \$(seq 200); do grep -q '^error' out && break; sleep 0.05; done
rm -f \$1/filler
touch $TMP/room
wait \$pid
cat out err
"$DV8" --persist \$1/store check.js
STORY
mkdir mnt
mount_cmd="mount -t tmpfs -o size=2m tmpfs $TMP/mnt"
if unshare -m sh -c "$mount_cmd" 2>/dev/null; then
  result=$(unshare -m bash -c "$mount_cmd && bash story.sh $TMP/mnt" 2>&1) || true
elif unshare -rm sh -c "$mount_cmd" 2>/dev/null; then
  result=$(unshare -rm bash -c "$mount_cmd && bash story.sh $TMP/mnt" 2>&1) || true
else
  fail "no tmpfs can be mounted here (as root in a mount namespace, or in a user namespace): this test needs one"
fi
n=$(sed -n 's/^committed \([0-9]*\) keys$/\1/p' <<<"$result")
[ -n "$n" ] || fail "no commit after room came back: $result"
[ "$n" -gt 20 ] || fail "only $n keys before the disk was full: $result"
expect_eq "the error in JS, the commit later, all there after a restart" "$result" "error main ENOSPC true
committed $n keys
$n keys whole"
