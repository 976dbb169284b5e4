# The http tests' client side: python3 tests/http/check.py PORT [CAFILE],
# against tests/http/server.js (timeouts of 500 ms, a 1 MiB body limit);
# with CAFILE, over TLS (the server's certificate checked, for localhost),
# every case but the half-close one (an SSL socket cannot half-close). Each case
# prints "ok NAME"; the first that fails prints "FAIL NAME: why" and the
# run exits 1. Raw sockets for what http.client will not send (malformed
# and smuggling shapes, pipelining, slow peers), http.client for the rest.
import hashlib
import http.client
import os
import socket
import ssl
import sys
import time

PORT = int(sys.argv[1])
CTX = ssl.create_default_context(cafile=sys.argv[2]) if len(sys.argv) > 2 else None
HOST = "localhost" if CTX else "127.0.0.1"


def fail(name, why):
    print(f"FAIL {name}: {why}")
    sys.exit(1)


def ok(name):
    print(f"ok {name}")


def conn(timeout=5):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return CTX.wrap_socket(s, server_hostname=HOST) if CTX else s


def client(timeout=5):
    if CTX:
        return http.client.HTTPSConnection(HOST, PORT, timeout=timeout, context=CTX)
    return http.client.HTTPConnection(HOST, PORT, timeout=timeout)


def read_all(s, limit=1 << 24):
    """Everything until the server closes (a timeout is a failure)."""
    out = bytearray()
    while len(out) < limit:
        b = s.recv(65536)
        if not b:
            break
        out += b
    return bytes(out)


def read_response(f):
    """One response from a file over the socket: (status, headers, body)."""
    line = f.readline()
    if not line:
        return None
    parts = line.decode("latin1").split(" ", 2)
    status = int(parts[1])
    headers = {}
    while True:
        h = f.readline().decode("latin1")
        if h in ("\r\n", ""):
            break
        k, v = h.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    body = b""
    if "content-length" in headers:
        body = f.read(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int(f.readline().strip(), 16)
            if size == 0:
                f.readline()
                break
            body += f.read(size)
            f.readline()
    return status, headers, body


def refused(name, raw, status, delay_after=None):
    """raw bytes get status and a closed connection."""
    s = conn()
    s.sendall(raw)
    if delay_after is not None:
        time.sleep(delay_after)
    try:
        got = read_all(s)
    except socket.timeout:
        fail(name, "the connection was not closed")
    s.close()
    first = got.split(b"\r\n", 1)[0].decode("latin1")
    if not first.startswith(f"HTTP/1.1 {status} "):
        fail(name, f"expected {status}, got {first!r}")
    if b"connection: close" not in got:
        fail(name, "no connection: close")
    ok(name)


# ---- malformed and smuggling shapes: 400 and closed ----
refused("bare LF", b"GET / HTTP/1.1\nHost: x\n\n", 400)
refused("bare CR", b"GET / HTTP/1.1\rHost: x\r\n\r\n", 400)
refused("obs-fold", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  2\r\n\r\n", 400)
refused("space before colon", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400)
refused("control char in value", b"GET / HTTP/1.1\r\nHost: x\x01y\r\n\r\n", 400)
refused("CL and TE", b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400)
refused("two CLs", b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400)
refused("TE not chunked", b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc", 400)
refused("bad chunk size", b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400)
refused("garbage", os.urandom(64).replace(b"\n", b"x") + b"\r\n\r\n", 400)
refused("HTTP/2.0", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505)
refused("head over 16 KiB", b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 17000 + b"\r\n\r\n", 431)
refused("101 headers", b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(101)) + b"\r\n", 431)
refused("body over the limit (length)", b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", 413)
refused("body over the limit (chunked)", b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n" + b"a" * 100, 413)

# ---- timeouts: 408 for a slow head or body; an idle connection closes ----
refused("slow head (slowloris)", b"GET / HTTP/1.1\r\nHost: x\r\n", 408, delay_after=0.8)
refused("stalled body", b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", 408, delay_after=0.8)
s = conn()
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
f = s.makefile("rb")
st, _, body = read_response(f)
t0 = time.time()
rest = f.read()  # the server closes the idle connection
waited = time.time() - t0
if st != 200 or body != b"hello" or rest != b"" or not (0.3 < waited < 3):
    fail("idle keep-alive closes", f"{st} {body!r} {rest!r} after {waited:.2f} s")
ok("idle keep-alive closes")
s = conn()
time.sleep(0.8)  # a connection that sends nothing
if s.recv(100) != b"":
    fail("silent connection closes", "got bytes")
ok("silent connection closes")

# ---- keep-alive and methods with http.client ----
c = client()
for i in range(50):
    c.request("GET", f"/n/{i}")
    r = c.getresponse()
    if r.status != 200 or r.read() != str(i).encode():
        fail("keep-alive", f"request {i}")
ok("keep-alive: 50 requests on one connection")
data = os.urandom(300000)
c.request("POST", "/echo", body=data)
r = c.getresponse()
if hashlib.sha256(r.read()).digest() != hashlib.sha256(data).digest():
    fail("echo 300 KB", "body differs")
ok("echo 300 KB (sha256)")


def chunks():
    for i in range(100):
        yield data[i * 3000:(i + 1) * 3000]


c.request("PUT", "/echo", body=chunks(), encode_chunked=True, headers={"Transfer-Encoding": "chunked"})
r = c.getresponse()
if r.read() != data:
    fail("chunked request body", "differs")
ok("chunked request body")
c.request("GET", "/stream/300")
r = c.getresponse()
b = r.read()
if r.getheader("transfer-encoding") != "chunked" or b != b"".join(str(i % 10).encode() * 1000 for i in range(300)):
    fail("chunked response", f"{len(b)} bytes")
ok("chunked response (300 KB streamed)")
c.request("HEAD", "/")
r = c.getresponse()
if r.status != 200 or r.getheader("content-length") != "5" or r.read() != b"":
    fail("HEAD", "bad answer")
c.request("GET", "/")
r = c.getresponse()
if r.read() != b"hello":
    fail("HEAD", "the next answer on the connection is off")
ok("HEAD: length, no body, connection goes on")
c.request("GET", "/throw")
r = c.getresponse()
if r.status != 500:
    fail("handler throws", str(r.status))
r.read()
c.request("GET", "/reject")
r = c.getresponse()
if r.status != 500:
    fail("handler rejects", str(r.status))
r.read()
c.request("GET", "/")
if c.getresponse().read() != b"hello":
    fail("after 500", "connection broken")
ok("a throwing or rejecting handler: 500, the connection goes on")
if not r.getheader("date", "").endswith("GMT"):
    fail("date header", r.getheader("date"))
ok("date header")
c.close()

# ---- Connection: close, HTTP/1.0 ----
s = conn()
s.sendall(b"GET /n/7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
got = read_all(s)
if not got.endswith(b"\r\n\r\n7") or b"connection: close" not in got:
    fail("Connection: close", repr(got))
ok("Connection: close: answered, closed")
s = conn()
s.sendall(b"GET /n/8 HTTP/1.0\r\n\r\n")
got = read_all(s)
if not got.startswith(b"HTTP/1.1 200") or not got.endswith(b"8"):
    fail("HTTP/1.0", repr(got))
ok("HTTP/1.0 without keep-alive: closed after")
s = conn()
s.sendall(b"GET /n/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
f = s.makefile("rb")
st, h, body = read_response(f)
if h.get("connection") != "keep-alive" or body != b"1":
    fail("HTTP/1.0 keep-alive", repr(h))
s.sendall(b"GET /n/2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
if read_response(f)[2] != b"2":
    fail("HTTP/1.0 keep-alive", "second")
ok("HTTP/1.0 keep-alive")
s.close()
s = conn()
s.sendall(b"GET /close HTTP/1.1\r\nHost: x\r\n\r\nGET /n/9 HTTP/1.1\r\nHost: x\r\n\r\n")
got = read_all(s)
if got.count(b"HTTP/1.1") != 1 or not got.endswith(b"bye"):
    fail("answer with connection: close", repr(got))
ok("an answer with connection: close ends the connection (the next request is not answered)")

# ---- Expect: 100-continue ----
s = conn()
s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
first = s.recv(100)
if first != b"HTTP/1.1 100 Continue\r\n\r\n":
    fail("100-continue", repr(first))
s.sendall(b"abcde")
f = s.makefile("rb")
st, h, body = read_response(f)
if body != b"abcde":
    fail("100-continue", repr(body))
s.close()
s = conn()
s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\n\r\n")
got = read_all(s)
if not got.startswith(b"HTTP/1.1 413"):
    fail("100-continue over the limit", repr(got[:40]))
ok("Expect: 100-continue (and 413 without a 100 for a body over the limit)")

# ---- pipelining: 1,000 requests in one write, answered in order ----
s = conn(timeout=20)
s.sendall(b"".join(b"GET /n/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(1000)))
f = s.makefile("rb")
for i in range(1000):
    r = read_response(f)
    if r is None or r[2] != str(i).encode():
        fail("pipelined 1000", f"answer {i}: {r!r}")
ok("pipelined burst of 1,000 requests answered in order")
# Handlers that finish out of order: answers still in order.
s.sendall(b"".join(b"GET /slow/%d/%d HTTP/1.1\r\nHost: x\r\n\r\n" % (50 - i * 10, i) for i in range(5)))
for i in range(5):
    r = read_response(f)
    if r is None or r[2] != str(i).encode():
        fail("pipelined slow", f"answer {i}: {r!r}")
ok("pipelined answers in order when later handlers finish first")
# A request cut by the client's half-close is still answered.
if not CTX:
    s.sendall(b"GET /n/77 HTTP/1.1\r\nHost: x\r\n\r\n")
    s.shutdown(socket.SHUT_WR)
    rest = f.read()
    if not rest.endswith(b"77"):
        fail("half-close", repr(rest))
    ok("a request before the client's half-close is answered, then the connection closes")

# ---- the server is still fine ----
c = client()
c.request("GET", "/")
if c.getresponse().read() != b"hello":
    fail("still serving", "")
ok("still serving after every bad case")
