#!/usr/bin/python3
"""Python's msgpack as an interop peer of dv8's serdes, for
tests/shell/test-serdes-interop-peers.sh. Both of its codecs are peers: the
compiled one (msgpack._cmsgpack, named "python") and the pure Python one
(msgpack.fallback, "python-pure"), written apart (they share the Timestamp
and ExtType classes, not the reading and writing).

  interop.py encode DIR
      each implementation decodes the edge corpus (DIR/edge.bin) and dv8's
      random values (random.dv8.bin), checks every value against the JSON
      that describes it, and writes them back (edge.NAME.bin,
      random.NAME.bin) for interop-peers.mjs to check the bytes; then this
      script's own seeded random values go to pyrandom.bin (both
      implementations must write the same bytes) and pyrandom.json.
  interop.py check DIR
      each implementation decodes every peer's writing of the edge corpus
      and dv8's writing of pyrandom.bin back to the values they stand for;
      msgpack-c's and Ruby's rewriting of pyrandom.bin must be its bytes.

Run with Debian's /usr/bin/python3: python3-msgpack is installed for it, not
for a python3 from pyenv or a venv. Prints "NAME ...: N values ok" lines or
the first differences, exit 1.

Values are compared in a model that keeps what MessagePack tells apart:
arrays are tuples, maps are Pairs (ordered, any keys, no hashing surprises
such as True == 1), extensions Ext, timestamps msgpack.Timestamp; a bool is
no int, an int no float, -0.0 is not 0.0, NaN equals NaN.
"""
import json
import math
import random
import struct
import sys

import msgpack
from msgpack import _cmsgpack, fallback

# By module, not msgpack.Packer: that is the fallback when the compiled one
# is missing or MSGPACK_PUREPYTHON is set, and the test would run one codec
# twice under two names.
IMPLS = {
    "python": (_cmsgpack.Packer, _cmsgpack.unpackb),
    "python-pure": (fallback.Packer, fallback.unpackb),
}
PRODUCERS = ["dv8", "c", "python", "python-pure", "ruby"]
SEED = 20261123
COUNT = 1500
SAFE = 2**53 - 1
SHOW = 8  # differences printed in full per check
UNREAD = object()  # what a frame that did not decode gives (None is nil)


class Pairs:
    """A MessagePack map as read: its pairs in order."""

    def __init__(self, pairs):
        self.pairs = tuple(pairs)

    def __repr__(self):
        return "{" + ", ".join(f"{k!r}: {v!r}" for k, v in self.pairs) + "}"


class Ext:
    """An extension other than a timestamp. msgpack.ExtType refuses types
    below 0, which the format has (-128..-2 are reserved, not invalid)."""

    def __init__(self, code, data):
        self.code = code
        self.data = bytes(data)

    def __repr__(self):
        return f"Ext({self.code}, {self.data[:16].hex()}{'...' if len(self.data) > 16 else ''})"


def unpack(impl, data):
    return IMPLS[impl][1](
        data, raw=False, use_list=False, object_pairs_hook=Pairs, ext_hook=Ext,
        strict_map_key=False, timestamp=0)


def pack(impl, value):
    # The containers are walked here because a Pairs is not a dict (keys
    # may be maps, arrays of maps...): each header and each scalar is still
    # written by the implementation under test.
    p = IMPLS[impl][0](autoreset=False)

    def walk(v):
        t = type(v)
        if t is tuple:
            p.pack_array_header(len(v))
            for x in v:
                walk(x)
        elif t is Pairs:
            p.pack_map_header(len(v.pairs))
            for k, x in v.pairs:
                walk(k)
                walk(x)
        elif t is Ext:
            p.pack_ext_type(v.code, v.data)
        else:
            p.pack(v)

    walk(value)
    return p.bytes()


def negative_ext(v):
    if type(v) is Ext:
        return v.code < 0
    if type(v) is tuple:
        return any(negative_ext(x) for x in v)
    if type(v) is Pairs:
        return any(negative_ext(k) or negative_ext(x) for k, x in v.pairs)
    return False


def same(a, b):
    if type(a) is not type(b):
        return False
    t = type(a)
    if t is float:
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if t is tuple:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if t is Pairs:
        return len(a.pairs) == len(b.pairs) and all(
            same(k, l) and same(x, y) for (k, x), (l, y) in zip(a.pairs, b.pairs))
    if t is Ext:
        return a.code == b.code and a.data == b.data
    if t is msgpack.Timestamp:
        return a.seconds == b.seconds and a.nanoseconds == b.nanoseconds
    return a == b


def is_index(k):
    return k.isdigit() and k.isascii() and (k == "0" or k[0] != "0") and int(k) <= 2**32 - 2


def js(v):
    """A value as it comes back from dv8 (docs/serdes.md): a JS number, so a
    float that is an integer within 2^53 is written back as an integer; a
    map with a key other than a string is a JS Map, written as dv8's
    extension 0x51 around the map; a map with string keys is an object,
    whose array-index names come first, ascending. Applied to both sides of
    a comparison with what dv8 wrote."""
    t = type(v)
    if t is float and math.isfinite(v) and v == int(v) and abs(v) <= SAFE and not (v == 0 and math.copysign(1, v) < 0):
        return int(v)
    if t is tuple:
        return tuple(js(x) for x in v)
    if t is Pairs:
        pairs = [(js(k), js(x)) for k, x in v.pairs]
        if all(type(k) is str for k, _ in pairs):
            pairs = sorted((p for p in pairs if is_index(p[0])), key=lambda p: int(p[0])) + [
                p for p in pairs if not is_index(p[0])]
        return Pairs(pairs)
    if t is Ext and v.code == 0x51:
        inner = unpack("python", v.data)
        if type(inner) is not Pairs:
            return v  # not a Map: left as it is, to differ
        return js(inner)
    return v


def untag(t):
    """The JSON description of a value (edge-corpus.mjs's tagged())."""
    if t is None or type(t) is bool:
        return t
    if "int" in t:
        return int(t["int"])
    if "float" in t:
        return struct.unpack(">d", bytes.fromhex(t["float"]))[0]
    if "str" in t:
        return t["str"]
    if "bin" in t:
        return bytes.fromhex(t["bin"])
    if "array" in t:
        return tuple(untag(x) for x in t["array"])
    if "map" in t:
        return Pairs((untag(k), untag(x)) for k, x in t["map"])
    if "ext" in t:
        return Ext(t["ext"], bytes.fromhex(t["data"]))
    if "ts" in t:
        return msgpack.Timestamp(int(t["ts"][0]), t["ts"][1])
    raise ValueError(f"bad tagged value {t!r}")


def tag(v):
    t = type(v)
    if v is None or t is bool:
        return v
    if t is int:
        return {"int": str(v)}
    if t is float:
        return {"float": struct.pack(">d", v).hex()}
    if t is str:
        return {"str": v}
    if t is bytes:
        return {"bin": v.hex()}
    if t is tuple:
        return {"array": [tag(x) for x in v]}
    if t is Pairs:
        return {"map": [[tag(k), tag(x)] for k, x in v.pairs]}
    if t is Ext:
        return {"ext": v.code, "data": v.data.hex()}
    if t is msgpack.Timestamp:
        return {"ts": [str(v.seconds), v.nanoseconds]}
    raise TypeError(f"cannot tag {v!r}")


def ruby_merges(v):
    """Whether a map in v has two keys a Ruby Hash takes as one: a str and a
    bin of the same ASCII bytes (Ruby compares ASCII-only strings whatever
    their encoding), also inside array keys. interop.rb cannot hold such a
    value and leaves it out."""
    def key(k):
        if type(k) in (str, bytes):
            b = k.encode() if type(k) is str else k
            return ("ascii", b) if b.isascii() else (type(k).__name__, b)
        if type(k) is tuple:
            return tuple(key(x) for x in k)
        return (type(k).__name__, k)

    t = type(v)
    if t is tuple:
        return any(ruby_merges(x) for x in v)
    if t is Pairs:
        keys = [key(k) for k, _ in v.pairs]
        return len(set(keys)) < len(keys) or any(ruby_merges(k) or ruby_merges(x) for k, x in v.pairs)
    return False


def parts(v):
    if type(v) is tuple:
        return [(f"[{i}]", x) for i, x in enumerate(v)]
    if type(v) is Pairs:
        return [p for i, (k, x) in enumerate(v.pairs) for p in ((f".<key {i}>", k), (f"[{short(k)[:24]}]", x))]
    return None


def where(a, b, path="value"):
    """The first place where a and b part (short() cuts long values)."""
    pa, pb = parts(a), parts(b)
    if pa is not None and pb is not None and type(a) is type(b) and len(pa) == len(pb):
        for (n, x), (_, y) in zip(pa, pb):
            if not same(x, y):
                return where(x, y, path + n)
    return f"{path} is {short(a)}, expected {short(b)}"


def short(v):
    s = repr(v)
    return s if len(s) <= 300 else s[:300] + "..."


def hexs(b):
    s = b[:32].hex(" ")
    return s if len(b) <= 32 else f"{s} ... ({len(b)} bytes)"


class Check:
    """One check's failures, the first few printed."""

    def __init__(self, what):
        self.what = what
        self.failed = 0

    def fail(self, msg):
        self.failed += 1
        if self.failed <= SHOW:
            print(f"{self.what}: {msg}")

    def done(self, count, extra=""):
        if self.failed:
            print(f"{self.what}: {self.failed} of {count} values wrong")
        else:
            print(f"{self.what}: {count} values ok{extra}")
        return self.failed == 0


def unframe(path):
    with open(path, "rb") as f:
        data = f.read()
    out, p = [], 0
    while p < len(data):
        (n,) = struct.unpack(">I", data[p:p + 4])
        out.append(data[p + 4:p + 4 + n])
        p += 4 + n
    return out


def frame(path, frames):
    with open(path, "wb") as f:
        for b in frames:
            f.write(struct.pack(">I", len(b)) + b)


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def decode_all(chk, impl, frames, values, names, normalize=lambda v: v):
    """Decodes each frame and compares it with its value; the decoded
    values (UNREAD where a frame did not decode)."""
    if len(frames) != len(values):
        chk.fail(f"{len(frames)} values, {len(values)} expected")
    out = []
    for i, (b, want) in enumerate(zip(frames, values)):
        try:
            got = unpack(impl, b)
        except Exception as err:
            chk.fail(f"{names[i]}: {hexs(b)} does not decode: {type(err).__name__}: {err}")
            out.append(UNREAD)
            continue
        g, w = normalize(got), normalize(want)
        if not same(g, w):
            chk.fail(f"{names[i]}: {hexs(b)} decodes wrong:\n  {where(g, w)}")
        out.append(got)
    return out


# Values of this peer's own, seeded: every MessagePack type in the shapes
# Python has for it, boundaries and random bits alike.
def generate(seed, count):
    r = random.Random(seed)
    text = ["abc", "xyz_-09 ", "\0\x01\n\t\"\\\x7f", "éüßÿ", "日本語中文", "😀🎉\U0010ffff\uffff\ue000"]

    def integer():
        kind = r.randrange(4)
        if kind == 0:
            return r.randrange(-32, 128)
        if kind == 1:
            return min(2**64 - 1, r.choice([2**7, 2**8, 2**15, 2**16, 2**31, 2**32, 2**53, 2**63, 2**64]) + r.randrange(-2, 2))
        if kind == 2:
            return max(-(2**63), -r.choice([2**5, 2**7, 2**15, 2**31, 2**53, 2**63]) + r.randrange(-2, 2))
        return r.randrange(-(2**63), 2**64)

    def floating():
        kind = r.randrange(5)
        if kind == 0:
            return struct.unpack(">d", r.getrandbits(64).to_bytes(8, "big"))[0]
        if kind == 1:
            return r.choice([0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, 1.7976931348623157e308, 2.0**53, 2.0**53 - 1, 2.0**63])
        if kind == 2:
            return float(r.randrange(-(2**60), 2**60))
        if kind == 3:
            return r.uniform(-1e6, 1e6)
        return struct.unpack(">f", r.getrandbits(32).to_bytes(4, "big"))[0]

    def string():
        a = r.choice(text)
        return "".join(r.choice(a) for _ in range(r.choice([0, 1, 2, 5, 31, 32, 33, 255, 256, 1000])))

    def key():
        return r.choice([string()[:12], str(r.randrange(10)), str(r.randrange(2**32 + 2)), "01", "-1", "__proto__", ""])

    def odd_key():
        # No NaN and no -0.0: a JS Map holds one NaN key and takes -0 as 0.
        kind = r.randrange(7)
        if kind == 0:
            return integer()
        if kind == 1:
            return None
        if kind == 2:
            return r.random() < 0.5
        if kind == 3:
            f = floating()
            return 0.5 if math.isnan(f) or (f == 0 and math.copysign(1, f) < 0) else f
        if kind == 4:
            return r.randbytes(r.randrange(4))
        if kind == 5:
            return (integer(), string()[:4])
        return key()

    def value(depth):
        kind = r.randrange(13 if depth < 4 else 9)
        if kind == 0:
            return None
        if kind == 1:
            return r.random() < 0.5
        if kind in (2, 3):
            return integer()
        if kind == 4:
            return floating()
        if kind == 5:
            return string()
        if kind == 6:
            return r.randbytes(r.choice([0, 1, 2, 31, 32, 255, 256, 300]))
        if kind == 7:
            # Seconds within 2^53: dv8 refuses more (see edge-corpus.mjs).
            form = r.randrange(3)
            if form == 0:
                return msgpack.Timestamp(r.randrange(2**32), 0)
            if form == 1:
                return msgpack.Timestamp(r.randrange(2**34), r.randrange(10**9))
            return msgpack.Timestamp(r.randrange(-SAFE, SAFE + 1), r.randrange(10**9))
        if kind == 8:
            # Not dv8's own types 0x50..0x59, which mean something to it.
            code = r.choice([c for c in range(128) if not 0x50 <= c <= 0x59])
            return msgpack.ExtType(code, r.randbytes(r.choice([0, 1, 2, 3, 4, 8, 16, 17, 255, 256])))
        if kind in (9, 12):
            return [value(depth + 1) for _ in range(r.randrange(9))]
        if kind == 10:
            return {key(): value(depth + 1) for _ in range(r.randrange(9))}
        return {odd_key(): value(depth + 1) for _ in range(r.randrange(9))}

    return [value(0) for _ in range(count)]


def model(v):
    """A native value as the model has it after decoding."""
    if type(v) is list:
        return tuple(model(x) for x in v)
    if type(v) is dict:
        return Pairs((model(k), model(x)) for k, x in v.items())
    if type(v) is msgpack.ExtType:
        return Ext(v.code, v.data)
    return v


def encode_mode(d):
    ok = True
    edge = load_json(f"{d}/edge.json")
    edge_values = [untag(e["value"]) for e in edge]
    edge_names = [f"edge #{i} '{e['name']}'" for i, e in enumerate(edge)]
    rand_values = [untag(t) for t in load_json(f"{d}/random.json")]
    rand_names = [f"random #{i}" for i in range(len(rand_values))]
    for impl in IMPLS:
        for what, src, dst, values, names in (
                ("the edge corpus", "edge.bin", "edge", edge_values, edge_names),
                ("dv8's random values", "random.dv8.bin", "random", rand_values, rand_names)):
            chk = Check(f"{impl} decodes {what}")
            decoded = decode_all(chk, impl, unframe(f"{d}/{src}"), values, names)
            out, skipped = [], 0
            for i, v in enumerate(decoded):
                if v is UNREAD:
                    out.append(b"")
                elif impl == "python-pure" and negative_ext(v):
                    # msgpack.fallback's pack_ext_type takes 0..127 only:
                    # an empty frame says it cannot write this value.
                    out.append(b"")
                    skipped += 1
                else:
                    out.append(pack(impl, v))
            frame(f"{d}/{dst}.{impl}.bin", out)
            ok = chk.done(len(values), f", {skipped} it cannot write back" if skipped else "") and ok

    values = generate(SEED, COUNT)
    chk = Check("python and python-pure encode their random values")
    encoded = []
    for i, v in enumerate(values):
        a = _cmsgpack.Packer().pack(v)
        b = fallback.Packer().pack(v)
        if a != b:
            chk.fail(f"#{i} {short(v)}: python writes {hexs(a)}, python-pure {hexs(b)}")
        encoded.append(a)
    frame(f"{d}/pyrandom.bin", encoded)
    with open(f"{d}/pyrandom.json", "w", encoding="utf-8") as f:
        json.dump([tag(model(v)) for v in values], f)
    return chk.done(len(values)) and ok


def check_mode(d):
    ok = True
    edge = load_json(f"{d}/edge.json")
    values = [untag(e["value"]) for e in edge]
    names = [f"edge #{i} '{e['name']}'" for i, e in enumerate(edge)]
    mine = [model(v) for v in generate(SEED, COUNT)]
    mine_names = [f"pyrandom #{i}" for i in range(len(mine))]
    for impl in IMPLS:
        for producer in PRODUCERS:
            chk = Check(f"{impl} decodes {producer}'s writing of the edge corpus")
            frames = unframe(f"{d}/edge.{producer}.bin")
            # Empty frames: a value its producer refused or cannot write,
            # which interop-peers.mjs allows only where the corpus says so.
            keep = [i for i, b in enumerate(frames) if b]
            decode_all(chk, impl, [frames[i] for i in keep], [values[i] for i in keep], [names[i] for i in keep],
                       js if producer == "dv8" else lambda v: v)
            ok = chk.done(len(keep), f", {len(frames) - len(keep)} left out" if len(keep) < len(frames) else "") and ok
        chk = Check(f"{impl} decodes dv8's writing of its random values")
        decode_all(chk, impl, unframe(f"{d}/pyrandom.dv8.bin"), mine, mine_names, js)
        ok = chk.done(len(mine)) and ok
    sent = unframe(f"{d}/pyrandom.bin")
    for producer in ("c", "ruby"):
        chk = Check(f"python checks {producer}'s writing of its random values")
        back = unframe(f"{d}/pyrandom.{producer}.bin")
        if len(back) != len(sent):
            chk.fail(f"{len(back)} values, {len(sent)} expected")
        left = 0
        for i, (a, b) in enumerate(zip(sent, back)):
            merges = producer == "ruby" and ruby_merges(mine[i])
            if merges and b == b"":
                left += 1
            elif merges:
                chk.fail(f"pyrandom #{i} {short(mine[i])}: ruby cannot hold it, yet wrote {hexs(b)}")
            elif a != b:
                chk.fail(f"pyrandom #{i} {short(mine[i])}: python wrote\n  {hexs(a)}, {producer} wrote back\n  {hexs(b)}")
        ok = chk.done(len(sent) - left, f", {left} left out (keys a Ruby Hash merges)" if left else "") and ok
    return ok


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("encode", "check"):
        print("usage: interop.py encode|check DIR")
        sys.exit(2)
    sys.exit(0 if (encode_mode if sys.argv[1] == "encode" else check_mode)(sys.argv[2]) else 1)
