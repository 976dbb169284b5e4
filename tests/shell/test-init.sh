# Supervisors (docs/processes.md, "Under a supervisor"). dv8 --init stays
# the started process while the program runs in its child: after `dv8
# upgrade` of the started pid the new process is its child (the old one
# reaped, no zombie), connections go on, HUP reloads the program, `dv8
# stats` works with the started pid, SIGTERM ends the program and `wait`
# gets 143; the program's own status (dv8.exit(7) after an upgrade) is the
# supervisor's. systemd's notifications: without --init, READY=1 at start,
# MAINPID of the new process from the old one at an upgrade, READY=1 from
# the new one, STOPPING=1 at the end; with --init, only READY, RELOADING
# and STOPPING go up, never a MAINPID. DV8_INIT=0 turns --init off.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
cat >app.js <<'JS'
import * as fs from 'fs';
import * as net from 'net';
let server;
const handlers = { data(s, b) { s.write(b); } };
export function load(state) {
  server = state?.server.reload(handlers) ?? net.listen({ port: Number(dv8.args[0]) }, handlers);
  console.log(`loaded ${dv8.pid}`);
  setInterval(() => { if (fs.existsSync('exit7')) dv8.exit(7); }, 20);
}
export function unload() { return { server }; }
JS
# A systemd stand-in: every datagram on notify.sock, one per line (\n in
# a message shown as |).
cat >notify.py <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print('listening', flush=True)
while True:
    print(s.recv(4096).decode().replace('\n', '|'), flush=True)
PY
echo_ok() { # PORT: one round trip
  python3 - "$1" <<'PY'
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.sendall(b'ping')
assert s.recv(4) == b'ping'
PY
}
loaded_count() { grep -c '^loaded ' app.out || true; }
wait_loaded() { # N
  for _ in $(seq 200); do [ "$(loaded_count)" -ge "$1" ] && return 0; sleep 0.05; done
  fail "not loaded $1 times: $(cat app.out app.err)"
}
notify_start() { # FILE
  rm -f notify.sock
  python3 notify.py "$TMP/notify.sock" >"$1" &
  pids+=($!)
  for _ in $(seq 100); do grep -q listening "$1" && return 0; sleep 0.05; done
  fail "the notify stand-in did not start"
}

# --init: one pid through an upgrade, a reload, stats and the end.
port=$(free_port)
notify_start outer.log
NOTIFY_SOCKET="$TMP/notify.sock" "$DV8" --init app.js "$port" >app.out 2>app.err &
sup=$!
pids+=($sup)
wait_loaded 1
wait_port "$port"
first=$(sed -n 's/^loaded //p' app.out | head -1)
[ "$first" != "$sup" ] || fail "the program runs in the supervisor's own process"
expect_eq "the program is the supervisor's child" "$(ps -o ppid= -p "$first" | tr -d ' ')" "$sup"
run_dv8 upgrade "$sup"
expect_eq "upgrade by the started pid ($ERR)" "$STATUS" 0
wait_loaded 2
second=$(sed -n 's/^loaded //p' app.out | sed -n 2p)
gone "$first" 10
running "$sup" || fail "the supervisor ended with the first process"
expect_eq "the new process is the supervisor's child" "$(ps -o ppid= -p "$second" | tr -d ' ')" "$sup"
expect_eq "no zombie left" "$(ps -o stat= --ppid "$sup" | grep -c Z || true)" 0
echo_ok "$port"
kill -HUP "$sup"
wait_loaded 3
expect_eq "HUP reloaded the program in place" "$(sed -n 's/^loaded //p' app.out | sed -n 3p)" "$second"
run_dv8 stats "$sup"
expect_eq "stats by the started pid ($ERR)" "$STATUS" 0
expect_match "stats are the program's" "$OUT" 'dv8_reloads_total\{outcome="ok"\} 1'
kill -TERM "$sup"
set +e
wait "$sup"
status=$?
set -e
expect_eq "SIGTERM passed on: the status" "$status" 143
gone "$second" 5
sleep 0.2
outer=$(grep -v listening outer.log | tr '\n' ' ')
# (the second READY=1 is the new process's after the upgrade)
expect_match "the supervisor told its supervisor" "$outer" '^READY=1 READY=1 RELOADING=1 READY=1 STOPPING=1 $'
grep -q MAINPID outer.log && fail "a MAINPID went up: $(cat outer.log)"
[ ! -e "${XDG_RUNTIME_DIR:-/tmp/dv8-$(id -u)}/$sup.sock" ] || [ -n "${XDG_RUNTIME_DIR:-}" ] ||
  fail "the control socket's link outlived the supervisor"

# The program's own status, after an upgrade.
port=$(free_port)
rm -f exit7
: >app.out
"$DV8" --init app.js "$port" >app.out 2>app.err &
sup=$!
pids+=($sup)
wait_loaded 1
run_dv8 upgrade "$sup"
expect_eq "second upgrade ($ERR)" "$STATUS" 0
wait_loaded 2
touch exit7
set +e
wait "$sup"
status=$?
set -e
expect_eq "the program's dv8.exit(7) is the supervisor's status" "$status" 7

# Without --init: systemd's messages straight from the processes.
port=$(free_port)
rm -f exit7
: >app.out
notify_start direct.log
NOTIFY_SOCKET="$TMP/notify.sock" DV8_INIT=0 "$DV8" app.js "$port" >app.out 2>app.err &
old=$!
pids+=($old)
wait_loaded 1
run_dv8 upgrade "$old"
expect_eq "upgrade without --init ($ERR)" "$STATUS" 0
wait_loaded 2
new=$(sed -n 's/^loaded //p' app.out | sed -n 2p)
pids+=($new)
gone "$old" 10
kill -TERM "$new"
gone "$new" 10
sleep 0.2
direct=$(grep -v listening direct.log | sort | tr '\n' ' ')
expect_eq "notifications without --init" "$direct" \
  "$(printf '%s\n' READY=1 "MAINPID=$new" "MAINPID=$new|READY=1" STOPPING=1 | sort | tr '\n' ' ')"

# DV8_INIT=0 wins over --init; --init's pid is not the program's.
run_dv8 --init -e 'console.log(dv8.pid)'
expect_eq "--init -e runs" "$STATUS" 0
DV8_INIT=0 "$DV8" --init -e 'console.log(dv8.pid)' >pid.out &
p=$!
wait "$p"
expect_eq "DV8_INIT=0: no supervisor" "$(cat pid.out)" "$p"
"$DV8" --init -e 'console.log(dv8.pid)' >pid.out &
p=$!
wait "$p"
[ "$(cat pid.out)" != "$p" ] || fail "--init ran the program in its own process"
