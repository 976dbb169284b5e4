# What a reload's new code writes to a socket, and its end(), while it
# loads waits for the commit: new code that writes from load() and then
# throws sent nothing (the old code, which goes on, is the only one the
# client hears); new code that writes and ends from load() and commits is
# heard after everything the old code wrote, then the end. The same over
# TLS, where held bytes must not have been sealed: the session goes on
# after the failed reload and decrypts what comes after it.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
tls_ca
tls_cert server localhost DNS:localhost

make_app() { # VERSION LOAD-BODY
  cat >app.js.tmp <<JS
import * as net from 'net';
import * as tls from 'tls';
let servers;
const sockets = new Set();
const handlers = {
  open(socket) {
    sockets.add(socket);
    socket.write('$1 hello\n');
  },
  data(socket, bytes) {
    if (new TextDecoder().decode(bytes).includes('ping')) socket.write('$1 pong\n');
  },
  close(socket) { sockets.delete(socket); },
  error(target, err) { console.error(\`error: \${err.message}\`); },
};
export function load(state) {
  if (state === undefined) {
    servers = [
      net.listen({ port: Number(dv8.args[0]) }, handlers),
      tls.listen({ port: Number(dv8.args[1]), certFile: 'server.pem', keyFile: 'server.key' }, handlers),
    ];
  } else {
    servers = state.servers.map((s) => s.reload(handlers));
    for (const s of state.sockets) sockets.add(s.reload(handlers));
    $2
  }
  console.log('loaded $1');
}
export function unload() { return { servers, sockets: [...sockets] }; }
JS
  mv app.js.tmp app.js
}
make_app v1 ''
port=$(free_port)
tport=$(free_port)
"$DV8" app.js "$port" "$tport" >out 2>err &
pid=$!
pids+=($pid)
wait_port "$port"
wait_port "$tport"
python3 - "$port" "$tport" >client 2>&1 <<'PY' &
import os, socket, ssl, sys, time
plain = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=20)
ctx = ssl.create_default_context(cafile='ca.pem')
secure = ctx.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[2])), timeout=20),
                         server_hostname='localhost')
def line(s):
    got = b''
    while not got.endswith(b'\n'):
        more = s.recv(1)
        if not more:
            return got.decode() + '<EOF>'
        got += more
    return got.decode().strip()
for name, s in (('plain', plain), ('tls', secure)):
    print(name, line(s), flush=True)
open('connected', 'w').close()
while not os.path.exists('failed'):
    time.sleep(0.01)
for name, s in (('plain', plain), ('tls', secure)):
    s.sendall(b'ping')
    print(name, line(s), flush=True)
open('ponged', 'w').close()
for name, s in (('plain', plain), ('tls', secure)):
    print(name, line(s), line(s), flush=True)
PY
client=$!
pids+=($client)
for _ in $(seq 200); do [ -e connected ] && break; sleep 0.05; done
[ -e connected ] || fail "the client did not connect: $(cat client)"
make_app v2 "for (const s of sockets) s.write('v2 from a load that fails\n'); throw new Error('refused on purpose');"
kill -HUP $pid
for _ in $(seq 200); do grep -q 'refused on purpose' err && break; sleep 0.05; done
expect_match "the reload failed" "$(cat err)" "reload failed, the old code goes on.*refused on purpose"
touch failed
for _ in $(seq 200); do [ -e ponged ] && break; sleep 0.05; done
make_app v3 "for (const s of sockets) { s.write('v3 from load\n'); s.end(); }"
kill -HUP $pid
wait $client || fail "client: $(cat client)"
expect_eq "what the client heard" "$(cat client)" "plain v1 hello
tls v1 hello
plain v1 pong
tls v1 pong
plain v3 from load <EOF>
tls v3 from load <EOF>"
expect_eq "loads" "$(cat out)" "loaded v1
loaded v3"
running $pid || fail "the server died: $(tail -5 err)"
