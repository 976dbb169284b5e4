#!/usr/bin/env python3
"""WebSocket conformance cases against dv8's server (tests/ws/server.js):
what the Autobahn test suite's sections 1-7 check, each case named by its
RFC 6455 section, over raw sockets (frames made here, byte by byte where
it matters). Each case opens its own connection; a failing peer must get
the right close code and never stop the others.
  python3 tests/ws/conformance.py PORT
Prints one line per case and "conformance: N passed, M failed"; exit 1 if
any failed.
"""
import base64
import hashlib
import os
import socket
import struct
import sys
import time

PORT = int(sys.argv[1])
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
results = []


def connect(protocols=None, extra=b""):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    key = base64.b64encode(os.urandom(16))
    req = (b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
           b"Sec-WebSocket-Key: " + key + b"\r\n")
    if protocols:
        req += b"Sec-WebSocket-Protocol: " + protocols + b"\r\n"
    s.sendall(req + b"\r\n" + extra)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            raise AssertionError("closed during the handshake")
        head += chunk
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 101"), lines[0]
    fields = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
    want = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
    assert fields.get("sec-websocket-accept") == want, fields
    return s, fields


def frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length=None):
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload) if length is None else length
    if n < 126 and length is None:
        head = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
    else:
        head = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise EOFError("the server closed the connection")
        out += chunk
    return out


def read_frame(s):
    b0, b1 = recv_exact(s, 2)
    assert not b1 & 0x80, "a server's frame is masked"
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", recv_exact(s, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", recv_exact(s, 8))[0]
    return b0 & 0x0F, bool(b0 & 0x80), recv_exact(s, n)


def read_message(s):
    """A whole message (pongs and pings on the way are returned too)."""
    op, fin, data = read_frame(s)
    while not fin:
        op2, fin, more = read_frame(s)
        assert op2 == 0, f"opcode {op2} inside a fragmented message"
        data += more
    return op, data


def expect_close(s, code):
    """The server's close, with code, then its end of the connection."""
    while True:
        try:
            op, _, data = read_frame(s)
        except EOFError:
            raise AssertionError(f"the connection ended without a close ({code} expected)")
        if op == 8:
            break
    got = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
    assert got == code, f"close code {got}, expected {code}"
    s.settimeout(5)
    try:
        rest = s.recv(1)  # then the server ends the TCP connection
    except ConnectionResetError:
        rest = b""
    assert rest == b"", f"bytes after the close: {rest!r}"
    s.close()


def case(section, name):
    def wrap(fn):
        try:
            fn()
            results.append(True)
            print(f"ok   {section} {name}")
        except Exception as e:  # noqa: BLE001 (any failure is the case's)
            results.append(False)
            print(f"FAIL {section} {name}: {type(e).__name__}: {e}")
        return fn
    return wrap


def echo(s, op, payload):
    s.sendall(frame(op, payload))
    got_op, got = read_message(s)
    assert got_op == op and got == payload, f"echo: opcode {got_op}, {len(got)} bytes (sent {op}, {len(payload)})"


@case("4.2.2", "the handshake's subprotocol: the first offered that the server speaks")
def _():
    s, fields = connect(b"nope, chat, echo")
    assert fields.get("sec-websocket-protocol") == "chat", fields
    s.close()


@case("5.6", "text and binary of every length form come back intact")
def _():
    s, _ = connect()
    for n in (0, 1, 125, 126, 127, 65535, 65536, 100000, 1 << 20):
        payload = os.urandom(n)
        echo(s, 2, payload)
        text = ("aé€𝄞" * (n // 10 + 1))[: n // 4].encode()
        echo(s, 1, text)
    s.sendall(frame(8, struct.pack("!H", 1000)))
    expect_close(s, 1000)


@case("5.4", "a fragmented message with a ping between its fragments")
def _():
    s, _ = connect()
    s.sendall(frame(1, b"frag", fin=False) + frame(9, b"ping!") + frame(0, b"men", fin=False) + frame(0, b"ted", fin=True))
    op, data = read_message(s)
    assert (op, data) == (10, b"ping!"), (op, data)
    op, data = read_message(s)
    assert (op, data) == (1, b"fragmented"), (op, data)
    s.close()


@case("5.5.2", "a ping is answered with a pong carrying its payload")
def _():
    s, _ = connect()
    payload = os.urandom(125)
    s.sendall(frame(9, payload))
    op, data = read_message(s)
    assert (op, data) == (10, payload)
    s.close()


@case("5.2", "a frame sent one byte at a time")
def _():
    s, _ = connect()
    payload = os.urandom(3000)
    for b in frame(2, payload):
        s.sendall(bytes([b]))
    op, data = read_message(s)
    assert (op, data) == (2, payload)
    s.close()


@case("4.1", "frames sent with the handshake are read after it")
def _():
    s, _ = connect(extra=frame(1, b"early"))
    op, data = read_message(s)
    assert (op, data) == (1, b"early"), (op, data)
    s.close()


@case("5.1", "an unmasked client frame: 1002")
def _():
    s, _ = connect()
    s.sendall(frame(1, b"plain", mask=False))
    expect_close(s, 1002)


@case("5.2", "RSV1 set without an extension: 1002")
def _():
    s, _ = connect()
    s.sendall(frame(1, b"x", rsv=4))
    expect_close(s, 1002)


@case("5.2", "reserved opcodes 3 and 11: 1002")
def _():
    for op in (3, 11):
        s, _ = connect()
        s.sendall(frame(op, b"x"))
        expect_close(s, 1002)


@case("5.5", "a control frame over 125 bytes: 1002")
def _():
    s, _ = connect()
    s.sendall(frame(9, b"p" * 126))
    expect_close(s, 1002)


@case("5.5", "a fragmented control frame: 1002")
def _():
    s, _ = connect()
    s.sendall(frame(9, b"p", fin=False))
    expect_close(s, 1002)


@case("5.4", "a continuation with no message under way: 1002")
def _():
    s, _ = connect()
    s.sendall(frame(0, b"x"))
    expect_close(s, 1002)


@case("5.4", "a new message inside a fragmented one: 1002")
def _():
    s, _ = connect()
    s.sendall(frame(1, b"a", fin=False) + frame(1, b"b"))
    expect_close(s, 1002)


@case("5.2", "a length not in its shortest form: 1002")
def _():
    s, _ = connect()
    payload = b"short"
    key = os.urandom(4)
    s.sendall(struct.pack("!BBH", 0x81, 0x80 | 126, len(payload)) + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload)))
    expect_close(s, 1002)


@case("8.1", "invalid UTF-8 in a text message: 1007")
def _():
    s, _ = connect()
    s.sendall(frame(1, b"ok \xff bad"))
    expect_close(s, 1007)


@case("8.1", "invalid UTF-8 fails fast: at the first fragment, before the message ends")
def _():
    s, _ = connect()
    s.sendall(frame(1, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80", fin=False))
    expect_close(s, 1007)


@case("8.1", "a code point split across fragments is valid")
def _():
    s, _ = connect()
    euro = "€".encode()
    s.sendall(frame(1, euro[:1], fin=False) + frame(0, euro[1:2], fin=False) + frame(0, euro[2:]))
    op, data = read_message(s)
    assert (op, data) == (1, euro)
    s.close()


@case("7.4.1", "close codes a peer may not send (999, 1004, 1005, 1006, 1016, 2999, 5000): 1002")
def _():
    for code in (999, 1004, 1005, 1006, 1016, 2999, 5000):
        s, _ = connect()
        s.sendall(frame(8, struct.pack("!H", code)))
        expect_close(s, 1002)


@case("7.4.1", "close codes a peer may send (1000-1003, 1007-1011, 3000, 4999) are answered with the same")
def _():
    for code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999):
        s, _ = connect()
        s.sendall(frame(8, struct.pack("!H", code) + b"why"))
        expect_close(s, code)


@case("7.1.5", "a close with invalid UTF-8 in its reason: 1007")
def _():
    s, _ = connect()
    s.sendall(frame(8, struct.pack("!H", 1000) + b"\xff"))
    expect_close(s, 1007)


@case("5.5.1", "a close with a one-byte payload: 1002")
def _():
    s, _ = connect()
    s.sendall(frame(8, b"\x03"))
    expect_close(s, 1002)


@case("7.1.6", "an empty close is answered, and nothing after it is read")
def _():
    s, _ = connect()
    s.sendall(frame(8) + frame(1, b"after"))
    while True:
        op, _, data = read_frame(s)
        assert op in (8,), f"opcode {op} after the close"
        break
    assert data == b"", data
    s.close()


@case("10.4", "a message over maxPayload (2 MiB): 1009")
def _():
    s, _ = connect()
    head = frame(2, b"", length=3 * 1024 * 1024)
    s.sendall(head + os.urandom(65536))  # the header and a first part
    expect_close(s, 1009)


@case("10.4", "a fragmented message growing over maxPayload: 1009")
def _():
    s, _ = connect()
    part = os.urandom(1024 * 1024)
    try:
        s.sendall(frame(2, part, fin=False) + frame(0, part, fin=False) + frame(0, part, fin=False))
    except (BrokenPipeError, ConnectionResetError):
        pass
    expect_close(s, 1009)


@case("1", "after all of the above the server still echoes on a new connection")
def _():
    s, _ = connect()
    echo(s, 1, b"still here")
    s.close()


print(f"conformance: {sum(results)} passed, {len(results) - sum(results)} failed")
sys.exit(0 if all(results) else 1)
