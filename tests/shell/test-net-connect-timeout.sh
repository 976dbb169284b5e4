# connect(host, port, cb, timeoutMs): when the peer never answers, cb gets
# ETIMEDOUT once the timeout passes and the stream closes. The silent peer
# is a loopback listener that never accepts, with its queue full, so the
# kernel drops further SYNs (no traffic leaves the machine).
source "$(dirname "$0")/lib.sh"

cat >"$TMP/silent.py" <<'PY'
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(0)
fill = []
for _ in range(4):
    c = socket.socket()
    c.setblocking(False)
    try:
        c.connect(s.getsockname())
    except BlockingIOError:
        pass
    fill.append(c)
time.sleep(0.2)
print(s.getsockname()[1], flush=True)
time.sleep(30)
PY
python3 "$TMP/silent.py" >"$TMP/port" &
py=$!
trap 'kill $py 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
port=$(cat "$TMP/port")
[ -n "$port" ] || fail "the silent listener did not start"

run_dv8 -e "
import * as net from 'net';
const t0 = performance.now();
const streams = () => dv8.handles().filter((h) => h.type === 'stream').length;
const id = net.connect('127.0.0.1', $port, (status) => {
  const waited = performance.now() - t0;
  console.log(net.errname(status), waited >= 300 && waited < 5000);
  setTimeout(() => console.log('streams left', streams()), 10);
}, 300);
"
expect_eq "timeout status" "$STATUS" 0
expect_eq "timeout output" "$OUT" "ETIMEDOUT true
streams left 0"

# Without a timeout, a refused connection is still reported at once.
run_dv8 -e "
import * as net from 'net';
const s = net.listen('127.0.0.1', 0, 1, () => {});
const port = net.address(s).port;
net.close(s, () => net.connect('127.0.0.1', port, (st) => console.log(net.errname(st)), 5000));
"
expect_eq "refused before the timeout" "$OUT" "ECONNREFUSED"
