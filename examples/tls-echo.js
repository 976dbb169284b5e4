// Run: build/dv8 examples/tls-echo.js PORT CERT.pem KEY.pem
//      then: openssl s_client -connect 127.0.0.1:PORT -quiet
//      (add -CAfile CA.pem -verify_return_error to check the certificate)
// Shows: a TLS echo server with the tls module. Each connection is a net
// Socket whose stream carries a TLS layer in C: the handlers are net's,
// `open` comes once the handshake is done, bytes in and out are plaintext.
// Reloadable as examples/echo.js is: the TLS state is C memory beside the
// stream, so a reload keeps every connection and its session. The Server
// is bound again with tls.reloadServer, which reads the certificate files
// again: renew them on disk, reload, and new connections get the new ones
// (those made before keep theirs).
import * as tls from 'tls';

const [portArg, certFile, keyFile] = dv8.args;
const port = Number(portArg);
if (!Number.isInteger(port) || certFile === undefined || keyFile === undefined) {
  console.error('usage: tls-echo.js PORT CERT.pem KEY.pem');
  dv8.exit(2);
}

let server;
const sockets = new Set();

const handlers = {
  open(socket) {
    sockets.add(socket);
    // Each write is a whole answer: none should wait behind Nagle for an ACK.
    socket.setNoDelay(true);
  },
  data(socket, bytes) {
    if (socket.write(bytes) === 'queued') socket.pause();
  },
  drain(socket) {
    socket.resume();
  },
  close(socket) {
    sockets.delete(socket);
  },
  error(target, err) {
    console.error(`tls-echo: ${err.message}`);
  },
};

export function load(state) {
  if (state !== undefined) {
    server = tls.reloadServer(state.server, { certFile, keyFile }, handlers);
    for (const socket of state.sockets) sockets.add(socket.reload(handlers));
    console.log(`tls-echo: reloaded, ${sockets.size} connections kept`);
    return;
  }
  try {
    server = tls.listen({ host: '127.0.0.1', port, certFile, keyFile }, handlers);
  } catch (err) {
    console.error(`tls-echo: ${err.message}`);
    dv8.exit(1);
    return;
  }
  console.log(`tls echo server on 127.0.0.1:${server.port}`);
}

export function unload() {
  return { server, sockets: [...sockets] };
}
