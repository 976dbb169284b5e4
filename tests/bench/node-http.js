// node tests/bench/node-http.js PORT [CERT KEY]: node's http (or, with
// CERT and KEY, https) hello world, the peer of examples/http-hello.js in
// tests/bench/http-peers.
const fs = require('fs');
const [port, cert, key] = process.argv.slice(2);
const hello = (req, res) => res.end('hello');
const server = cert === undefined
  ? require('http').createServer(hello)
  : require('https').createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, hello);
server.listen(Number(port), '127.0.0.1');
