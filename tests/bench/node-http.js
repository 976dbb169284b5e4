// node tests/bench/node-http.js PORT: node's http hello world, the peer of
// examples/http-hello.js in tests/bench/http-peers.
const http = require('http');
http.createServer((req, res) => res.end('hello')).listen(Number(process.argv[2]), '127.0.0.1');
