# HTTP keep-alive connections survive reloads: 64 node http clients (one
# socket each) POST bodies to an HTTP server written with the http module
# while it is reloaded by SIGHUP 200 times, alternating two versions whose
# answers say which one answered. Handlers wait 0-2 ms before answering,
# so requests are in flight at the reloads: C keeps each request until its
# answer is complete and gives the new code those the old code had not
# answered. Pass: every answer names its request and its whole body (one
# code answered it, with all of it), no socket was opened twice, both
# versions answered, every reload done, all 64 connections kept by the
# last. First, a streamed answer under way when a reload comes: the reload
# waits for the old code to finish it (no new request reaches the old code
# meanwhile), and the next request on that connection goes to the new
# code.
source "$(dirname "$0")/lib.sh"
cd "$TMP"

make_app() {
  cat >app.js.tmp <<JS
import * as http from 'http';
let server;
let served = 0;
function sum(b) {
  let s = 0;
  for (let i = 0; i < b.length; i++) s = (s + b[i] * ((i % 251) + 1)) >>> 0;
  return s;
}
async function handler(req) {
  if (req.target === '/stream')
    return new http.Response((async function* () {
      for (let i = 0; i < 20; i++) {
        yield \`$1 chunk \${i}\\n\`;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })());
  const body = await req.bytes();
  const delay = Number(req.headers.get('x-delay') ?? 0);
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  served++;
  return new http.Response(\`$1 \${req.headers.get('x-id')} \${body.length} \${sum(body)}\`);
}
export function load(state) {
  if (state === undefined) server = http.serve({ port: Number(dv8.args[0]), backlog: 128 }, handler);
  else {
    served = state.served;
    if (!(state.server instanceof http.Server)) throw new Error('the server did not arrive as an http.Server');
    server = state.server.reload(handler);
  }
  console.log(\`load $1 conns=\${server.connections} served=\${served}\`);
}
export function unload() { return { server, served }; }
JS
  mv app.js.tmp app.js
}
make_app a
port=$(free_port)
"$DV8" app.js "$port" >out 2>err &
pid=$!
pids+=($pid)
wait_port "$port"
python3 - "$port" >streamed 2>&1 <<'PY' &
import os, socket, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)
s.sendall(b'GET /stream HTTP/1.1\r\nHost: x\r\n\r\n')
f = s.makefile('rb')
head = b''
while not head.endswith(b'\r\n\r\n'):
    head += f.read(1)
chunks = []
while True:
    size = int(f.readline().strip(), 16)
    if size == 0:
        f.readline()
        break
    chunks.append(f.read(size).decode())
    f.readline()
    if len(chunks) == 1:
        print('streaming', flush=True)
print('complete' if chunks == ['a chunk %d\n' % i for i in range(20)] else 'got %r' % chunks, flush=True)
while not os.path.exists('reloaded'):
    time.sleep(0.01)
s.sendall(b'POST /work HTTP/1.1\r\nHost: x\r\nX-Id: after\r\nContent-Length: 0\r\n\r\n')
head = b''
while not head.endswith(b'\r\n\r\n'):
    head += f.read(1)
n = int([l for l in head.split(b'\r\n') if l.lower().startswith(b'content-length')][0].split(b':')[1])
print(f.read(n).decode(), flush=True)
PY
streamer=$!
for _ in $(seq 200); do grep -q streaming streamed 2>/dev/null && break; sleep 0.01; done
make_app b
kill -HUP $pid
for _ in $(seq 200); do [ "$(grep -c '^load' out)" -gt 1 ] && break; sleep 0.01; done
touch reloaded
wait $streamer || fail "streamed: $(cat streamed)"
expect_eq "a streamed answer across a reload" "$(cat streamed)" "streaming
complete
b after 0 0"
make_app a
kill -HUP $pid
for _ in $(seq 200); do [ "$(grep -c '^load' out)" -gt 2 ] && break; sleep 0.01; done
node "$ROOT/tests/http/reload-clients.mjs" "$port" 64 120 5 >clients 2>&1 &
clients=$!
sleep 0.5
reloads=0
while [ $reloads -lt 200 ] && kill -0 $clients 2>/dev/null; do
  reloads=$((reloads + 1))
  make_app "$([ $((reloads % 2)) = 0 ] && echo a || echo b)"
  kill -HUP $pid
  for _ in $(seq 100); do [ "$(grep -c '^load' out)" -gt $((reloads + 2)) ] && break; sleep 0.01; done
done
kill -USR2 $clients 2>/dev/null || true
wait $clients || fail "clients: $(cat clients) / server: $(tail -3 err)"
expect_match "clients" "$(cat clients)" '^ok 64 connections, [0-9]+ requests, a=[1-9][0-9]* b=[1-9][0-9]*$'
[ "$reloads" -ge 200 ] || fail "only $reloads reloads happened before the clients ended"
expect_eq "loads" "$(grep -c '^load' out)" 203
expect_match "the last load kept the connections" "$(grep '^load' out | tail -1)" 'conns=64 '
running $pid || fail "the server died: $(tail -5 err)"
expect_eq "errors" "$(cat err)" ""
