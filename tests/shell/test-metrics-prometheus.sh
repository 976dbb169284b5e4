# A real Prometheus server (Debian's prometheus package) scrapes dv8's
# --metrics endpoint: the target is up, and a query for the connections a
# client made returns what dv8 counted (5 opened, bytes read 500).
source "$(dirname "$0")/lib.sh"
cd "$TMP"
command -v prometheus >/dev/null || fail "prometheus is missing (make deps installs it)"
port=$(free_port)
mport=$(free_port)
pport=$(free_port)
cat >app.js <<'JS'
import * as net from 'net';
net.listen({ port: Number(dv8.args[0]) }, { data(sock, bytes) { sock.write(bytes); } });
JS
"$DV8" --metrics "$mport" app.js "$port" >app.out 2>app.err &
pids+=($!)
wait_port "$port"
python3 - "$port" <<'PY'
import socket, sys
for i in range(5):
    s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
    s.sendall(b'x' * 100)
    got = b''
    while len(got) < 100:
        got += s.recv(100)
    s.close()
PY
cat >prometheus.yml <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: dv8
    static_configs:
      - targets: ['127.0.0.1:$mport']
YML
prometheus --config.file=prometheus.yml --storage.tsdb.path=data \
  --web.listen-address="127.0.0.1:$pport" >prom.log 2>&1 &
pids+=($!)
query() { curl -sf --get "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1" || true; }
# The probe connection of wait_port is one more stream opened.
for _ in $(seq 300); do
  out=$(query 'dv8_handle_bytes_read_total{job="dv8",type="stream"}')
  grep -q '"500"' <<<"$out" && break
  sleep 0.1
done
expect_match "Prometheus has dv8's bytes read" "$out" '"value":\[[0-9.]+,"500"\]'
expect_match "the target is up" "$(query 'up{job="dv8"}')" '"value":\[[0-9.]+,"1"\]'
expect_match "streams opened: the listener, the probe, 5 clients" \
  "$(query 'dv8_handles_opened_total{job="dv8",type="stream"}')" '"value":\[[0-9.]+,"7"\]'
expect_match "a histogram Prometheus can use" \
  "$(query 'histogram_quantile(0.5, rate(dv8_event_loop_turn_seconds_bucket{job="dv8"}[1m]))')" '"status":"success"'
