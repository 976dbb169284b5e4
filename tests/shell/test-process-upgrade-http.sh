# An upgrade of an HTTP server: idle keep-alive connections go to the new
# process (plain: the old one sheds their HTTP state, which holds nothing,
# and the new code's Server.reload puts HTTP on them again), while one with
# an answer under way stays with the old process, whose code finishes it.
# 8 python clients, each with a keep-alive connection answered by version
# a, ask again after the upgrade on the same connection and are answered
# by version b; a ninth, in the middle of a streamed answer at the
# upgrade, gets all of it from version a, and the old process ends once
# that connection has.
source "$(dirname "$0")/lib.sh"
cd "$TMP"

make_app() {
  cat >app.js.tmp <<JS
import * as http from 'http';
let server;
async function handler(req) {
  if (req.target === '/stream')
    return new http.Response((async function* () {
      for (let i = 0; i < 30; i++) {
        yield \`$1 chunk \${i}\\n\`;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })(), { headers: { connection: 'close' } });
  return new http.Response('$1');
}
export function load(state) {
  server = state === undefined ? http.serve({ port: Number(dv8.args[0]) }, handler) : state.server.reload(handler);
  console.log(\`load $1 conns=\${server.connections}\`);
}
export function unload() { return { server }; }
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
import os, socket, sys, time
port = int(sys.argv[1])

def answer(f):
    head = b''
    while not head.endswith(b'\r\n\r\n'):
        b = f.read(1)
        if not b:
            return None
        head += b
    n = int([l for l in head.split(b'\r\n') if l.lower().startswith(b'content-length')][0].split(b':')[1])
    return f.read(n).decode()

conns = [socket.create_connection(('127.0.0.1', port), timeout=10) for _ in range(8)]
files = [c.makefile('rb') for c in conns]
before = []
for c, f in zip(conns, files):
    c.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    before.append(answer(f))
streaming = socket.create_connection(('127.0.0.1', port), timeout=10)
streaming.sendall(b'GET /stream HTTP/1.1\r\nHost: x\r\n\r\n')
sf = streaming.makefile('rb')
while not sf.readline().startswith(b'a chunk 0'):
    pass
print('ready', flush=True)
while not os.path.exists('upgraded'):
    time.sleep(0.01)
after = []
for c, f in zip(conns, files):
    c.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    after.append(answer(f))
rest = sf.read().decode()  # the stream's end, then the old process closes
chunks = [l for l in rest.split('\r\n') if 'chunk' in l]
print('before', ''.join(before), 'after', ''.join(after))
print('stream', len(chunks) + 1, 'chunks', 'all a' if all(l.startswith('a chunk') for l in chunks) else repr(chunks), 'ended' if rest.endswith('0\r\n\r\n') else 'cut')
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
before aaaaaaaa after bbbbbbbb
stream 30 chunks all a ended"
expect_match "the new code took the idle connections" "$(grep '^load b' out)" '^load b conns=8$'
expect_match "the old process kept the streaming one" "$(cat err)" 'upgraded: 1 connections stay with this process'
gone $pid 10
running $new || fail "the new process died: $(tail -3 err)"
got=$(curl -s --max-time 5 "http://127.0.0.1:$port/")
expect_eq "a new connection: the new process" "$got" "b"
