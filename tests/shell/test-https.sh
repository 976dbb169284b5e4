# HTTPS: http.serve with a tls option puts TLS below HTTP on every
# connection the server accepts (two layers in C). tests/http/check.py runs
# its cases over TLS (python's ssl checking the certificate against a CA
# made here): malformed requests, limits, timeouts, keep-alive, chunked
# bodies, 100-continue, pipelining 1,000 requests; curl sees ALPN choose
# http/1.1 and gets a 1 MB body back intact; wrk over TLS: no errors.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
tls_ca
tls_cert server localhost DNS:localhost,IP:127.0.0.1

port=$(free_port)
"$DV8" "$ROOT/tests/http/server.js" "$port" server.pem server.key >server.out 2>server.err &
server=$!
pids+=($server)
wait_port "$port"

python3 "$ROOT/tests/http/check.py" "$port" ca.pem >check.out 2>&1 || {
  cat check.out server.err >&2
  fail "check.py over TLS"
}
expect_eq "check.py over TLS: cases passed" "$(grep -c "^ok " check.out)" "34"

head -c 1000000 /dev/urandom >body
out=$(curl -sv --max-time 10 --cacert ca.pem --data-binary @body -o echoed "https://localhost:$port/echo" 2>&1)
expect_match "curl: ALPN" "$out" 'ALPN: server accepted http/1.1'
expect_eq "curl: 1 MB echoed" "$(sha256sum <echoed | cut -d' ' -f1)" "$(sha256sum <body | cut -d' ' -f1)"
got=$(curl -s --max-time 5 --cacert ca.pem "https://localhost:$port/headers")
expect_match "curl: https url" "$got" "\"url\":\"https://localhost:$port/headers\""

out=$(wrk -t1 -c16 -d2s "https://127.0.0.1:$port/" 2>&1)
expect_match "wrk over TLS: requests" "$out" 'requests in'
if printf '%s' "$out" | grep -Eq 'Non-2xx|Socket errors'; then
  fail "wrk over TLS: errors: $out"
fi
running "$server" || fail "the server died"
expect_eq "stderr: reports" "$(grep -c '^Uncaught exception in an http handler' server.err)" "2"
