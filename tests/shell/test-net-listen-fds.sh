# systemd socket activation: a listening socket given as fd 3 with
# LISTEN_PID/LISTEN_FDS (made here by perl, as systemd would) is in
# dv8.listenFds; net.listenFd serves on it (a client's bytes come back);
# the variables and the descriptor are not passed on to the program's
# children. net.listenFd on something that is not a socket is EINVAL.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
cat >app.js <<'JS'
import * as net from 'net';
import * as proc from 'process';
console.log(`fds ${JSON.stringify(dv8.listenFds)}`);
const server = net.listenFd(dv8.listenFds[0], 16, (conn) => {
  const buf = new Uint8Array(1024);
  net.readStart(conn, buf, (n) => {
    if (n < 0) { net.close(conn); net.close(server); return; }
    net.write(conn, buf, n);
  });
});
console.log(`server ${server > 0}`);
console.log(`not a socket ${net.listenFd(0, 16, () => {}) === -22}`);
proc.exec('/bin/sh', ['-c', 'echo "${LISTEN_FDS:-none} ${LISTEN_PID:-none}"; [ -e /proc/self/fd/3 ] && echo open || echo closed'], {}, (s, sig, out) => {
  console.log(`child sees ${new TextDecoder().decode(out).trim().replace('\n', ' ')}`);
});
JS
# perl: bind a socket, write its port, put it at fd 3, exec dv8 with the
# variables systemd sets ($^F keeps perl from marking it close-on-exec).
perl -MSocket -MPOSIX -e '
  $^F = 10;
  socket(S, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
  bind(S, pack_sockaddr_in(0, inet_aton("127.0.0.1"))) or die "bind: $!";
  listen(S, 16) or die "listen: $!";
  my ($port) = unpack_sockaddr_in(getsockname(S));
  open(my $fh, ">", "port") or die; print $fh $port; close $fh;
  POSIX::dup2(fileno(S), 3) if fileno(S) != 3;
  $ENV{LISTEN_PID} = $$; $ENV{LISTEN_FDS} = 1;
  exec @ARGV or die "exec: $!";
' "$DV8" app.js >out 2>err </dev/null &
pid=$!
pids+=($pid)
for _ in $(seq 200); do grep -q '^child sees' out 2>/dev/null && break; sleep 0.025; done
port=$(cat port)
reply=$(node -e '
  const s = require("net").connect(Number(process.argv[1]), "127.0.0.1", () => s.end("through fd 3"));
  let got = ""; s.on("data", (d) => got += d); s.on("end", () => process.stdout.write(got));
' "$port")
wait $pid || fail "dv8 failed: $(cat err)"
expect_eq "the echo" "$reply" "through fd 3"
expect_match "listenFds" "$(cat out)" '^fds \[3\]'
expect_match "a server" "$(cat out)" 'server true'
expect_match "EINVAL for a non-socket" "$(cat out)" 'not a socket true'
expect_match "nothing passed on" "$(cat out)" 'child sees none none closed'
echo ok
