/*
 * The host's side of serdes. Writing goes through msgpack-c's packer.
 * Reading does not use msgpack-c's unpacker: it allocates the objects an
 * array or map header announces before reading them (a 6-byte input that
 * claims 100 million items costs a 4 GiB zone, measured) and reports depth
 * overruns as out-of-memory. The host needs no objects, only to know that a
 * message is sound and what it refers to, so it walks the bytes in place
 * with every length checked against what is left, as serdes.js does.
 */
#include "serdes/serdes.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "dv8.h"

/* ---- writing ---- */

int dv8_serdes_pack_undefined(msgpack_packer *pk) {
  static const char zero = 0;
  if (msgpack_pack_ext(pk, 1, DV8_EXT_SPECIAL) != 0 ||
      msgpack_pack_ext_body(pk, &zero, 1) != 0)
    return UV_ENOMEM;
  return 0;
}

int dv8_serdes_pack_cstr(msgpack_packer *pk, const char *s) {
  size_t n = strlen(s);
  if (msgpack_pack_str(pk, n) != 0 || msgpack_pack_str_body(pk, s, n) != 0)
    return UV_ENOMEM;
  return 0;
}

int dv8_serdes_pack_timestamp(msgpack_packer *pk, int64_t sec, uint32_t nsec) {
  if (nsec > 999999999)
    return UV_EINVAL;
  msgpack_timestamp t = {sec, nsec};
  return msgpack_pack_timestamp(pk, &t) != 0 ? UV_ENOMEM : 0;
}

/* An extension whose payload is MessagePack: packed apart first, since the
 * header holds the payload's size. */
static int pack_nested(msgpack_packer *pk, int8_t type,
                       const msgpack_sbuffer *payload) {
  if (msgpack_pack_ext(pk, payload->size, type) != 0 ||
      msgpack_pack_ext_body(pk, payload->data, payload->size) != 0)
    return UV_ENOMEM;
  return 0;
}

int dv8_serdes_pack_error(msgpack_packer *pk, const char *name,
                          const char *message, const char *stack) {
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer inner;
  msgpack_packer_init(&inner, &sb, msgpack_sbuffer_write);
  /* [name, message, stack or nil, own properties or nil], as serdes.js. */
  int err = msgpack_pack_array(&inner, 4) != 0 ? UV_ENOMEM : 0;
  if (err == 0)
    err = dv8_serdes_pack_cstr(&inner, name);
  if (err == 0)
    err = dv8_serdes_pack_cstr(&inner, message);
  if (err == 0)
    err = stack != NULL ? dv8_serdes_pack_cstr(&inner, stack)
                        : (msgpack_pack_nil(&inner) != 0 ? UV_ENOMEM : 0);
  if (err == 0 && msgpack_pack_nil(&inner) != 0)
    err = UV_ENOMEM;
  if (err == 0)
    err = pack_nested(pk, DV8_EXT_ERROR, &sb);
  msgpack_sbuffer_destroy(&sb);
  return err;
}

int dv8_serdes_pack_handle(msgpack_packer *pk, uint64_t id) {
  if (id == 0 || id > ((uint64_t)1 << 53) - 1)
    return UV_EINVAL; /* ids are positive safe integers on the JS side */
  char body[9];       /* the id as a MessagePack integer, smallest form */
  size_t n;
  if (id < 0x80) {
    body[0] = (char)id;
    n = 1;
  } else if (id < 0x100) {
    body[0] = (char)0xcc;
    body[1] = (char)id;
    n = 2;
  } else if (id < 0x10000) {
    body[0] = (char)0xcd;
    body[1] = (char)(id >> 8);
    body[2] = (char)id;
    n = 3;
  } else if (id < 0x100000000) {
    body[0] = (char)0xce;
    for (int i = 0; i < 4; i++)
      body[1 + i] = (char)(id >> (24 - 8 * i));
    n = 5;
  } else {
    body[0] = (char)0xcf;
    for (int i = 0; i < 8; i++)
      body[1 + i] = (char)(id >> (56 - 8 * i));
    n = 9;
  }
  if (msgpack_pack_ext(pk, n, DV8_EXT_HANDLE) != 0 ||
      msgpack_pack_ext_body(pk, body, n) != 0)
    return UV_ENOMEM;
  return 0;
}

/* ---- reading ---- */

typedef struct walker {
  const uint8_t *p;
  size_t end; /* the current region ends here (an ext payload, or the end) */
  size_t at;
  int max_depth;
  dv8_serdes_ext_cb on_ext;
  void *ud;
  dv8_serdes_error *err;
} walker;

__attribute__((format(printf, 3, 4))) static int fail(walker *w, size_t offset,
                                                      const char *fmt, ...) {
  if (w->err != NULL) {
    w->err->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err->message, sizeof(w->err->message), fmt, ap);
    va_end(ap);
  }
  return DV8_ESERDES;
}

static int need(walker *w, uint64_t n, const char *what) {
  if (n > w->end - w->at)
    return fail(w, w->at, "truncated: %zu of %llu bytes of %s", w->end - w->at,
                (unsigned long long)n, what);
  return 0;
}

static uint64_t be(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v = v << 8 | p[i];
  return v;
}

/* A big-endian length of n bytes at the cursor, consumed. */
static int length(walker *w, int n, const char *what, uint64_t *out) {
  int err = need(w, (uint64_t)n, what);
  if (err)
    return err;
  *out = be(w->p + w->at, n);
  w->at += (size_t)n;
  return 0;
}

static int skip(walker *w, uint64_t n, const char *what) {
  int err = need(w, n, what);
  if (err == 0)
    w->at += (size_t)n;
  return err;
}

static int value(walker *w, int depth);

/* count values of an array (or keys and values of a map) */
static int items(walker *w, uint64_t count, int depth, size_t header,
                 const char *what) {
  if (depth + 1 > w->max_depth)
    return fail(w, header, "nesting deeper than %d", w->max_depth);
  /* Every value takes a byte at least: a larger count is a lie. */
  if (count > w->end - w->at)
    return fail(w, w->at, "%s of %llu values in %zu bytes", what,
                (unsigned long long)count, w->end - w->at);
  for (uint64_t i = 0; i < count; i++) {
    int err = value(w, depth + 1);
    if (err)
      return err;
  }
  return 0;
}

/* The payload [at, at + n) must hold one value whose first byte is one of
 * the container headers serdes.js writes for this type. */
static int nested(walker *w, size_t n, int depth, size_t header, int8_t type,
                  int want_map, int items_wanted) {
  if (n == 0)
    return fail(w, header, "extension %d without a value inside", type);
  const uint8_t *h = w->p + w->at;
  uint8_t b = h[0];
  int is_map = (b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf;
  int is_array = (b >= 0x90 && b <= 0x9f) || b == 0xdc || b == 0xdd;
  if (want_map ? !is_map : !is_array)
    return fail(w, header, "extension %d without %s inside", type,
                want_map ? "a map" : "an array");
  if (items_wanted >= 0) {
    int width = b <= 0x9f ? 0 : b == 0xdc ? 2 : 4;
    uint64_t count = width == 0          ? (uint64_t)(b & 0x0f)
                     : n > (size_t)width ? be(h + 1, width)
                                         : (uint64_t)-1;
    if (count != (uint64_t)items_wanted)
      return fail(w, header, "extension %d without an array of %d inside", type,
                  items_wanted);
  }
  size_t outer = w->end;
  w->end = w->at + n;
  int err = value(w, depth);
  if (err == 0 && w->at != w->end)
    err = fail(w, w->at, "%zu bytes left over inside an extension",
               w->end - w->at);
  w->end = outer;
  return err;
}

int dv8_serdes_handle_id(const uint8_t *p, uint32_t size, uint64_t *id) {
  if (size == 0)
    return DV8_ESERDES;
  uint8_t b = p[0];
  uint64_t v;
  if (b < 0x80 && size == 1)
    v = b;
  else if (b == 0xcc && size == 2)
    v = p[1];
  else if (b == 0xcd && size == 3)
    v = be(p + 1, 2);
  else if (b == 0xce && size == 5)
    v = be(p + 1, 4);
  else if (b == 0xcf && size == 9)
    v = be(p + 1, 8);
  else
    return DV8_ESERDES;
  if (v == 0 || v > ((uint64_t)1 << 53) - 1)
    return DV8_ESERDES;
  *id = v;
  return 0;
}

static const uint8_t typed_sizes[] = {1, 1, 2, 2, 4, 4, 4, 8, 8, 8, 1};

static int ext(walker *w, uint64_t n, int depth, size_t header) {
  int err = need(w, 1, "an extension type");
  if (err)
    return err;
  int8_t type = (int8_t)w->p[w->at++];
  err = need(w, n, "an extension");
  if (err)
    return err;
  const uint8_t *body = w->p + w->at;
  switch (type) {
  case DV8_EXT_TIMESTAMP: {
    uint64_t nsec = n == 4    ? 0
                    : n == 8  ? be(body, 4) >> 2
                    : n == 12 ? be(body, 4)
                              : (uint64_t)-1;
    if (n != 4 && n != 8 && n != 12)
      return fail(w, header, "timestamp of %llu bytes (4, 8 or 12 expected)",
                  (unsigned long long)n);
    if (nsec > 999999999)
      return fail(w, header, "timestamp with %llu nanoseconds",
                  (unsigned long long)nsec);
    break;
  }
  case DV8_EXT_SPECIAL:
    if (n != 1 || body[0] > 1)
      return fail(w, header, "bad special value");
    break;
  case DV8_EXT_BIGINT:
    if (n == 0)
      return fail(w, header, "BigInt extension without bytes");
    break;
  case DV8_EXT_TYPED:
    if (n == 0 || body[0] >= sizeof(typed_sizes))
      return fail(w, header, "typed array extension without a known type");
    if ((n - 1) % typed_sizes[body[0]] != 0)
      return fail(w, header,
                  "typed array bytes not a whole number of elements");
    break;
  case DV8_EXT_HANDLE: {
    uint64_t id;
    if (dv8_serdes_handle_id(body, (uint32_t)n, &id) != 0)
      return fail(w, header, "handle extension without a handle id");
    break;
  }
  default:
    break;
  }
  if (w->on_ext != NULL) {
    err = w->on_ext(type, body, (uint32_t)n, header, w->ud);
    if (err)
      return err;
  }
  switch (type) {
  case DV8_EXT_MAP:
    return nested(w, (size_t)n, depth, header, type, 1, -1);
  case DV8_EXT_SET:
    return nested(w, (size_t)n, depth, header, type, 0, -1);
  case DV8_EXT_ERROR:
    return nested(w, (size_t)n, depth, header, type, 0, 4);
  case DV8_EXT_REGEXP:
    return nested(w, (size_t)n, depth, header, type, 0, 2);
  case DV8_EXT_TRANSFER:
    return nested(w, (size_t)n, depth, header, type, 0, 4);
  case DV8_EXT_HANDLE_DATA:
    return nested(w, (size_t)n, depth, header, type, 0, 3);
  }
  w->at += (size_t)n;
  return 0;
}

static int value(walker *w, int depth) {
  if (w->at >= w->end)
    return fail(w, w->at, "truncated: a value was expected");
  size_t header = w->at;
  uint8_t b = w->p[w->at++];
  uint64_t n;
  int err;
  if (b < 0x80 || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
    return 0;
  if (b <= 0x8f)
    return items(w, (uint64_t)(b & 0x0f) * 2, depth, header, "map");
  if (b <= 0x9f)
    return items(w, b & 0x0f, depth, header, "array");
  if (b <= 0xbf)
    return skip(w, b & 0x1f, "a str");
  switch (b) {
  case 0xc4:
  case 0xc5:
  case 0xc6:
    err = length(w, 1 << (b - 0xc4), "a bin length", &n);
    return err ? err : skip(w, n, "a bin");
  case 0xc7:
  case 0xc8:
  case 0xc9:
    err = length(w, 1 << (b - 0xc7), "an extension length", &n);
    return err ? err : ext(w, n, depth, header);
  case 0xca:
    return skip(w, 4, "a float32");
  case 0xcb:
    return skip(w, 8, "a float64");
  case 0xcc:
  case 0xcd:
  case 0xce:
  case 0xcf:
    return skip(w, (uint64_t)1 << (b - 0xcc), "an unsigned integer");
  case 0xd0:
  case 0xd1:
  case 0xd2:
  case 0xd3:
    return skip(w, (uint64_t)1 << (b - 0xd0), "a signed integer");
  case 0xd4:
  case 0xd5:
  case 0xd6:
  case 0xd7:
  case 0xd8:
    return ext(w, (uint64_t)1 << (b - 0xd4), depth, header);
  case 0xd9:
  case 0xda:
  case 0xdb:
    err = length(w, 1 << (b - 0xd9), "a str length", &n);
    return err ? err : skip(w, n, "a str");
  case 0xdc:
  case 0xdd:
    err = length(w, 2 << (b - 0xdc), "an array length", &n);
    return err ? err : items(w, n, depth, header, "array");
  case 0xde:
  case 0xdf:
    err = length(w, 2 << (b - 0xde), "a map length", &n);
    return err ? err : items(w, n * 2, depth, header, "map");
  }
  return fail(w, header, "0xc1 is not a MessagePack type");
}

int dv8_serdes_walk(const uint8_t *data, size_t len, int max_depth,
                    dv8_serdes_ext_cb on_ext, void *ud, dv8_serdes_error *err) {
  walker w = {data, len, 0, max_depth, on_ext, ud, err};
  if (max_depth < 1 || max_depth > DV8_SERDES_MAX_DEPTH)
    return fail(&w, 0, "maxDepth must be 1..%d", DV8_SERDES_MAX_DEPTH);
  if (len == 0)
    return fail(&w, 0, "no bytes to decode");
  int rc = value(&w, 0);
  if (rc == 0 && w.at != len)
    rc = fail(&w, w.at, "%zu bytes after the value", len - w.at);
  return rc;
}
