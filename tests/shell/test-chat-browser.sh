# The demo in browsers: examples/reload/chat.js under --watch serves its
# page (chat.html) and WebSocket; two headless Chromium (Debian's) open
# it as alice and bob, and say hello. The file is edited (format()
# changed) and saved: the server reloads; both pages stay connected (each
# joined once, nobody left) and each sees the new code's line, which it
# reports back over the same WebSocket ("alice saw: [#N] ...").
# timeout: 120
source "$(dirname "$0")/lib.sh"
command -v chromium >/dev/null || fail "chromium is missing (make deps installs it)"
cd "$ROOT"
mkdir -p "$TMP/reload"
cp examples/reload/chat.js examples/reload/chat.html "$TMP/reload/"
port=$(free_port)
web=$(free_port)
"$DV8" --watch "$TMP/reload/chat.js" "$port" "$web" >"$TMP/server.out" 2>"$TMP/server.err" &
pids+=($!)
wait_port "$web"
until_line() { # until_line REGEX WHAT: waits up to 60 s for the server to log it
  for _ in $(seq 600); do grep -Eq -- "$1" "$TMP/server.out" && return 0; sleep 0.1; done
  fail "$2: no line matching '$1' in: $(cat "$TMP/server.out") / $(tail -5 "$TMP/server.err")"
}
for name in alice bob; do
  chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --no-default-browser-check \
    --user-data-dir="$TMP/chromium-$name" "http://127.0.0.1:$web/?name=$name&auto=1" >"$TMP/$name.log" 2>&1 &
  pids+=($!)
done
until_line '^#[0-9]+ <alice> hello from alice$' "alice's hello"
until_line '^#[0-9]+ <bob> hello from bob$' "bob's hello"
sed -i 's|return `#${count} <${from}> ${text}\\n`;|return `[#${count}] ${from} says: ${text}\\n`;|' "$TMP/reload/chat.js"
grep -q 'says:' "$TMP/reload/chat.js" || fail "the edit did not apply"
until_line 'code reloaded \(version 1 -> 1\), 2 still here' "the reload"
until_line '^\[#[0-9]+\] alice says: alice saw: \[#[0-9]+\] server says: code reloaded' "alice saw the new code"
until_line '^\[#[0-9]+\] bob says: bob saw: \[#[0-9]+\] server says: code reloaded' "bob saw the new code"
expect_eq "each joined once" "$(grep -c 'joined$' "$TMP/server.out")" 2
expect_eq "nobody left" "$(grep -c 'left$' "$TMP/server.out" || true)" 0
expect_eq "server errors (stderr holds only the reload's report)" "$(grep -v '^dv8: reloaded ' "$TMP/server.err" || true)" ""
