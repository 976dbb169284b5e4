# The REPL with --persist (docs/persist.md): v8-ken's transcript. Define a
# counter factory and two counters, call them, kill -9 the process, start
# again: the counters go on (a() gave 0, 1, 2, 3 before and gives 4 after;
# b() 0, 1 then 2). The journal keeps inputs that ran (not one that threw),
# waits for one that awaits, and replays without printing.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
mkfifo in
"$DV8" --persist store <in >out 2>err &
pid=$!
pids+=($pid)
exec 3>in
cat >&3 <<'IN'
function create_counter() { let n = 0; return () => n++; }
var a = create_counter();
var b = create_counter();
a()
a()
a()
a()
b()
b()
nope()
const later = await new Promise((resolve) => setTimeout(() => resolve(42), 20));
console.log('printed once')
'marker'
IN
for _ in $(seq 100); do grep -q marker out && break; sleep 0.05; done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
exec 3>&-
expect_eq "before the crash" "$(cat out)" "undefined
undefined
undefined
0
1
2
3
0
1
undefined
printed once
undefined
'marker'"
expect_match "the input that threw" "$(cat err)" "Uncaught ReferenceError: nope is not defined"

printf 'a()\nb()\nlater\n' | "$DV8" --persist store >out 2>err
expect_eq "after kill -9: the counters go on, the await's value is there, nothing printed twice" "$(cat out)" "4
2
42"
expect_eq "nothing on stderr" "$(cat err)" ""
printf "await import('persist').then((p) => p.root.x).catch((e) => e.message)\n" | "$DV8" --persist store >out 2>err
expect_eq "the root is not the REPL's" "$(cat out)" "'persist: the REPL keeps its state by replaying its inputs (docs/persist.md); a root would see each change twice'"
printf 'a()\n' | "$DV8" --persist store >out 2>err
expect_eq "each start replays what the one before added" "$(cat out)" "5"
expect_eq "the journal's file" "$(ls store | tr '\n' ' ')" "repl.db repl.lock "
