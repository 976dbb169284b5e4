# timeout: 180
# testssl.sh (Debian's) against examples/tls-echo.js: protocols, cipher
# categories, forward secrecy, server preference, renegotiation and
# compression (CRIME). The policy it must find: no SSLv2/SSLv3/TLS 1.0/
# TLS 1.1, TLS 1.2 and 1.3 offered; no NULL, export, LOW, 3DES or CBC
# ciphers, AEAD only, forward secrecy, the server's own order; no
# client-initiated renegotiation; not CRIME-vulnerable (no compression).
source "$(dirname "$0")/lib.sh"
cd "$TMP"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem \
  -out cert.pem -days 2 -subj /CN=localhost 2>/dev/null
port=$(free_port)
"$DV8" "$ROOT/examples/tls-echo.js" "$port" cert.pem key.pem >server.out 2>&1 &
pids+=($!)
wait_port "$port"
timeout 240 testssl --quiet --color 0 --warnings off --protocols --std --fs --server-preference -R -C \
  "127.0.0.1:$port" >report.txt 2>&1 || true
r=$(tr -s ' ' <report.txt)
for line in \
  "SSLv2 not offered (OK)" "SSLv3 not offered (OK)" "TLS 1 not offered" "TLS 1.1 not offered" \
  "TLS 1.2 offered (OK)" "TLS 1.3 offered (OK)" \
  "NULL ciphers (no encryption) not offered (OK)" "Export ciphers (w/o ADH+NULL) not offered (OK)" \
  "LOW: 64 Bit + DES, RC[2,4] (w/o export) not offered (OK)" "Triple DES Ciphers / IDEA not offered" \
  "Obsolete CBC ciphers (AES, ARIA etc.) not offered" "Strong encryption (AEAD ciphers) offered (OK)" \
  "PFS is offered (OK)" "Has server cipher order? yes (OK)" \
  "Secure Client-Initiated Renegotiation not vulnerable (OK)" "CRIME, TLS (CVE-2012-4929) not vulnerable (OK)"; do
  grep -qF -- "$line" <<<"$r" || fail "testssl: no line '$line' in: $(cat report.txt)"
done
running "${pids[0]}" || fail "the server died under testssl: $(tail -3 server.out)"
