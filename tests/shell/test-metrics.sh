# Metrics (docs/metrics.md): an echo server with --metrics and a thread;
# after 40 connections that each send a known number of bytes, `dv8 stats
# PID` and GET /metrics agree with what happened: connections opened and
# open, bytes read and written (exactly what the clients sent), thread
# messages both ways, runtimes, reloads ok and failed with their
# histograms. promtool (Debian's prometheus package) checks both texts.
# Hostile peers of the endpoint get 400, 405, 404, 431, and the endpoint
# goes on; bad --metrics values and a port in use are clear errors.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
command -v promtool >/dev/null || fail "promtool is missing (make deps installs prometheus)"
port=$(free_port)
mport=$(free_port)
cat >app.js <<'JS'
import * as net from 'net';
import { spawn } from 'thread';
let server, t;
export function load(state) {
  if (state !== undefined) return ({ server, t } = state);
  t = spawn(async () => {
    const { parent } = await import('thread');
    parent.onMessage = (m) => parent.send(m + 1);
  });
  let got = 0;
  t.onMessage = () => { if (++got < 100) t.send(got); else console.log('thread done'); };
  t.send(0);
  server = net.listen({ port: Number(dv8.args[0]) }, { data(sock, bytes) { sock.write(bytes); } });
}
export function unload() { return { server, t }; }
JS
"$DV8" --metrics "$mport" app.js "$port" >app.out 2>app.err &
pid=$!
pids+=($pid)
wait_port "$port"
for _ in $(seq 100); do grep -q 'thread done' app.out && break; sleep 0.05; done
grep -q 'thread done' app.out || fail "the thread's messages did not all come back: $(cat app.out app.err)"

# 40 connections; connection i sends i*100+1 bytes and reads them back; 10
# stay open until the test ends.
cat >clients.py <<'PY'
import socket, sys
port = int(sys.argv[1])
socks = []
for i in range(40):
    s = socket.create_connection(('127.0.0.1', port))
    data = bytes([i]) * (i * 100 + 1)
    s.sendall(data)
    back = b''
    while len(back) < len(data):
        back += s.recv(65536)
    assert back == data, i
    socks.append(s)
for s in socks[:30]:
    s.close()
print('ready', flush=True)
import time
time.sleep(120)
PY
python3 clients.py "$port" >clients.out &
pids+=($!)
for _ in $(seq 200); do grep -q ready clients.out && break; sleep 0.05; done
grep -q ready clients.out || fail "the clients did not get their bytes back"
sent=$(python3 -c 'print(sum(i * 100 + 1 for i in range(40)))')
# The closes reach the server a moment later.
for _ in $(seq 100); do
  run_dv8 stats "$pid"
  grep -q '^dv8_handles_open{type="stream"} 11$' <<<"$OUT" && break
  sleep 0.05
done
expect_eq "stats' status ($ERR)" "$STATUS" 0
printf '%s\n' "$OUT" >stats.txt
promtool check metrics <stats.txt || fail "promtool refused dv8 stats' text"
value() { grep -E "^$1 " stats.txt | awk '{ print $2 }'; }
# The wait_port probe made one connection too, and the listener is one.
expect_eq "streams opened" "$(value 'dv8_handles_opened_total\{type="stream"\}')" 42
expect_eq "streams open (the listener and 10 clients)" "$(value 'dv8_handles_open\{type="stream"\}')" 11
expect_eq "bytes read" "$(value 'dv8_handle_bytes_read_total\{type="stream"\}')" "$sent"
expect_eq "connections accepted (net's counter, ABI 6)" "$(value dv8_net_connections_accepted_total)" 41
expect_eq "bytes written" "$(value 'dv8_handle_bytes_written_total\{type="stream"\}')" "$sent"
expect_eq "runtimes: main and the thread" "$(value dv8_runtimes)" 2
# The parent's port received 100 messages; the thread's, published from its
# loop within a second, 100 more.
for _ in $(seq 60); do
  run_dv8 stats "$pid"
  printf '%s\n' "$OUT" >stats.txt
  [ "$(value 'dv8_handle_reads_total\{type="port"\}')" = 200 ] && break
  sleep 0.05
done
expect_eq "thread messages received, both ends" "$(value 'dv8_handle_reads_total\{type="port"\}')" 200
expect_eq "reloads before any" "$(value 'dv8_reloads_total\{outcome="ok"\}')" 0

run_dv8 reload "$pid"
expect_eq "reload ($ERR)" "$STATUS" 0
echo 'broken(' >>app.js
run_dv8 reload "$pid"
expect_eq "a failed reload" "$STATUS" 1
curl -sf "http://127.0.0.1:$mport/metrics" >http.txt || fail "GET /metrics failed"
promtool check metrics <http.txt || fail "promtool refused /metrics"
cp http.txt stats.txt
expect_eq "reloads ok" "$(value 'dv8_reloads_total\{outcome="ok"\}')" 1
expect_eq "reloads failed" "$(value 'dv8_reloads_total\{outcome="failed"\}')" 1
expect_eq "reload histogram count" "$(value dv8_reload_seconds_count)" 1
expect_eq "reload pause histogram +Inf" "$(value 'dv8_reload_pause_seconds_bucket\{le="\+Inf"\}')" 1
turns=$(value dv8_event_loop_turn_seconds_count)
[ "$turns" -gt 10 ] || fail "event loop turns counted: $turns"

# Hostile peers of the endpoint.
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
expect_eq "POST" "$(code -X POST "http://127.0.0.1:$mport/metrics")" 405
expect_eq "another path" "$(code "http://127.0.0.1:$mport/")" 404
expect_eq "a huge header" "$(code -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' a)" "http://127.0.0.1:$mport/metrics")" 431
out=$(python3 - "$mport" <<'PY'
import socket, sys
port = int(sys.argv[1])
s = socket.create_connection(('127.0.0.1', port))
s.sendall(b'\x16\x03\x01 garbage\r\n\r\n')
print(s.recv(100).split(b'\r\n')[0].decode())
# 40 idle connections at once: the endpoint holds 32; the rest are closed
# at once, and it answers again once they go.
import time
idle = [socket.create_connection(('127.0.0.1', port)) for _ in range(40)]
time.sleep(0.5)
closed = 0
for c in idle:
    c.setblocking(False)
    try:
        if c.recv(1) == b'':
            closed += 1
    except BlockingIOError:
        pass
print(closed)
for c in idle:
    c.close()
PY
)
expect_eq "garbage, then a crowd" "$out" "$(printf 'HTTP/1.1 400 Bad Request\n8')"
expect_eq "served after the crowd" "$(code "http://127.0.0.1:$mport/metrics")" 200
running "$pid" || fail "the program ended"

# WebSocket messages (the ws module's counters): 5 each way, in and out
# of one process that is both server and client.
cat >ws.js <<'JS'
import * as http from 'http';
import * as ws from 'ws';
const server = http.serve({ port: 0, host: '127.0.0.1' }, (req) => ws.upgrade(req, { message(s, d) { s.send(d); } }));
const c = new ws.WebSocket(`ws://127.0.0.1:${server.port}/`);
let n = 0;
c.onopen = () => c.send('m0');
c.onmessage = () => { if (++n < 5) c.send(`m${n}`); else console.log('ws done'); };
JS
"$DV8" ws.js >ws.out 2>ws.err &
wpid=$!
pids+=($wpid)
for _ in $(seq 100); do grep -q 'ws done' ws.out && break; sleep 0.05; done
grep -q 'ws done' ws.out || fail "the ws program did not finish: $(cat ws.out ws.err)"
run_dv8 stats "$wpid"
printf '%s\n' "$OUT" >stats.txt
expect_eq "ws messages received: 5 by each side" "$(value dv8_ws_messages_received_total)" 10
expect_eq "ws messages sent: 5 by each side" "$(value dv8_ws_messages_sent_total)" 10
promtool check metrics <stats.txt || fail "promtool refused the text with modules' counters"
kill "$wpid"

# TLS handshakes (the tls module's counters): 3 done by python's ssl, one
# that fails (random bytes instead of a ClientHello).
tls_ca
tls_cert server localhost DNS:localhost,IP:127.0.0.1
tport=$(free_port)
"$DV8" "$ROOT/examples/tls-echo.js" "$tport" server.pem server.key >tls.out 2>tls.err &
tpid=$!
pids+=($tpid)
wait_port "$tport"
python3 - "$tport" <<'PY'
import os, socket, ssl, sys
port = int(sys.argv[1])
ctx = ssl.create_default_context(cafile='ca.pem')
for i in range(3):
    with socket.create_connection(('127.0.0.1', port)) as raw:
        with ctx.wrap_socket(raw, server_hostname='localhost') as s:
            s.sendall(b'hi\n')
            assert s.recv(3) == b'hi\n'
with socket.create_connection(('127.0.0.1', port)) as raw:
    raw.sendall(os.urandom(300))
    raw.recv(100)
PY
for _ in $(seq 40); do
  run_dv8 stats "$tpid"
  printf '%s\n' "$OUT" >stats.txt
  [ "$(value dv8_tls_handshake_failures_total)" = 1 ] && break
  sleep 0.05
done
expect_eq "TLS handshakes done" "$(value dv8_tls_handshakes_total)" 3
expect_eq "TLS handshakes failed" "$(value dv8_tls_handshake_failures_total)" 1
kill "$tpid"

# HTTP requests (the http module's counter): 4 by curl, keep-alive.
hport=$(free_port)
"$DV8" "$ROOT/examples/http-hello.js" "$hport" >http.out 2>http.err &
hpid=$!
pids+=($hpid)
wait_port "$hport"
curl -sf "http://127.0.0.1:$hport/a" "http://127.0.0.1:$hport/b" "http://127.0.0.1:$hport/c" "http://127.0.0.1:$hport/d" >/dev/null ||
  fail "curl could not get the 4 pages"
run_dv8 stats "$hpid"
printf '%s\n' "$OUT" >stats.txt
expect_eq "HTTP requests read" "$(value dv8_http_requests_total)" 4
kill "$hpid"

# A helper's lost messages (helper.js's counter): a helper that ends in
# the first of 3 messages leaves all 3 unacknowledged.
cat >helper.js <<'JS'
import { fork, parent } from 'helper';
if (parent !== null) {
  parent.onMessage = () => dv8.exit(7);
} else {
  const h = fork(import.meta.filename);
  h.onExit = (status, signal, lost) => console.log(`ended ${status} lost ${lost}`);
  for (let i = 0; i < 3; i++) h.send(i);
  setTimeout(() => {}, 60000);
}
JS
"$DV8" helper.js >helper.out 2>helper.err &
lpid=$!
pids+=($lpid)
for _ in $(seq 100); do grep -q ended helper.out && break; sleep 0.05; done
lost=$(sed -n 's/^ended 7 lost //p' helper.out)
[ -n "$lost" ] && [ "$lost" -ge 1 ] || fail "the helper did not end as asked: $(cat helper.out helper.err)"
run_dv8 stats "$lpid"
printf '%s\n' "$OUT" >stats.txt
expect_eq "helper messages lost, as onExit said" "$(value dv8_helper_messages_lost_total)" "$lost"
kill "$lpid"

# Bad values and a port in use.
run_dv8 --metrics 70000 -e ''
expect_eq "bad port" "$STATUS" 2
expect_match "bad port says why" "$ERR" "dv8: --metrics needs HOST:PORT or PORT, with a port of 1 to 65535, not '70000'"
run_dv8 --metrics nohost:9 -e ''
expect_match "bad host says why" "$ERR" "'nohost' is not an IPv4 or IPv6 address"
run_dv8 --metrics "$mport" -e 'console.log("ran")'
expect_eq "port in use" "$STATUS" 2
expect_match "port in use says why" "$ERR" "dv8: --metrics: cannot listen on 127.0.0.1:$mport: .*address already in use"
expect_eq "nothing ran" "$OUT" ""
run_dv8 stats 999999999
expect_eq "stats of no process" "$STATUS" 1
expect_match "stats of no process says why" "$ERR" 'cannot reach .*999999999.sock'
kill "$pid"
wait "$pid" || true
