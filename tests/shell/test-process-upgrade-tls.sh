# An upgrade with TLS connections open: their keys are OpenSSL's memory in
# the old process and this kernel has no kTLS to hand them over in, so
# they stay with the old process, whose code goes on serving them, while
# the listeners and the plain connections go to the new one. An echo
# server with a TLS port and a plain port, 16 TLS clients and 16 plain
# ones streaming (every byte checked by the clients), is upgraded:
# - the old process says on stderr that the TLS connections stay and why,
#   and refuses a reload meanwhile;
# - the new process gets the plain connections and the listeners; the TLS
#   connections arrive in its state as Sockets in state 'stayed' (closed
#   there: reload(handlers) calls close at once);
# - a new TLS connection is served by the new process (tls.reloadServer);
# - the old process exits once its TLS clients have finished, nothing lost;
# - with --flush-deadline, an idle TLS connection that stayed is closed at
#   the deadline and the old process ends;
# - new code that binds the TLS server as a plain one (Server.reload) is
#   refused: the upgrade fails and the old process goes on.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
tls_ca
tls_cert server localhost DNS:localhost

make_app() { # VERSION [how the TLS server is bound: tls | net]
  cat >app.js.tmp <<JS
import * as tls from 'tls';
import * as net from 'net';
let server, plain;
const sockets = new Set();
const handlers = {
  open(socket) { sockets.add(socket); console.log('open $1'); },
  data(socket, bytes) { if (socket.write(bytes) === 'queued') socket.pause(); },
  drain(socket) { socket.resume(); },
  close(socket, err) {
    sockets.delete(socket);
    if (err !== undefined) console.error(\`socket: \${err.message}\`);
  },
  error(target, err) { console.error(\`error: \${err.message}\`); },
};
const tlsOptions = { certFile: 'server.pem', keyFile: 'server.key' };
export function load(state) {
  if (state === undefined) {
    server = tls.listen({ port: Number(dv8.args[0]), backlog: 128, ...tlsOptions }, handlers);
    plain = net.listen({ port: Number(dv8.args[1]), backlog: 128 }, handlers);
  } else {
    server = '${2:-tls}' === 'tls' ? tls.reloadServer(state.server, tlsOptions, handlers)
      : state.server.reload(handlers);
    plain = state.plain.reload(handlers);
    let stayed = 0;
    for (const s of state.sockets) {
      if (s.stayed) stayed++;
      sockets.add(s.reload(handlers));
    }
    // What stayed closes at once here (a microtask).
    queueMicrotask(() => console.log(\`load $1 conns=\${sockets.size} stayed=\${stayed} state=\${state.sockets.find((s) => s.stayed)?.state}\`));
    return;
  }
  console.log('load $1');
}
export function unload() { return { server, plain, sockets: [...sockets] }; }
JS
  mv app.js.tmp app.js
}

# 1. TLS connections stay, plain ones and the listeners go.
make_app a
tport=$(free_port)
pport=$(free_port)
"$DV8" app.js "$tport" "$pport" >out 2>err &
pid=$!
pids+=($pid)
wait_port "$tport"
wait_port "$pport"
ECHO_TLS_CA=ca.pem node "$ROOT/tests/reload/echo-clients.mjs" "$tport" 16 60 5 >tls-clients 2>&1 &
tclients=$!
node "$ROOT/tests/reload/echo-clients.mjs" "$pport" 16 60 5 >plain-clients 2>&1 &
pclients=$!
for _ in $(seq 200); do [ "$(grep -c "^open a" out)" -ge 33 ] && break; sleep 0.05; done
# wait_port's probe of the plain port counts: it opened and closed.
expect_eq "connections open before the upgrade" "$(grep -c "^open a" out)" 33
make_app b
upgrade_to $pid
new=$NEW
for _ in $(seq 100); do grep -q '^load b' out && break; sleep 0.05; done
expect_match "the new code's load" "$(grep '^load b' out)" '^load b conns=16 stayed=16 state=stayed$'
expect_match "the old process says why the TLS connections stay" "$(cat err)" \
  "upgraded: 16 connections stay with this process \\(pid $pid\\) until they end or the flush deadline \\(60000 ms\\) passes: a TLS connection's keys are this process's memory \\(this kernel has no kTLS to hand them over in; tcp_available_ulp: [a-z ]*\\)"
sleep 0.5
running $pid || fail "the old process ended with its TLS connections open: $(tail -3 err)"
# A reload of the old process is refused: its program is the new one's.
kill -HUP $pid
for _ in $(seq 100); do grep -q 'reload refused' err && break; sleep 0.05; done
expect_match "a reload of the old process" "$(grep 'reload refused' err)" \
  'reload refused: this process has handed its program to a new one \(an upgrade\) and only serves the connections that stayed: reload the new one'
# A new TLS connection: the new process's (its code says 'open b').
out=$( (echo "to the new process"; sleep 0.3) | timeout 10 openssl s_client -connect "127.0.0.1:$tport" \
  -CAfile ca.pem -verify_return_error -servername localhost -quiet 2>/dev/null || true)
expect_eq "a new TLS connection echoes" "$out" "to the new process"
expect_eq "served by the new code" "$(grep -c '^open b' out)" 1
running $pid || fail "the old process ended early"
kill -USR2 $tclients $pclients 2>/dev/null || true
wait $tclients || fail "TLS clients: $(cat tls-clients) / $(tail -3 err)"
wait $pclients || fail "plain clients: $(cat plain-clients) / $(tail -3 err)"
expect_match "TLS clients (served by the old process to the end)" "$(cat tls-clients)" '^ok 16 connections, [0-9]+ bytes$'
expect_match "plain clients (moved)" "$(cat plain-clients)" '^ok 16 connections, [0-9]+ bytes$'
gone $pid 5
expect_match "the old process's last words" "$(tail -1 err)" 'upgraded: the 16 connections that stayed here have ended'
running $new || fail "the new process died: $(tail -3 err)"
kill $new
wait_gone() { for _ in $(seq 100); do running "$1" || return 0; sleep 0.05; done; }
wait_gone $new

# 2. An idle TLS connection that stayed ends at the flush deadline.
make_app a
"$DV8" --flush-deadline 1000 app.js "$tport" "$pport" >out2 2>err2 &
pid=$!
pids+=($pid)
wait_port "$tport"
openssl s_client -connect "127.0.0.1:$tport" -CAfile ca.pem -servername localhost -quiet \
  < <(sleep 30) >idle 2>&1 &
idle=$!
for _ in $(seq 100); do grep -q '^open a' out2 && break; sleep 0.05; done
make_app b
start=$(date +%s%N)
upgrade_to $pid
gone $pid 5
took=$((($(date +%s%N) - start) / 1000000))
expect_match "the idle connection, closed at the deadline" "$(cat err2)" \
  'upgraded: 1 connections that stayed here were still open at the flush deadline \(1000 ms, --flush-deadline\): they are closed'
[ $took -ge 900 ] || fail "the old process ended after $took ms, before the deadline"
for _ in $(seq 100); do kill -0 $idle 2>/dev/null || break; sleep 0.05; done
kill -0 $idle 2>/dev/null && fail "the idle client was not disconnected"
kill $NEW
wait_gone $NEW

# 3. New code that binds the TLS server with net's Server.reload: refused.
make_app a
"$DV8" app.js "$tport" "$pport" >out3 2>err3 &
pid=$!
pids+=($pid)
wait_port "$tport"
make_app c net
set +e
answer=$("$DV8" upgrade $pid 2>&1)
status=$?
set -e
expect_eq "binding the TLS server plain: status" "$status" 1
expect_match "why" "$answer" "upgrade failed: .*Server.reload: this server's connections had a layer \\(TLS\\) in the process before the upgrade; bind it with that module"
sleep 0.3
running $pid || fail "the old process died with the failed upgrade"
out=$( (echo "still TLS"; sleep 0.3) | timeout 10 openssl s_client -connect "127.0.0.1:$tport" \
  -CAfile ca.pem -verify_return_error -servername localhost -quiet 2>/dev/null || true)
expect_eq "the old process still serves TLS" "$out" "still TLS"
