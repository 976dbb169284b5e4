# An upgrade of a WebSocket server: idle WebSockets go to the new process
# (plain: the old one sheds their ws layer, which holds nothing between
# frames, and the new code's reload(handlers) puts WebSocket on them
# again), while one with a frame half read at the upgrade stays with the
# old process, whose code finishes it. 8 python clients, each answered by
# version a, send again after the upgrade on the same connection and are
# answered by version b; a ninth, which had sent half a frame, sends the
# rest and is answered by version a; the old process ends once that
# connection has closed. The new code's state has the ninth as a
# WebSocket that says it stayed.
source "$(dirname "$0")/lib.sh"
cd "$TMP"

make_app() {
  cat >app.js.tmp <<JS
import * as http from 'http';
import * as ws from 'ws';
let server;
const socks = new Set();
const handlers = {
  open(s) { socks.add(s); },
  message(s, data) { s.send(\`$1 \${data.length}\`); },
  close(s) { socks.delete(s); },
};
const handler = (req) => ws.upgrade(req, handlers);
export function load(state) {
  let stayed = 0;
  if (state === undefined) server = http.serve({ port: Number(dv8.args[0]) }, handler);
  else {
    server = state.server.reload(handler);
    for (const s of state.socks) {
      if (!(s instanceof ws.WebSocket)) throw new Error('a socket did not arrive as a WebSocket');
      if (s.stayed) stayed++;
      else socks.add(s.reload(handlers));
    }
  }
  console.log(\`load $1 socks=\${socks.size} stayed=\${stayed}\`);
}
export function unload() { return { server, socks: [...socks] }; }
JS
  mv app.js.tmp app.js
}
make_app a
port=$(free_port)
"$DV8" app.js "$port" >out 2>err &
pid=$!
pids+=($pid)
wait_port "$port"
python3 - "$port" >clients 2>&1 <<'PY' &
import base64, os, socket, struct, sys, time
port = int(sys.argv[1])
def connect():
    s = socket.create_connection(('127.0.0.1', port), timeout=10)
    s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
              b'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ' + base64.b64encode(os.urandom(16)) + b'\r\n\r\n')
    head = b''
    while not head.endswith(b'\r\n\r\n'):
        head += s.recv(1)
    return s
def frame(op, payload):
    key = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | op, 0x80 | n]) if n < 126 else struct.pack('!BBH', 0x80 | op, 0x80 | 126, n)
    return head + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))
def answer(s):
    b0, b1 = s.recv(2)
    n = b1 & 0x7f
    data = b''
    while len(data) < n:
        data += s.recv(n - len(data))
    return data.decode()
conns = [connect() for _ in range(8)]
before = []
for c in conns:
    c.sendall(frame(1, b'hello'))
    before.append(answer(c))
half = connect()
f = frame(1, b'z' * 1000)
half.sendall(f[:300])
time.sleep(0.2)
print('ready', flush=True)
while not os.path.exists('upgraded'):
    time.sleep(0.01)
after = []
for c in conns:
    c.sendall(frame(1, b'again'))
    after.append(answer(c))
half.sendall(f[300:])
print('before', ','.join(before), 'after', ','.join(after), 'half', answer(half))
for c in conns + [half]:
    c.sendall(frame(8, struct.pack('!H', 1000)))
    c.close()
PY
clients=$!
for _ in $(seq 200); do grep -q ready clients 2>/dev/null && break; sleep 0.02; done
grep -q ready clients || fail "clients: $(cat clients)"
make_app b
upgrade_to $pid
new=$NEW
touch upgraded
wait $clients || fail "clients: $(cat clients) / server: $(cat out) $(tail -3 err)"
expect_eq "clients" "$(cat clients)" "ready
before a 5,a 5,a 5,a 5,a 5,a 5,a 5,a 5 after b 5,b 5,b 5,b 5,b 5,b 5,b 5,b 5 half a 1000"
expect_match "the new code took the idle WebSockets" "$(grep '^load b' out)" '^load b socks=8 stayed=1$'
expect_match "the old process kept the half-read one" "$(cat err)" 'upgraded: 1 connections stay with this process'
gone $pid 10
running $new || fail "the new process died: $(tail -3 err)"
