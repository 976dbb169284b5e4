# WebSockets with real peers, plain and over TLS:
# - the conformance cases of tests/ws/conformance.py (Autobahn's sections
#   1-7: framing, pings, reserved bits and opcodes, fragments, UTF-8 with
#   fail-fast, close codes, the size limit), each connection failed with
#   the right code while the server goes on;
# - 32 clients of the npm ws package send 100 messages each (text and
#   binary, 0 B to 256 KiB, some in fragments) to dv8's echo server and
#   check every answer by its SHA-1, plain and over wss:;
# - dv8's client (the browsers' API) against the ws package's server and
#   dv8's own, plain and wss:, and its errors;
# - the handshake refused: no key, a wrong version (426), not a GET; the
#   server's counters show what it saw.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
tls_ca
tls_cert server localhost DNS:localhost,IP:127.0.0.1

port=$(free_port)
"$DV8" "$ROOT/tests/ws/server.js" "$port" >out 2>err &
pids+=($!)
wait_port "$port"

python3 "$ROOT/tests/ws/conformance.py" "$port" >conf 2>&1 || fail "conformance: $(grep -v '^ok' conf) / $(tail -5 err)"
expect_match "conformance" "$(tail -1 conf)" '^conformance: 2[0-9] passed, 0 failed$'

node "$ROOT/tests/ws/ws-clients.mjs" "ws://127.0.0.1:$port/" 32 100 >clients 2>&1 ||
  fail "ws clients: $(cat clients) / $(tail -5 err)"
expect_match "ws clients (plain)" "$(cat clients)" '^ok 32 connections, 3200 messages, [0-9]+ bytes$'

"$DV8" "$ROOT/tests/ws/client.js" "ws://127.0.0.1:$port/" >dv8client 2>&1 || fail "dv8 client: $(grep -v '^ok' dv8client)"
expect_match "dv8's client against dv8" "$(tail -1 dv8client)" '^client: [0-9]+ passed, 0 failed$'

# Refused handshakes: each answered, the connection closed.
refused=$(python3 - "$port" <<'PY'
import socket, sys
def ask(req):
    s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)
    s.sendall(req)
    data = b''
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b'\r\n')[0].decode()
base = b'Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
print(ask(b'GET / HTTP/1.1\r\n' + base + b'Sec-WebSocket-Version: 13\r\n\r\n'))
print(ask(b'GET / HTTP/1.1\r\n' + base + b'Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'))
print(ask(b'POST / HTTP/1.1\r\n' + base + b'Content-Length: 0\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'))
PY
)
expect_eq "refused handshakes" "$refused" "HTTP/1.1 400 Bad Request
HTTP/1.1 426 Upgrade Required
HTTP/1.1 400 Bad Request"

# Back-pressure: a client that does not read makes send say 'queued';
# drain comes once it reads, after every message before it, whole.
flood=$(python3 - "$port" <<'PY'
import base64, os, socket, struct, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
          b'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ' + base64.b64encode(os.urandom(16)) + b'\r\n\r\n')
head = b''
while not head.endswith(b'\r\n\r\n'):
    head += s.recv(1)
key = os.urandom(4)
s.sendall(bytes([0x81, 0x85]) + key + bytes(c ^ key[i % 4] for i, c in enumerate(b'flood')))
time.sleep(1)  # not reading: the server's writes queue up
f = s.makefile('rb')
def frame():
    b0, b1 = f.read(2)
    n = b1 & 0x7f
    if n == 126:
        n = struct.unpack('!H', f.read(2))[0]
    elif n == 127:
        n = struct.unpack('!Q', f.read(8))[0]
    return b0 & 0x0f, f.read(n)
binary = 0
while True:
    op, data = frame()
    if op == 2:
        binary += 1 if len(data) == 65536 and data.count(7) == 65536 else 0
        continue
    print(data.decode(), 'after', binary, 'whole binary messages')
    break
PY
)
expect_match "back-pressure and drain" "$flood" '^drained after ([0-9]+) after \1 whole binary messages$'

# The server's own count: every connection opened was closed, with the
# codes the cases expect (1002, 1007, 1009 among them).
stats=$(curl -s "http://127.0.0.1:$port/stats")
expect_match "server counters" "$stats" '"1002":[0-9]+.*"1007":[0-9]+.*"1009":[0-9]+'
expect_eq "no handler failed" "$(cat err)" ""

# The ws package's server, for dv8's client.
nport=$(free_port)
node "$ROOT/tests/ws/node-server.mjs" "$nport" >nout 2>&1 &
pids+=($!)
wait_port "$nport"
"$DV8" "$ROOT/tests/ws/client.js" "ws://127.0.0.1:$nport/" >nclient 2>&1 || fail "dv8 client vs ws: $(grep -v '^ok' nclient)"
expect_match "dv8's client against the ws package" "$(tail -1 nclient)" '^client: [0-9]+ passed, 0 failed$'

# wss: dv8's server over TLS, the ws package's clients and dv8's client
# (a private CA: verification on); the ws package's TLS server for dv8's.
sport=$(free_port)
"$DV8" "$ROOT/tests/ws/server.js" "$sport" server.pem server.key >sout 2>serr &
pids+=($!)
wait_port "$sport"
node "$ROOT/tests/ws/ws-clients.mjs" "wss://localhost:$sport/" 16 50 ca.pem >sclients 2>&1 ||
  fail "wss clients: $(cat sclients) / $(tail -5 serr)"
expect_match "ws clients (wss)" "$(cat sclients)" '^ok 16 connections, 800 messages, [0-9]+ bytes$'
"$DV8" "$ROOT/tests/ws/client.js" "wss://localhost:$sport/" ca.pem >sclient 2>&1 || fail "dv8 wss client: $(grep -v '^ok' sclient)"
expect_match "dv8's client over wss" "$(tail -1 sclient)" '^client: [0-9]+ passed, 0 failed$'
nsport=$(free_port)
node "$ROOT/tests/ws/node-server.mjs" "$nsport" server.pem server.key >nsout 2>&1 &
pids+=($!)
wait_port "$nsport"
"$DV8" "$ROOT/tests/ws/client.js" "wss://localhost:$nsport/" ca.pem >nsclient 2>&1 || fail "dv8 wss client vs ws: $(grep -v '^ok' nsclient)"
expect_match "dv8's client over wss against the ws package" "$(tail -1 nsclient)" '^client: [0-9]+ passed, 0 failed$'
# Without the CA the server's certificate is refused.
"$DV8" -e "import { WebSocket } from 'ws';
const w = new WebSocket('wss://localhost:$nsport/');
w.onerror = (e) => console.log('error:', e.message);
w.onclose = (e) => console.log('closed', e.code, e.wasClean);
w.onopen = () => console.log('opened');" >untrusted 2>&1
expect_match "wss without the CA: the error says why" "$(head -1 untrusted)" '^error: WebSocket: .*certificate verification failed'
expect_eq "wss without the CA: then the close" "$(tail -1 untrusted)" "closed 1006 false"

# idleTimeout (300 ms here): a quiet peer gets a ping; one that answers
# stays, one that does not is cut (1006) after as long again.
iport=$(free_port)
WS_IDLE_MS=300 "$DV8" "$ROOT/tests/ws/server.js" "$iport" >iout 2>ierr &
pids+=($!)
wait_port "$iport"
idle=$(python3 - "$iport" <<'PY'
import base64, os, socket, struct, sys, time
def connect():
    s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)
    s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
              b'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ' + base64.b64encode(os.urandom(16)) + b'\r\n\r\n')
    head = b''
    while not head.endswith(b'\r\n\r\n'):
        head += s.recv(1)
    return s
def read_frame(s):
    h = s.recv(2)
    if len(h) < 2:
        return None, None
    n = h[1] & 0x7f
    data = b''
    while len(data) < n:
        data += s.recv(n - len(data))
    return h[0] & 0x0f, data
def send(s, op, payload):
    key = os.urandom(4)
    s.sendall(bytes([0x80 | op, 0x80 | len(payload)]) + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload)))
quiet, answering = connect(), connect()
t0 = time.time()
op, _ = read_frame(quiet)
print('quiet got a ping' if op == 9 else f'quiet got opcode {op}')
op, _ = read_frame(quiet)
print('quiet was cut' if op is None else f'quiet got opcode {op}', 'in time' if time.time() - t0 < 2.5 else 'late')
for _ in range(3):
    op, data = read_frame(answering)
    if op != 9:
        print(f'answering got opcode {op}')
        break
    send(answering, 10, data)
send(answering, 1, b'still here')
op, data = read_frame(answering)
print('answering still echoes' if (op, data) == (1, b'still here') else f'answering got {op} {data!r}')
PY
)
expect_eq "idle timeout" "$idle" "quiet got a ping
quiet was cut in time
answering still echoes"
