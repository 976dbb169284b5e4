// Run: build/dv8 examples/http-hello.js [PORT]   (default 8080)
//      then: curl http://127.0.0.1:8080/
// Shows: the smallest HTTP server with the http module: every request is
// answered "hello" (keep-alive, pipelining, limits and timeouts are the
// module's). tests/bench/http-peers measures it against node and nginx.
import * as http from 'http';

const port = Number(dv8.args[0] ?? 8080);
const server = http.serve({ port }, () => new http.Response('hello'));
console.log(`listening on http://127.0.0.1:${server.port}/`);
