# WebSockets survive reloads: a WebSocket server written with the ws module
# is reloaded by SIGHUP 100 times, alternating two versions whose answers
# say which one answered, while 32 clients of the npm ws package send
# messages (up to 200 KiB; a third in two fragments with a pause between,
# so messages are half-read at reloads). The sockets cross in the state
# (state.socks: ws.WebSocket objects again) and the new code binds them
# with reload(handlers). Pass: every answer is complete and in order, both
# versions answered, no connection closed or opened twice, and all 32 are
# there after the last reload. First, a frame cut in half across a reload:
# its first half read by the old code's process state, the rest after,
# answered by the new code.
# timeout: 120
source "$(dirname "$0")/lib.sh"
cd "$TMP"

make_app() {
  cat >app.js.tmp <<JS
import * as http from 'http';
import * as ws from 'ws';
let server;
const socks = new Set();
let served = 0;
function sum(s) {
  let t = 0;
  for (let i = 0; i < s.length; i++) t = (t + s.charCodeAt(i) * ((i % 251) + 1)) >>> 0;
  return t;
}
const handlers = {
  open(s) { socks.add(s); },
  message(s, data) {
    served++;
    const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
    const [id, seq] = text.split(':');
    s.send(\`$1 \${id}:\${seq}:\${text.length}:\${sum(text)}\`);
  },
  close(s) { socks.delete(s); },
};
export function load(state) {
  if (state === undefined) server = http.serve({ port: Number(dv8.args[0]), backlog: 128 }, (req) => ws.upgrade(req, handlers));
  else {
    served = state.served;
    server = state.server.reload((req) => ws.upgrade(req, handlers));
    for (const s of state.socks) {
      if (!(s instanceof ws.WebSocket)) throw new Error('a socket did not arrive as a WebSocket');
      socks.add(s.reload(handlers));
    }
  }
  console.log(\`load $1 socks=\${socks.size} served=\${served}\`);
}
export function unload() { return { server, socks: [...socks], served }; }
JS
  mv app.js.tmp app.js
}
loads() { grep -c '^load' out; }
wait_loads() {
  for _ in $(seq 300); do [ "$(loads)" -ge "$1" ] && return 0; sleep 0.01; done
  fail "load $1 did not come: $(tail -3 err)"
}

make_app a
port=$(free_port)
"$DV8" app.js "$port" >out 2>err &
pid=$!
pids+=($pid)
wait_port "$port"

# A frame cut in half across a reload.
python3 - "$port" >split 2>&1 <<'PY' &
import base64, os, socket, struct, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)
s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
          b'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ' + base64.b64encode(os.urandom(16)) + b'\r\n\r\n')
head = b''
while not head.endswith(b'\r\n\r\n'):
    head += s.recv(1)
payload = b'9:0:' + b'y' * 3000
key = os.urandom(4)
frame = struct.pack('!BBH', 0x81, 0x80 | 126, len(payload)) + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))
s.sendall(frame[:1500])
print('half', flush=True)
while not os.path.exists('reloaded'):
    time.sleep(0.01)
s.sendall(frame[1500:])
b0, b1 = s.recv(2)
n = b1 & 0x7f
data = b''
while len(data) < n:
    data += s.recv(n - len(data))
print(data.decode(), flush=True)
s.sendall(bytes([0x88, 0x82]) + key + bytes(c ^ key[i] for i, c in enumerate(struct.pack('!H', 1000))))
PY
splitter=$!
for _ in $(seq 200); do grep -q half split 2>/dev/null && break; sleep 0.01; done
make_app b
kill -HUP $pid
wait_loads 2
touch reloaded
wait $splitter || fail "split: $(cat split)"
expected_sum=$(python3 -c "
t = '9:0:' + 'y' * 3000
print(sum(ord(c) * ((i % 251) + 1) for i, c in enumerate(t)) % 2**32)")
expect_eq "a frame cut in half across a reload, answered by the new code" "$(tail -1 split)" "b 9:0:3004:$expected_sum"

make_app a
kill -HUP $pid
wait_loads 3
node "$ROOT/tests/ws/reload-clients.mjs" "ws://127.0.0.1:$port/" 32 90 >clients 2>&1 &
clients=$!
sleep 0.5
reloads=0
while [ $reloads -lt 100 ] && kill -0 $clients 2>/dev/null; do
  reloads=$((reloads + 1))
  make_app "$([ $((reloads % 2)) = 0 ] && echo a || echo b)"
  kill -HUP $pid
  wait_loads $((reloads + 3))
done
kill -USR2 $clients 2>/dev/null || true
wait $clients || fail "clients: $(cat clients) / server: $(tail -3 err)"
expect_match "clients" "$(cat clients)" '^ok 32 connections, [0-9]+ messages, a=[1-9][0-9]* b=[1-9][0-9]*$'
[ "$reloads" -ge 100 ] || fail "only $reloads reloads happened before the clients ended"
expect_eq "loads" "$(loads)" 103
expect_match "the last load kept the sockets" "$(grep '^load' out | tail -1)" 'socks=32 '
running $pid || fail "the server died: $(tail -5 err)"
expect_eq "errors" "$(cat err)" ""
