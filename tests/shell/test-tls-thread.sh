# TLS connections move to worker threads with their SSL state, as plain
# sockets do: the stream's descriptor and the TLS layer (OpenSSL's SSL
# object, what waits to be written, a handshake's deadline) go together,
# and the thread carries on the same session.
# - server side: a TLS echo server hands each connection to an echo thread
#   from its open handler (inside the handshake's own callback), 16 node
#   TLS clients stream random bytes and check every byte back;
# - the same with the move made from the data handler, after the main
#   thread has echoed the first bytes itself;
# - client side: tls.connect to `openssl s_server -rev` (which reverses
#   lines), the Socket moved to a thread once open; the thread's lines
#   come back reversed on the same session (and the tickets the server
#   sends after the handshake are taken there);
# - the sender's Socket says 'moved'; a TLS server still refuses to move.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
tls_ca
tls_cert server localhost DNS:localhost
cat >app.js <<'JS'
import * as tls from 'tls';
import * as net from 'net';
import { spawn } from 'thread';

const [mode, port, sport] = dv8.args;
const worker = spawn(async () => {
  const { parent } = await import('thread');
  const net = await import('net');
  const echoing = {
    data(s, bytes) { if (s.write(bytes) === 'queued') s.pause(); },
    drain(s) { s.resume(); },
    error(s, err) { console.error(`thread: ${err.message}`); },
  };
  parent.onMessage = (msg) => {
    if (msg === 'stop') { parent.onMessage = null; return; }
    if (msg.client) { // a client Socket: ask, and check the answers
      let got = '';
      msg.client.reload({
        data(s, bytes) {
          got += new TextDecoder().decode(bytes);
          if (got.split('\n').length > 3) {
            parent.send({ got, secure: s.state });
            s.close();
          }
        },
        error(s, err) { parent.send({ error: err.message }); },
      });
      msg.client.write('hello thread\nsecond line\nthird\n');
      return;
    }
    if (!(msg.socket instanceof net.Socket)) throw new Error('no Socket came');
    msg.socket.reload(echoing);
  };
});
worker.onMessage = (m) => {
  console.log(JSON.stringify(m));
  worker.send('stop');
};

let moved = 0;
const sent = [];
function move(socket, key = 'socket') {
  const rc = worker.send({ [key]: socket });
  if (rc !== 0) throw new Error(`send: ${rc}`);
  sent.push(socket);
  if (++moved % 16 === 0) {
    const states = new Set(sent.map((s) => s.state));
    console.log(`moved ${moved} states=${[...states]}`);
  }
}

if (mode === 'open' || mode === 'data') {
  const server = tls.listen({ port: Number(port), certFile: 'server.pem', keyFile: 'server.key' }, {
    open(socket) { if (mode === 'open') move(socket); },
    data(socket, bytes) {
      socket.write(bytes);
      move(socket);
    },
  });
  // A TLS server cannot move: its connections' settings are this thread's.
  console.log(`server send: ${worker.send({ server })}`);
  worker.unref?.();
} else {
  tls.connect({ port: Number(sport), host: '127.0.0.1', servername: 'localhost', ca: dv8.args[3] }, {
    open(socket) { move(socket, 'client'); console.log(`client moved: ${socket.state}`); },
    error(s, err) { console.error(`client: ${err.message}`); },
  });
}
JS

# 1. Moved from open.
port=$(free_port)
"$DV8" app.js open "$port" >out 2>err &
pid=$!
pids+=($pid)
wait_port "$port"
ECHO_TLS_CA=ca.pem node "$ROOT/tests/reload/echo-clients.mjs" "$port" 16 2 >clients 2>&1 ||
  fail "clients (moved at open): $(cat clients) / $(tail -3 err)"
expect_match "clients (moved at open)" "$(cat clients)" '^ok 16 connections, [0-9]+ bytes$'
expect_match "moved (all of stdout, then stderr)" "$(cat out err)" '^moved 16 states=moved$'
expect_match "a TLS server does not move" "$(grep '^server send' out)" '^server send: -95$'
kill $pid

# 2. Moved from data, after the first bytes were echoed here.
port=$(free_port)
"$DV8" app.js data "$port" >out2 2>err2 &
pid=$!
pids+=($pid)
wait_port "$port"
ECHO_TLS_CA=ca.pem node "$ROOT/tests/reload/echo-clients.mjs" "$port" 16 2 >clients2 2>&1 ||
  fail "clients (moved at data): $(cat clients2) / $(tail -3 err2)"
expect_match "clients (moved at data)" "$(cat clients2)" '^ok 16 connections, [0-9]+ bytes$'
expect_match "moved (all of stdout, then stderr)" "$(cat out2 err2)" '^moved 16 states=moved$'
kill $pid

# 3. A client connection moved.
sport=$(free_port)
openssl s_server -accept "$sport" -cert server.pem -key server.key -rev -quiet </dev/null >sout 2>&1 &
pids+=($!)
wait_port "$sport"
timeout 20 "$DV8" app.js client 0 "$sport" "$(cat ca.pem)" >out3 2>err3 || fail "client: $(cat err3)"
expect_eq "the client moved" "$(grep '^client moved' out3)" "client moved: moved"
expect_match "answers on the same session, in the thread" "$(grep '^{' out3)" \
  '^\{"got":"daerht olleh\\nenil dnoces\\ndriht\\n'
