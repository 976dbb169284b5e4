# The HTTP/1.1 server with real peers: tests/http/check.py (python's
# sockets and http.client) sends every malformed and smuggling shape the
# server refuses (400, 431, 505, 413), slow heads and bodies (408), idle
# connections, keep-alive, chunked bodies both ways, HEAD, 100-continue,
# HTTP/1.0, and a pipelined burst of 1,000 requests answered in order;
# curl checks a request with a body; ab -k and wrk make 20,000 keep-alive
# requests each, all answered 200, and ab 20,000 connections of one
# request each (no descriptor left behind); through all of it the server
# goes on.
source "$(dirname "$0")/lib.sh"
cd "$TMP"

port=$(free_port)
"$DV8" "$ROOT/tests/http/server.js" "$port" >server.out 2>server.err &
server=$!
pids+=($server)
wait_port "$port"

python3 "$ROOT/tests/http/check.py" "$port" >check.out 2>&1 || {
  cat check.out server.err >&2
  fail "check.py"
}
expect_eq "check.py: cases passed" "$(grep -c "^ok " check.out)" "35"

# curl: a form body echoed, and the headers the handler saw.
got=$(curl -s --max-time 5 -d 'a=1&b=2' "http://127.0.0.1:$port/echo")
expect_eq "curl: body echoed" "$got" "a=1&b=2"
got=$(curl -s --max-time 5 -H 'X-Test: Value 1' "http://127.0.0.1:$port/headers")
expect_match "curl: headers seen" "$got" '\["x-test","Value 1"\]'
expect_match "curl: url" "$got" "\"url\":\"http://127.0.0.1:$port/headers\""

# ab (HTTP/1.0 keep-alive) and wrk (HTTP/1.1): every request answered.
out=$(ab -k -q -n 20000 -c 32 "http://127.0.0.1:$port/" 2>&1)
expect_match "ab: complete" "$out" 'Complete requests: +20000'
expect_match "ab: none failed" "$out" 'Failed requests: +0'
expect_match "ab: keep-alive" "$out" 'Keep-Alive requests: +20000'
out=$(wrk -t1 -c32 -d2s "http://127.0.0.1:$port/" 2>&1)
expect_match "wrk: requests" "$out" 'requests in'
if printf '%s' "$out" | grep -Eq 'Non-2xx|Socket errors'; then
  fail "wrk: errors: $out"
fi

# 20,000 connections, one request each (ab without -k: HTTP/1.0, closed
# after the answer): all answered, and the server holds no descriptor more
# than before.
fds_before=$(ls "/proc/$server/fd" | wc -l)
out=$(ab -q -n 20000 -c 32 "http://127.0.0.1:$port/" 2>&1)
expect_match "ab, a connection a request: complete" "$out" 'Complete requests: +20000'
expect_match "ab, a connection a request: none failed" "$out" 'Failed requests: +0'
for _ in $(seq 50); do [ "$(ls "/proc/$server/fd" | wc -l)" = "$fds_before" ] && break; sleep 0.1; done
expect_eq "descriptors after 20,000 connections" "$(ls "/proc/$server/fd" | wc -l)" "$fds_before"

running "$server" || fail "the server died"
# Only the two handlers that fail on purpose are reported.
expect_eq "stderr: reports" "$(grep -c '^Uncaught exception in an http handler' server.err)" "2"
