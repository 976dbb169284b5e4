# TLS with real peers, on a CA made here: python's ssl sends 4 MiB through
# examples/tls-echo.js and gets every byte back (sha256); openssl s_client
# gets TLS 1.3 and its line echoed, and is refused TLS 1.1 and a CBC
# cipher in TLS 1.2; dv8's client talks to openssl s_server (-rev reverses
# each line), checks the server (a wrong host name and an unknown CA are
# clear errors naming the reason); random bytes instead of a ClientHello
# fail that connection alone; a missing key file is a clear error at start.
source "$(dirname "$0")/lib.sh"
cd "$TMP"

# A CA, and a server certificate for localhost and 127.0.0.1 signed by it.
tls_ca
tls_cert server localhost DNS:localhost,IP:127.0.0.1

port=$(free_port)
"$DV8" "$ROOT/examples/tls-echo.js" "$port" server.pem server.key >server.out 2>server.err &
pids+=($!)
wait_port "$port"

# python's ssl: 4 MiB both ways, checked. One thread, non-blocking: an
# SSLSocket read in one thread while another writes it is not safe (both
# would use one SSL object at once).
got=$(python3 - "$port" <<'PY'
import hashlib, os, selectors, socket, ssl, sys
ctx = ssl.create_default_context(cafile='ca.pem')
data = os.urandom(4 << 20)
with socket.create_connection(('127.0.0.1', int(sys.argv[1]))) as raw:
    with ctx.wrap_socket(raw, server_hostname='localhost') as s:
        s.setblocking(False)
        sel = selectors.DefaultSelector()
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
        got = bytearray()
        sent = 0
        while len(got) < len(data):
            moved = False
            if sent < len(data):
                try:
                    sent += s.send(data[sent:sent + 65536])
                    moved = True
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    pass
            try:
                b = s.recv(65536)
                if not b:
                    break
                got.extend(b)
                moved = True
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
            if not moved:
                sel.select(5)
        same = hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
        print(s.version(), len(got), same)
PY
)
expect_eq "python ssl: 4 MiB echoed" "$got" "TLSv1.3 4194304 True"

# openssl s_client: TLS 1.3 by default, TLS 1.2 with an AEAD ECDHE cipher;
# TLS 1.1 and CBC refused.
out=$( (echo "hello over tls"; sleep 0.3) | timeout 10 openssl s_client -connect "127.0.0.1:$port" \
  -CAfile ca.pem -verify_return_error -servername localhost -quiet -no_ign_eof 2>/dev/null || true)
expect_eq "s_client echo" "$out" "hello over tls"
out=$( (echo "twelve"; sleep 0.3) | timeout 10 openssl s_client -connect "127.0.0.1:$port" -tls1_2 \
  -CAfile ca.pem -verify_return_error -servername localhost -brief 2>&1 || true)
expect_match "s_client TLS 1.2" "$out" "Protocol version: TLSv1.2"
expect_match "s_client TLS 1.2 cipher" "$out" "Ciphersuite: ECDHE-ECDSA-AES(128|256)-GCM-SHA(256|384)"
set +e
timeout 10 openssl s_client -connect "127.0.0.1:$port" -tls1_1 -CAfile ca.pem </dev/null >old.out 2>&1
st11=$?
timeout 10 openssl s_client -connect "127.0.0.1:$port" -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA256 \
  -CAfile ca.pem </dev/null >cbc.out 2>&1
stcbc=$?
set -e
((st11 != 0)) || fail "TLS 1.1 was accepted: $(tail -3 old.out)"
((stcbc != 0)) || fail "a CBC cipher was accepted: $(tail -3 cbc.out)"

# Random bytes instead of a ClientHello: that connection fails, the server
# goes on.
head -c 2000 /dev/urandom | timeout 5 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.stdin.buffer.read())
s.settimeout(3)
try:
    while s.recv(4096): pass
except OSError: pass
' "$port"
# A ClientHello cut at every byte offset (the connection closed after the
# first k bytes), and a record header that claims more than TLS allows
# (2^14 + 2048 + 1 bytes): each fails its connection alone.
hostile=$(python3 - "$port" <<'PY'
import os, socket, ssl, sys
port = int(sys.argv[1])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inc, out, server_hostname='localhost')
try:
    obj.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = out.read()
cuts = 0
for k in range(1, len(hello)):
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(hello[:k])
    s.close()
    cuts += 1
big = socket.create_connection(('127.0.0.1', port))
n = (1 << 14) + 2048 + 1
big.sendall(bytes([0x16, 0x03, 0x03, n >> 8, n & 0xff]) + b'\0' * 64)
big.settimeout(5)
try:
    closed = big.recv(4096) is not None
except OSError:
    closed = True
print(len(hello) > 200, cuts == len(hello) - 1, closed, flush=True)
# This python's ssl can crash tearing down a MemoryBIO SSLObject at exit
# (segfault in libcrypto, seen once): skip the teardown.
os._exit(0)
PY
)
expect_eq "hostile handshakes sent" "$hostile" "True True True"
sleep 0.2
expect_match "the oversized record is named" "$(cat server.err)" "TLS handshake: .*(packet length too long|record overflow|record layer failure)"
out=$( (echo "still here"; sleep 0.3) | timeout 10 openssl s_client -connect "127.0.0.1:$port" \
  -CAfile ca.pem -verify_return_error -servername localhost -quiet -no_ign_eof 2>/dev/null || true)
expect_eq "the server goes on after garbage" "$out" "still here"
expect_match "garbage is reported" "$(cat server.err)" "tls-echo: TLS handshake: .*"
running "${pids[0]}" || fail "the server died"

# A client that connects and never finishes its handshake (silent, or half
# a hello) is dropped at handshakeTimeout; a good one in the meantime is
# served.
cat >slow.js <<'JS'
import * as tls from 'tls';
tls.listen({ host: '127.0.0.1', port: Number(dv8.args[0]), certFile: 'server.pem', keyFile: 'server.key', handshakeTimeout: 300 }, {
  data(s, bytes) { s.write(bytes); },
  error(s, err) { console.log(`${err.code}: ${err.message}`); },
});
JS
tport=$(free_port)
"$DV8" slow.js "$tport" >slow.out 2>&1 &
pids+=($!)
wait_port "$tport"
python3 - "$tport" <<'PY' &
import socket, sys, time
silent = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
half = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
half.sendall(bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc]))  # a hello cut short
time.sleep(1.5)
PY
slowpy=$!
out=$( (echo "served meanwhile"; sleep 0.3) | timeout 10 openssl s_client -connect "127.0.0.1:$tport" \
  -CAfile ca.pem -verify_return_error -servername localhost -quiet -no_ign_eof 2>/dev/null || true)
expect_eq "a good client while two stall" "$out" "served meanwhile"
wait $slowpy
expect_eq "stalled handshakes time out" "$(grep -c 'ETIMEDOUT: TLS handshake: not done within 300 ms' slow.out)" 2

# SNI and ALPN: a second certificate for other.test, chosen by the name
# the client sends; the server's first protocol the client offers too, for
# either certificate; a client offering none of them is refused.
tls_cert other other.test DNS:other.test
cat >sni.js <<'JS'
import * as tls from 'tls';
tls.listen({ host: '127.0.0.1', port: Number(dv8.args[0]), certFile: 'server.pem', keyFile: 'server.key',
  sni: { 'other.test': { certFile: 'other.pem', keyFile: 'other.key' } }, alpn: ['h2', 'http/1.1'] }, {
  open(s) { const i = tls.info(s); console.log(`${i.servername} ${i.alpn}`); },
  data(s, bytes) { s.write(bytes); },
  error(s, err) { console.log(err.message); },
});
JS
nport=$(free_port)
"$DV8" sni.js "$nport" >sni.out 2>&1 &
pids+=($!)
wait_port "$nport"
for name in localhost other.test; do
  out=$( (echo x; sleep 0.2) | timeout 10 openssl s_client -connect "127.0.0.1:$nport" -servername "$name" \
    -CAfile ca.pem -verify_return_error -alpn foo,http/1.1 -brief -no_ign_eof 2>&1 || true)
  expect_match "SNI $name: certificate" "$out" "Peer certificate: CN = $name"
done
out=$( (echo x; sleep 0.2) | timeout 10 openssl s_client -connect "127.0.0.1:$nport" -servername localhost \
  -CAfile ca.pem -alpn foo -brief -no_ign_eof 2>&1 || true)
expect_match "no common ALPN protocol: refused" "$out" "no application protocol"
sleep 0.2
expect_eq "what the server saw" "$(grep -v '^TLS handshake: the peer closed' sni.out)" "localhost http/1.1
other.test http/1.1
TLS handshake: error:0A0000EB:SSL routines::no application protocol"

# Session resumption: openssl s_client resumes with the ticket it was
# given; dv8's client resumes by itself (sessions kept per server in its
# context); ticket keys rotate (ticketKeyLifetime 1 s: a ticket resumes
# within two lifetimes, not after).
(sleep 0.3) | timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername localhost \
  -CAfile ca.pem -sess_out sess.pem >/dev/null 2>&1 || true
out=$( (sleep 0.3) | timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername localhost \
  -CAfile ca.pem -sess_in sess.pem 2>&1 || true)
expect_match "s_client resumes" "$out" "Reused, TLSv1.3"
cat >rot.js <<'JS'
import * as tls from 'tls';
import { readFileSync } from 'fs';
tls.listen({ host: '127.0.0.1', port: Number(dv8.args[0]), certFile: 'server.pem', keyFile: 'server.key', ticketKeyLifetime: 1 }, {
  data(s, bytes) { s.write(bytes); },
});
const context = tls.createContext({ ca: readFileSync('ca.pem') });
const once = () => new Promise((resolve, reject) => {
  tls.connect({ host: '127.0.0.1', port: Number(dv8.args[0]), servername: 'localhost', context }, {
    open(s) { s.write('x'); },
    data(s) { const i = tls.info(s); s.close(); resolve(i.resumed); },
    error(s, e) { reject(e); },
  });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const seen = [await once(), await once()];
await sleep(1200);
seen.push(await once());
await sleep(2500);
seen.push(await once());
console.log(seen.join(' '));
dv8.exit(0);
JS
run_dv8 rot.js "$(free_port)"
expect_eq "resumed: new, again, with the previous key, expired" "$OUT" "false true true false"

# Client certificates: a server with requestCert takes a client whose
# certificate its CA signed (s_client, and dv8's client with cert/key) and
# refuses one without.
tls_cert client client
cat >mtls.js <<'JS'
import * as tls from 'tls';
tls.listen({ host: '127.0.0.1', port: Number(dv8.args[0]), certFile: 'server.pem', keyFile: 'server.key',
  caFile: 'ca.pem', requestCert: true }, {
  open(s) { console.log('client accepted'); },
  data(s, bytes) { s.write(bytes); },
  error(s, err) { console.log(err.message); },
});
JS
mport=$(free_port)
"$DV8" mtls.js "$mport" >mtls.out 2>&1 &
pids+=($!)
wait_port "$mport"
out=$( (echo "with a certificate"; sleep 0.3) | timeout 10 openssl s_client -connect "127.0.0.1:$mport" \
  -CAfile ca.pem -servername localhost -cert client.pem -key client.key -quiet -no_ign_eof 2>/dev/null || true)
expect_eq "s_client with a client certificate" "$out" "with a certificate"
out=$( (echo "without"; sleep 0.3) | timeout 10 openssl s_client -connect "127.0.0.1:$mport" \
  -CAfile ca.pem -servername localhost -quiet -no_ign_eof 2>&1 || true)
expect_match "s_client without one: refused" "$out" "certificate required"
cat >mclient.js <<'JS'
import * as tls from 'tls';
tls.connect({ host: '127.0.0.1', port: Number(dv8.args[0]), servername: 'localhost', caFile: 'ca.pem',
  certFile: 'client.pem', keyFile: 'client.key' }, {
  open(s) { s.write('dv8 with a certificate'); },
  data(s, bytes) { console.log(new TextDecoder().decode(bytes)); s.close(); },
  error(s, err) { console.log(err.message); },
});
JS
run_dv8 mclient.js "$mport"
expect_eq "dv8 client with a certificate" "$OUT" "dv8 with a certificate"
sleep 0.2
expect_eq "the server's view" "$(grep -v 'the peer closed' mtls.out)" "client accepted
TLS handshake: error:0A0000C7:SSL routines::peer did not return a certificate
client accepted"

# dv8's client against openssl s_server.
sport=$(free_port)
openssl s_server -accept "$sport" -cert server.pem -key server.key -rev -quiet \
  </dev/null >s_server.out 2>&1 &
pids+=($!)
wait_port "$sport"
cat >client.js <<'JS'
import * as tls from 'tls';
import { readFileSync } from 'fs';
const [port, servername, caFile] = dv8.args;
const options = { host: '127.0.0.1', port: Number(port), servername };
if (caFile !== 'system') options.ca = readFileSync(caFile);
tls.connect(options, {
  open(s) {
    const i = tls.info(s);
    console.log(`secure ${i.protocol}`);
    s.write('hello from dv8\n');
  },
  data(s, bytes) {
    console.log(`got ${new TextDecoder().decode(bytes).trim()}`);
    s.close();
  },
  error(s, err) {
    console.log(`error ${err.code}: ${err.message}`);
  },
});
JS
run_dv8 client.js "$sport" localhost ca.pem
expect_eq "dv8 client to s_server" "$OUT" "secure TLSv1.3
got 8vd morf olleh"
run_dv8 client.js "$sport" wrong.example ca.pem
expect_eq "a wrong host name" "$OUT" "error EPROTO: TLS handshake: certificate verification failed: hostname mismatch"
run_dv8 client.js "$sport" localhost system
expect_eq "an unknown CA" "$OUT" "error EPROTO: TLS handshake: certificate verification failed: unable to get local issuer certificate"

# What a client writes before its handshake is done waits, and goes before
# what it writes in open: s_server answers the lines in that order.
cat >early.js <<'JS'
import * as tls from 'tls';
let got = '';
const s = tls.connect({ host: '127.0.0.1', port: Number(dv8.args[0]), servername: 'localhost', caFile: 'ca.pem' }, {
  open(s) { s.write('second\n'); },
  data(s, bytes) {
    got += new TextDecoder().decode(bytes);
    if (got.split('\n').length > 2) { console.log(got.trim().split('\n').join(' ')); s.close(); }
  },
  error(s, err) { console.log(err.message); },
});
console.log(s.write('first\n'));
JS
run_dv8 early.js "$sport"
expect_eq "written before the handshake, then in open" "$OUT" "written
tsrif dnoces"

# A key file that is not there: a clear error, nothing served.
run_dv8 "$ROOT/examples/tls-echo.js" "$(free_port)" server.pem missing.key
expect_eq "missing key: status" "$STATUS" 1
expect_match "missing key: message" "$ERR" "^tls-echo: tls.listen: cannot read keyFile missing.key: ENOENT"
