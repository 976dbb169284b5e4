// Run: build/dv8 examples/http-hello.js [PORT [CERT.pem KEY.pem]]
//      then: curl http://127.0.0.1:8080/   (with CERT and KEY: https)
// Shows: the smallest HTTP server with the http module: every request is
// answered "hello" (keep-alive, pipelining, limits and timeouts are the
// module's); given a certificate and key, the same over TLS (ALPN
// http/1.1). tests/bench/http-peers measures it against node and nginx.
import * as http from 'http';

const [portArg = '8080', certFile, keyFile] = dv8.args;
const tls = certFile === undefined ? undefined : { certFile, keyFile };
const server = http.serve({ port: Number(portArg), tls }, () => new http.Response('hello'));
console.log(`listening on ${tls ? 'https' : 'http'}://127.0.0.1:${server.port}/`);
