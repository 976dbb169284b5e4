// node's echo server peer for examples/echo.js, on node's net module.
//   node tests/bench/node-echo.js PORT      (listens on 127.0.0.1)
// allowHalfOpen keeps our side open after the client half-closes, so the
// echo already under way still goes out; pipe ends our side once it has.
// tests/bench/net-peers drives it with echo-client beside echo-uv and dv8.
'use strict';
const net = require('net');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error('usage: node node-echo.js PORT');
  process.exit(2);
}
const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  // The same as echo-uv: a one-per-request reply must not wait on Nagle.
  socket.setNoDelay(true);
  // A client that resets is its own problem, not a reason to stop serving.
  socket.on('error', () => socket.destroy());
  socket.pipe(socket);
});
server.listen(port, '127.0.0.1', () => {
  console.log(`listening 127.0.0.1:${server.address().port}`);
});
