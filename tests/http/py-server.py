# A python http.server for fetch's tests: python3 tests/http/py-server.py
# PORT. HTTP/1.1 with keep-alive (one thread per connection). Routes:
#   /hello            'hello'
#   /echo             the request body back (POST, PUT)
#   /method           the request's method
#   /big              1 MiB of bytes i*7 mod 251
#   /chunked          'abc' * 1000 in chunks
#   /port             the client's port (the same on a kept-alive connection)
#   /redirect/N       302 to /redirect/N-1; /redirect/0 says 'done'
#   /r303, /r307      303 to /method, 307 to /echo
#   /slow             'late' after 2 s
#   /eof              an answer without a length, ended by closing
#   /garbage          bytes that are not HTTP
#   /cut              a length of 100 and 10 bytes, then the end
#   /headers          the request's headers, one per line
import socketserver
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BIG = bytes(i * 7 % 251 for i in range(1 << 20))


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length", 0))
        if self.headers.get("Transfer-Encoding") == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(n)

    def route(self):
        p = self.path
        if p == "/hello":
            return self.send(200, b"hello", [("Content-Type", "text/plain")])
        if p == "/echo":
            return self.send(200, self.body())
        if p == "/method":
            self.body()
            return self.send(200, self.command.encode())
        if p == "/big":
            return self.send(200, BIG)
        if p == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(1000):
                self.wfile.write(b"3\r\nabc\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        if p == "/port":
            return self.send(200, str(self.client_address[1]).encode())
        if p.startswith("/redirect/"):
            n = int(p.split("/")[2])
            if n == 0:
                return self.send(200, b"done")
            return self.send(302, b"", [("Location", f"/redirect/{n - 1}")])
        if p == "/r303":
            self.body()
            return self.send(303, b"", [("Location", "/method")])
        if p == "/r307":
            self.body()
            return self.send(307, b"", [("Location", "/echo")])
        if p == "/slow":
            time.sleep(2)
            return self.send(200, b"late")
        if p == "/eof":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"until the end")
            self.close_connection = True
            return
        if p == "/garbage":
            self.wfile.write(b"HTTX/9 what\r\n\r\n")
            self.close_connection = True
            return
        if p == "/cut":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
            self.close_connection = True
            return
        if p == "/headers":
            return self.send(200, "".join(f"{k.lower()}: {v}\n" for k, v in self.headers.items()).encode())
        return self.send(404, b"not found")

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = route


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


s = Server(("127.0.0.1", int(sys.argv[1])), H)
print("listening", flush=True)
s.serve_forever()
