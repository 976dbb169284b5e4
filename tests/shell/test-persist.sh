# The persistent root (docs/persist.md): what a program changes is there at
# its next start, a turn at a time; a turn that throws commits nothing;
# one process at a time; threads have roots of their own; reload and
# upgrade go on from the same root; wrong values and options are clear
# errors.
source "$(dirname "$0")/lib.sh"
cd "$TMP"

# --- values and turns ---
cat >count.js <<'JS'
import { root } from 'persist';
root.n = (root.n ?? 0) + 1;
root.list ??= [];
root.list.push(root.n);
root.nested ??= { a: { b: [] } };
root.nested.a.b.push({ at: root.n });
root.map ??= new Map();
root.map.set(`k${root.n}`, root.n);
root.bytes ??= new Uint8Array(4);
root.bytes[root.n % 4] = root.n;
root.when = new Date(1e12 + root.n);
root.big = 2n ** 70n + BigInt(root.n);
delete root.gone;
if (root.n === 1) root.gone = 'here once';
console.log(JSON.stringify({ n: root.n, list: root.list, b: root.nested.a.b.length,
  map: [...root.map], bytes: [...root.bytes], when: root.when.getTime(),
  big: String(root.big), gone: root.gone, keys: Object.keys(root) }));
JS
for i in 1 2 3; do run_dv8 --persist store count.js; expect_eq "run $i status" "$STATUS" 0; done
expect_eq "the third run saw the first two's turns" "$OUT" \
  '{"n":3,"list":[1,2,3],"b":3,"map":[["k1",1],["k2",2],["k3",3]],"bytes":[0,1,2,3],"when":1000000000003,"big":"1180591620717411303427","keys":["n","list","nested","map","bytes","when","big"]}'
expect_eq "the store's files" "$(ls store | tr '\n' ' ')" "main.db main.lock "
expect_eq "private files" "$(stat -c %a store/main.db store/main.lock | tr '\n' ' ')" "600 600 "

cat >turns.js <<'JS'
import { root, onError } from 'persist';
import * as net from 'net';
const what = dv8.args[0];
console.log(JSON.stringify(root));
if (what === 'timer') { root.a = 'top'; setTimeout(() => { root.b = 'timer'; }, 5); }
if (what === 'throw') { root.a = 'thrown'; setTimeout(() => { root.b = 'never'; }, 5); throw new Error('boom'); }
if (what === 'throw-later') setTimeout(() => { root.c = 'thrown'; throw new Error('late'); }, 5);
if (what === 'reject') { root.a = 'rejected'; Promise.reject(new Error('no')); }
if (what === 'exit') { root.a = 'exit'; dv8.exit(3); }
if (what === 'caught') { try { root.a = 'caught'; throw new Error('x'); } catch {} }
if (what === 'bad') {
  for (const f of [() => { root.f = () => 1; }, () => { root[Symbol('s')] = 1; }, () => { root.list = [1, () => 2]; },
    () => Object.defineProperty(root, 'g', { get() { return 1; } })])
    try { f(); console.log('stored'); } catch (e) { console.log(e.constructor.name + ': ' + e.message); }
  const server = net.listen({ host: '127.0.0.1', port: 0 }, {});
  try { root.holder = { server }; } catch (e) { console.log(e.constructor.name + ': ' + e.message); }
  server.close();
}
JS
run_dv8 --persist s2 turns.js timer
run_dv8 --persist s2 turns.js throw
expect_eq "a timer's turn commits" "$OUT" '{"a":"top","b":"timer"}'
expect_eq "a turn that throws: status" "$STATUS" 1
run_dv8 --persist s2 turns.js throw-later
expect_eq "...commits nothing" "$OUT" '{"a":"top","b":"timer"}'
run_dv8 --persist s2 turns.js reject
expect_eq "a later turn that throws commits nothing" "$OUT" '{"a":"top","b":"timer"}'
expect_eq "an unhandled rejection: status" "$STATUS" 1
run_dv8 --persist s2 turns.js exit
expect_eq "...commits nothing either" "$OUT" '{"a":"top","b":"timer"}'
expect_eq "dv8.exit(3): status" "$STATUS" 3
run_dv8 --persist s2 turns.js caught
expect_eq "dv8.exit() ends the turn and commits it" "$OUT" '{"a":"exit","b":"timer"}'
run_dv8 --persist s2 turns.js bad
expect_eq "an exception caught in the turn is no throw" "$(head -n 1 <<<"$OUT")" '{"a":"caught","b":"timer"}'
expect_eq "what cannot be stored" "$(tail -n 5 <<<"$OUT")" "TypeError: persist: root.f: cannot store a function
TypeError: persist: a root's keys are strings
SerdesError: root.list[1]: cannot serialize a function
TypeError: persist: root.g: a getter or setter cannot be stored
TypeError: persist: root.holder.server: a handle (Server) cannot be stored: handles do not outlive the process (store what reopens it)"

# --- one process at a time, and clear errors ---
cat >hold.js <<'JS'
import { root } from 'persist';
root.held = true;
console.log('holding');
setTimeout(() => {}, 3000);
JS
"$DV8" --persist s3 hold.js >hold.out 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q holding hold.out 2>/dev/null && break; sleep 0.05; done
run_dv8 --persist s3 hold.js
expect_eq "a second process: status" "$STATUS" 1
expect_match "...says who holds it" "$ERR" "EBUSY: resource busy or locked, persist: root 'main' \(.*/s3/main.db\) is open in another process \(pid ${pids[-1]}\)"
kill "${pids[-1]}"
run_dv8 hold.js
expect_eq "no --persist: status" "$STATUS" 1
expect_match "...says so" "$ERR" "persist: no store directory: run dv8 with --persist DIR"
touch afile
run_dv8 --persist afile hold.js
expect_eq "--persist on a file: status" "$STATUS" 2
expect_match "...says so" "$ERR" "dv8: --persist afile: (Not a directory|not a directory)"
run_dv8 --persist s4 --persist-sync 0 hold.js
expect_eq "--persist-sync 0: status" "$STATUS" 2
expect_eq "...says so" "$ERR" "dv8: --persist-sync needs turn or a number of ms (1 to 60000)"
run_dv8 --persist-sync 10 hold.js
expect_eq "--persist-sync alone" "$ERR" "dv8: --persist-sync goes with --persist DIR"
run_dv8 --persist s4 -e "import { open } from 'persist'; try { open('../x') } catch (e) { console.log(e.message) }"
expect_eq "a name that is not one" "$OUT" "persist: a root's name is 1 to 64 letters, digits, '_', '-' or '.' (not first), not '../x'"

# --- threads: a root each, no sharing ---
cat >worker.js <<'JS'
import { open, root } from 'persist';
import { parent } from 'thread';
export default function (name) {
  try { root.x = 1; } catch (e) { parent.send(e.message); }
  try { open('main'); } catch (e) { parent.send(e.message); }
  const mine = open(name);
  mine.n = (mine.n ?? 0) + 1;
  return mine.n;
}
JS
cat >threads.js <<'JS'
import { root } from 'persist';
import { spawn } from 'thread';
root.runs = (root.runs ?? 0) + 1;
let left = 2;
const results = [];
for (const name of ['w1', 'w2']) {
  const t = spawn('./worker.js', { args: [name] });
  t.onMessage = (m) => console.log(name, m);
  t.onExit = (code, result) => { results.push(`${name}=${result}`); if (--left === 0) console.log(root.runs, results.sort().join(' ')); };
}
JS
run_dv8 --persist s5 threads.js
run_dv8 --persist s5 threads.js
expect_eq "thread roots: status" "$STATUS" 0
expect_eq "each thread its own root" "$(tail -n 1 <<<"$OUT")" "2 w1=2 w2=2"
expect_eq "a thread's root needs a name" "$(grep -c "^w[12] persist: a thread's root needs a name: open(name)$" <<<"$OUT")" 2
expect_match "main is the main thread's" "$OUT" "w2 EBUSY: resource busy or locked, persist: root 'main' is open in another thread of this process"
expect_eq "files" "$(ls s5 | tr '\n' ' ')" "main.db main.lock w1.db w1.lock w2.db w2.lock "

# --- reload and upgrade: the same root, each change once ---
cat >app.js <<'JS'
import { root } from 'persist';
import { pid } from 'os';
export const version = 1;
let timer;
export function load() {
  root.loads = (root.loads ?? 0) + 1;
  (root.versions ??= []).push(version);
  timer = setInterval(() => { root.ticks = (root.ticks ?? 0) + 1; }, 10);
  console.log(`${pid()} load ${JSON.stringify(root.versions)} ${root.unloads ?? 0}`);
}
export function unload() {
  clearInterval(timer);
  root.unloads = (root.unloads ?? 0) + 1;
  return {};
}
JS
"$DV8" --persist s6 app.js >app.out 2>app.err &
pid=$!
pids+=($pid)
for _ in $(seq 100); do grep -q load app.out && break; sleep 0.05; done
sed -i 's/version = 1/version = 2/' app.js
"$DV8" reload "$pid" >/dev/null || fail "reload: $(cat app.err)"
"$DV8" upgrade "$pid" >/dev/null || fail "upgrade: $(cat app.err)"
new=$(tail -n 1 app.out | awk '{ print $1 }')
[ "$new" != "$pid" ] || fail "the upgrade did not take: $(cat app.out)"
pids+=($new)
kill "$new"
for _ in $(seq 100); do kill -0 "$new" 2>/dev/null || break; sleep 0.05; done
expect_eq "reload, upgrade: what each load saw" "$(awk '{ $1 = ""; print }' app.out)" " load [1] 0
 load [1,2] 1
 load [1,2,2] 2"
run_dv8 --persist s6 -e "import { root } from 'persist'; console.log(root.loads, root.unloads, root.ticks > 0)"
expect_eq "and after the end, each change once" "$OUT" "3 2 true"

# --- an object the program keeps: changes made later through it count ---
cat >kept.js <<'JS'
import { root } from 'persist';
const state = root.state ??= { count: 0 };   // the first run: this very object
const seen = root.seen ?? (root.seen = new Map());
const log = (root.log ??= []);
let n = 0;
const t = setInterval(() => {
  state.count++;
  seen.set(`t${state.count}`, n);
  log.push(n++);
  if (n === 3) { clearInterval(t); console.log(JSON.stringify([state.count, [...seen.keys()], log.length])); }
}, 5);
JS
run_dv8 --persist s7 kept.js
expect_eq "first run" "$OUT" '[3,["t1","t2","t3"],3]'
run_dv8 --persist s7 kept.js
expect_eq "second run: the first run's later changes were kept" "$OUT" '[6,["t1","t2","t3","t4","t5","t6"],6]'

# --- the example ---
run_dv8 --persist s8 "$ROOT/examples/persist.js"
expect_eq "the example, first start" "$OUT" "start 1: 0 ticks so far, the last at none yet"
run_dv8 --persist s8 "$ROOT/examples/persist.js"
expect_match "the example, second start" "$OUT" "^start 2: 5 ticks so far, the last at 20[0-9-]+T"
