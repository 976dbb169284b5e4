# TLS connections survive reloads: 64 TLS clients (node's tls, checking
# the server against a CA made here) stream random bytes through a TLS echo
# server written with the tls module while it is reloaded by SIGHUP 200
# times, alternating two versions. The SSL state is C memory beside each
# stream, so the new code gets the Sockets (reload(handlers)) and the
# sessions go on. The Server stays TLS whichever way the new code binds
# it; version b gives it a new certificate with tls.reloadServer (the
# connections made before keep theirs). Pass: no connection dropped, every byte back in order
# (checked by the clients), every reload done, all 64 kept by the last.
# First, connections accepted before a reload whose handshake comes after
# it (the old code never heard of them: open waits for the handshake) are
# served by the new code's server, and one whose handshake fails then is
# closed.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
tls_ca
tls_cert server localhost DNS:localhost
# A second certificate for the same name: what version b serves.
tls_cert server2 localhost-2 DNS:localhost

make_app() {
  cat >app.js.tmp <<JS
import * as tls from 'tls';
import * as net from 'net';
let server;
const sockets = new Set();
let echoed = 0;
const handlers = {
  open(socket) {
    sockets.add(socket);
    if (sockets.size === 64) console.log('open 64');
  },
  data(socket, bytes) {
    echoed += bytes.length;
    if (socket.write(bytes) === 'queued') socket.pause();
  },
  drain(socket) { socket.resume(); },
  close(socket, err) {
    sockets.delete(socket);
    if (err !== undefined) console.error(\`socket: \${err.message}\`);
  },
  error(target, err) { console.error(\`error: \${err.message}\`); },
};
export function load(state) {
  if (state === undefined) {
    server = tls.listen({ port: Number(dv8.args[0]), backlog: 128, certFile: 'server.pem', keyFile: 'server.key' }, handlers);
  } else {
    ({ echoed } = state);
    // a: net's reload (the server keeps its certificates); b: new ones.
    server = '$1' === 'a' ? state.server.reload(handlers)
      : tls.reloadServer(state.server, { certFile: 'server2.pem', keyFile: 'server2.key' }, handlers);
    for (const s of state.sockets) {
      if (!(s instanceof net.Socket)) throw new Error('a socket did not arrive as a Socket');
      sockets.add(s.reload(handlers));
    }
  }
  console.log(\`load $1 conns=\${sockets.size} echoed=\${echoed}\`);
}
export function unload() { return { server, sockets: [...sockets], echoed }; }
JS
  mv app.js.tmp app.js
}
make_app a
port=$(free_port)
"$DV8" app.js "$port" >out 2>err &
pid=$!
pids+=($pid)
wait_port "$port"
python3 - "$port" >adrift 2>&1 <<'PY' &
import os, socket, ssl, sys, time
port = int(sys.argv[1])
plain = [socket.create_connection(('127.0.0.1', port), timeout=20) for _ in range(3)]
bad = socket.create_connection(('127.0.0.1', port), timeout=20)
print('connected', flush=True)
while not os.path.exists('reloaded'):
    time.sleep(0.01)
ctx = ssl.create_default_context(cafile='ca.pem')
for i, raw in enumerate(plain):
    conn = ctx.wrap_socket(raw, server_hostname='localhost')
    msg = b'handshake after the reload %d' % i
    conn.sendall(msg)
    got = b''
    while len(got) < len(msg):
        more = conn.recv(100)
        if not more:
            break
        got += more
    print('echoed' if got == msg else 'got %r' % got, conn.version(), flush=True)
bad.sendall(b'\x16\x03\x01\x00\x05hello')
got = b''
try:
    while True:
        more = bad.recv(100)
        if not more:
            break
        got += more
except ConnectionResetError:
    pass
print('bad:', 'an alert, closed' if got[:1] == b'\x15' else 'closed after %r' % got, flush=True)
PY
adrift_pid=$!
pids+=($adrift_pid)
for _ in $(seq 200); do grep -q connected adrift 2>/dev/null && break; sleep 0.05; done
sleep 0.3 # accepted: each waits in its handshake
make_app b
kill -HUP $pid
for _ in $(seq 200); do [ "$(grep -c '^load' out)" -gt 1 ] && break; sleep 0.05; done
touch reloaded
wait $adrift_pid || fail "adrift clients: $(cat adrift)"
expect_eq "connections accepted before a reload, their handshake after it" "$(cat adrift)" "connected
echoed TLSv1.3
echoed TLSv1.3
echoed TLSv1.3
bad: an alert, closed"
ECHO_TLS_CA=ca.pem node "$ROOT/tests/reload/echo-clients.mjs" "$port" 64 120 >clients 2>&1 &
clients=$!
for _ in $(seq 200); do grep -q "open 64" out 2>/dev/null && break; sleep 0.05; done
reloads=0
while [ $reloads -lt 200 ] && kill -0 $clients 2>/dev/null; do
  reloads=$((reloads + 1))
  make_app "$([ $((reloads % 2)) = 0 ] && echo a || echo b)"
  kill -HUP $pid
  for _ in $(seq 100); do [ "$(grep -c '^load' out)" -gt $((reloads + 1)) ] && break; sleep 0.01; done
done
kill -USR2 $clients 2>/dev/null || true
wait $clients || fail "clients: $(cat clients) / server: $(tail -3 err)"
expect_match "clients" "$(cat clients)" '^ok 64 connections, [0-9]+ bytes$'
[ "$reloads" -ge 200 ] || fail "only $reloads reloads happened before the clients ended"
expect_eq "loads" "$(grep -c '^load' out)" 202
expect_match "the last load kept the connections" "$(grep '^load' out | tail -1)" 'conns=64 '
running $pid || fail "the server died: $(tail -5 err)"
# A connection made after the reloads speaks TLS too, with the certificate
# version b gave (the last load, a, rebound the Server with net's reload,
# which keeps it: the layer is chosen in C, on the listening socket).
out=$( (echo "new after reloads"; sleep 0.3) | timeout 10 openssl s_client -connect "127.0.0.1:$port" \
  -CAfile ca.pem -verify_return_error -servername localhost -brief -no_ign_eof 2>&1 || true)
expect_match "a new TLS connection after the reloads" "$out" "new after reloads"
expect_match "with version b's certificate" "$out" "Peer certificate: CN = localhost-2"
# Only wait_port's probe, which closed without a handshake.
expect_eq "errors" "$(sort -u err)" "error: TLS handshake: the peer closed the connection
socket: TLS handshake: the peer closed the connection"
