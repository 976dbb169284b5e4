# fetch against real servers: python's http.server (keep-alive, one thread
# per connection) and Debian's nginx over TLS with a certificate from a CA
# made here. tests/http/fetch-test.js checks bodies by checksum (1 MiB
# both ways), chunked bodies both ways, the pool (a second request on the
# same connection), HEAD, redirects (follow, 303, 307, manual, error, the
# limit), aborts and timeouts, malformed and cut-short answers, refused
# connections and bad URLs, and over TLS a bad CA and a wrong name.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
tls_ca
tls_cert server localhost DNS:localhost

py_port=$(free_port)
python3 "$ROOT/tests/http/py-server.py" "$py_port" >py.out 2>&1 &
pids+=($!)
python3 -c 'import sys; sys.stdout.buffer.write(bytes(i * 7 % 251 for i in range(1 << 20)))' >file
tls_port=$(free_port)
cat >nginx.conf <<CONF
worker_processes 1;
user root; # the test directory is mode 0700
daemon off;
pid $TMP/nginx.pid;
error_log $TMP/nginx.err;
events { worker_connections 64; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$tls_port ssl;
    ssl_certificate $TMP/server.pem;
    ssl_certificate_key $TMP/server.key;
    add_header x-conn \$connection always;
    location = /file { root $TMP; }
    location = /moved { return 301 /file; }
  }
}
CONF
nginx -c "$TMP/nginx.conf" -p "$TMP" >nginx.out 2>&1 &
pids+=($!)
wait_port "$py_port"
wait_port "$tls_port"

"$DV8" "$ROOT/tests/http/fetch-test.js" "$py_port" "$tls_port" ca.pem >out 2>err || {
  cat out err >&2
  fail "fetch-test.js"
}
expect_eq "cases" "$(grep -c "^ok " out)" "15"
expect_eq "done" "$(tail -1 out)" "done"
