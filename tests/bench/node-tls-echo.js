// node's TLS echo server, the peer of examples/tls-echo.js and of the C
// floor (tests/bench/tls-floor.c) in tests/bench/tls-peers.
//   node tests/bench/node-tls-echo.js PORT CERT KEY   (listens on 127.0.0.1)
// Kept lean for a fair comparison: pipe() echoes with backpressure, and
// noDelay sets TCP_NODELAY on each connection from its accept, as tls-floor
// does, so no flight or echo waits behind Nagle for an ACK.
'use strict';
const tls = require('tls');
const fs = require('fs');

const [port, cert, key] = process.argv.slice(2);
tls.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key), noDelay: true }, (socket) => {
  socket.on('error', () => socket.destroy());
  socket.pipe(socket);
}).listen(Number(port), '127.0.0.1');
