// node's TLS echo server, the peer of examples/tls-echo.js in
// tests/bench/tls-peers.
//   node tests/bench/node-tls-echo.js PORT CERT KEY   (listens on 127.0.0.1)
'use strict';
const tls = require('tls');
const fs = require('fs');

const [port, cert, key] = process.argv.slice(2);
tls.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (socket) => {
  socket.on('error', () => socket.destroy());
  socket.pipe(socket);
}).listen(Number(port), '127.0.0.1');
