/*
 * The host's serdes: exact bytes of what it packs, and the walker's
 * verdicts on sound, truncated, lying and too deep input, with the
 * extensions it reports. With arguments it is a tool for
 * tests/shell/test-serdes-c.sh:
 *   serdes --walk FILE...     one line per file: "ok" or "error: ..."
 *   serdes --handles FILE     the handle ids a message refers to, in order
 *   serdes --pack             a message packed by the host, to stdout
 */
#include <stdio.h>
#include <string.h>

#include "host/host.h"
#include "serdes/serdes.h"
#include "unit.h"

const dv8_api_t dv8__api_table;

static msgpack_sbuffer sb;
static msgpack_packer pk;

static void reset(void) { msgpack_sbuffer_clear(&sb); }

static char *hex(const void *p, size_t n) {
  static char out[4096];
  const uint8_t *b = p;
  size_t i = 0;
  for (; i < n && i * 2 + 2 < sizeof(out); i++)
    sprintf(out + i * 2, "%02x", b[i]);
  out[i * 2] = '\0';
  return out;
}

static size_t unhex(const char *h, uint8_t *out, size_t cap) {
  size_t n = strlen(h) / 2;
  ASSERT(n <= cap);
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    sscanf(h + i * 2, "%2x", &v);
    out[i] = (uint8_t)v;
  }
  return n;
}

#define PACKED(expected)                                                       \
  do {                                                                         \
    const char *got_ = hex(sb.data, sb.size);                                  \
    if (strcmp(got_, expected) != 0) {                                         \
      fprintf(stderr, "%s:%d: packed %s, expected %s\n", __FILE__, __LINE__,   \
              got_, expected);                                                 \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

typedef struct seen {
  int count;
  int8_t types[16];
  uint64_t handles[16];
  int handle_count;
  int stop_at; /* return 99 at this ext, or -1 */
} seen;

static int on_ext(int8_t type, const uint8_t *payload, uint32_t size,
                  size_t offset, void *ud) {
  (void)offset;
  seen *s = ud;
  if (s->count < 16)
    s->types[s->count] = type;
  if (s->count++ == s->stop_at)
    return 99;
  uint64_t id;
  if (type == DV8_EXT_HANDLE && s->handle_count < 16 &&
      dv8_serdes_handle_id(payload, size, &id) == 0)
    s->handles[s->handle_count++] = id;
  return 0;
}

/* Walks hex input; returns the code, message in err. */
static int walk_hex(const char *h, int depth, seen *s, dv8_serdes_error *err) {
  static uint8_t buf[16384];
  size_t n = unhex(h, buf, sizeof(buf));
  return dv8_serdes_walk(buf, n, depth, s ? on_ext : NULL, s, err);
}

#define REFUSED(h, needle)                                                     \
  do {                                                                         \
    dv8_serdes_error e_;                                                       \
    memset(&e_, 0, sizeof(e_));                                                \
    int rc_ = walk_hex(h, 32, NULL, &e_);                                      \
    if (rc_ != DV8_ESERDES || strstr(e_.message, needle) == NULL) {            \
      fprintf(stderr, "%s:%d: %s: rc %d, message '%s', expected '%s'\n",       \
              __FILE__, __LINE__, h, rc_, e_.message, needle);                 \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

#define ACCEPTED(h)                                                            \
  do {                                                                         \
    dv8_serdes_error e_ = {0, ""};                                             \
    int rc_ = walk_hex(h, 32, NULL, &e_);                                      \
    if (rc_ != 0) {                                                            \
      fprintf(stderr, "%s:%d: %s refused: %s\n", __FILE__, __LINE__, h,        \
              e_.message);                                                     \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

static void test_pack(void) {
  reset();
  ASSERT_EQ(dv8_serdes_pack_undefined(&pk), 0);
  PACKED("d45000");
  reset();
  ASSERT_EQ(dv8_serdes_pack_handle(&pk, 5), 0);
  PACKED("d45705");
  reset();
  ASSERT_EQ(dv8_serdes_pack_handle(&pk, 300), 0);
  PACKED("c70357cd012c");
  reset();
  ASSERT_EQ(dv8_serdes_pack_handle(&pk, ((uint64_t)1 << 53) - 1), 0);
  PACKED("c70957cf001fffffffffffff");
  ASSERT_EQ(dv8_serdes_pack_handle(&pk, 0), UV_EINVAL);
  ASSERT_EQ(dv8_serdes_pack_handle(&pk, (uint64_t)1 << 53), UV_EINVAL);
  reset();
  ASSERT_EQ(dv8_serdes_pack_timestamp(&pk, 1, 0), 0);
  PACKED("d6ff00000001");
  reset();
  ASSERT_EQ(dv8_serdes_pack_timestamp(&pk, 1, 5), 0);
  PACKED("d7ff0000001400000001");
  reset();
  ASSERT_EQ(dv8_serdes_pack_timestamp(&pk, -1, 0), 0);
  PACKED("c70cff00000000ffffffffffffffff");
  ASSERT_EQ(dv8_serdes_pack_timestamp(&pk, 0, 1000000000), UV_EINVAL);
  reset();
  ASSERT_EQ(dv8_serdes_pack_error(&pk, "RangeError", "boom", NULL), 0);
  PACKED("c7135594aa52616e67654572726f72a4626f6f6dc0c0");
  reset();
  ASSERT_EQ(dv8_serdes_pack_error(&pk, "Error", "x", "Error: x\n    at y"), 0);
  PACKED("c71c5594a54572726f72a178b14572726f723a20780a2020202061742079c0");
}

static void test_walk(void) {
  /* Sound values of every kind (the extensions as serdes.js wrote them). */
  ACCEPTED("c0");
  ACCEPTED("93c3c2a161");
  ACCEPTED("82a16101a162c403010203");
  ACCEPTED("cb3fe0000000000000");
  ACCEPTED("d3ffffffffffffffff");
  ACCEPTED("d6ff00000001");
  ACCEPTED("c70cff00000000ffffffffffffffff");
  ACCEPTED("d45000");
  ACCEPTED("c7045181a16101");           /* new Map([['a', 1]]) */
  ACCEPTED("c702529101");               /* new Set([1]) */
  ACCEPTED("c70953400000000000000000"); /* 2n ** 70n */
  ACCEPTED("c705540201000200");         /* new Int16Array([1, 2]) */
  ACCEPTED("c7065692a2612ba167");       /* /a+/g */
  ACCEPTED("81a178c705589400fe0203");   /* a transferred view */
  ACCEPTED("c7085993a16b0581a16e01");   /* a handle with data */
  ACCEPTED("c7027f0102");               /* unknown types pass through */

  /* Truncated at every width, and lengths beyond the input. */
  REFUSED("", "no bytes");
  REFUSED("cd01", "truncated: 1 of 2 bytes of an unsigned integer");
  REFUSED("cb3fe0", "truncated");
  REFUSED("a5616263", "truncated: 3 of 5 bytes of a str");
  REFUSED("d9", "truncated: 0 of 1 bytes of a str length");
  REFUSED("dbffffffff61", "truncated: 1 of 4294967295 bytes of a str");
  REFUSED("c6ffffffff", "truncated: 0 of 4294967295 bytes of a bin");
  REFUSED("ddffffffff01", "array of 4294967295 values in 1 bytes");
  REFUSED("dfffffffff0101", "map of 8589934590 values in 2 bytes");
  REFUSED("c9ffffffff50", "truncated: 0 of 4294967295 bytes of an extension");
  REFUSED("92c0", "array of 2 values in 1 bytes");
  REFUSED("92a3616263", "truncated: a value was expected");
  REFUSED("c1", "0xc1 is not a MessagePack type");
  REFUSED("c0c0", "1 bytes after the value");

  /* Extensions with the wrong size or the wrong thing inside. */
  REFUSED("d5ff0000", "timestamp of 2 bytes");
  REFUSED("d7ffffffffff00000000", "nanoseconds");
  REFUSED("d45002", "bad special value");
  REFUSED("c70054", "typed array extension without a known type");
  REFUSED("c704540201000200", "not a whole number");
  REFUSED("c7035191a161", "extension 81 without a map inside");
  REFUSED("c703529201a161",
          "truncated: 0 of 1 bytes of a str"); /* not past the payload */
  REFUSED("c7035291c0c0", "1 bytes left over inside an extension");
  REFUSED("c703559201c0", "without an array of 4 inside");
  REFUSED("c7015700", "handle extension without a handle id");
  REFUSED("c70257a161", "handle extension without a handle id");
  REFUSED("c703599205c0", "without an array of 3 inside");

  /* Depth: 32 nested arrays pass, 33 do not; the limit is the caller's. */
  char deep[200] = "";
  for (int i = 0; i < 32; i++)
    strcat(deep, "91");
  strcat(deep, "c0");
  ACCEPTED(deep);
  char deeper[200] = "91";
  strcat(deeper, deep);
  REFUSED(deeper, "nesting deeper than 32");
  dv8_serdes_error e;
  ASSERT_EQ(walk_hex(deeper, 33, NULL, &e), 0);
  ASSERT_EQ(walk_hex(deep, 31, NULL, &e), DV8_ESERDES);
  ASSERT_EQ(e.offset, 31); /* the header that went one deeper */
  ASSERT_EQ(walk_hex("c0", 0, NULL, &e), DV8_ESERDES);
  ASSERT_EQ(walk_hex("c0", 1001, NULL, &e), DV8_ESERDES);
  /* Nesting through Map and Set extensions counts too. */
  char ext_deep[300] = "";
  for (int i = 0; i < 31; i++)
    strcat(ext_deep, "91");
  strcat(ext_deep, "c7025291c0"); /* a Set of one nil: depth 32 */
  ACCEPTED(ext_deep);
  char ext_deeper[300] = "91";
  strcat(ext_deeper, ext_deep);
  REFUSED(ext_deeper, "nesting deeper than 32");
  /* A bomb: 10,000 nested arrays are refused at the limit, fast. */
  static char bomb[20010];
  for (int i = 0; i < 10000; i++)
    memcpy(bomb + i * 2, "91", 2);
  memcpy(bomb + 20000, "c0", 3);
  REFUSED(bomb, "nesting deeper than 32");

  /* Extensions are reported in order, nested ones too; handle ids read. */
  seen s = {0, {0}, {0}, 0, -1};
  ASSERT_EQ(
      walk_hex("82a16192c7015701c70d5181c7015702c7055291c7015703a162c7015704",
               32, &s, &e),
      0);
  ASSERT_EQ(s.count, 6);
  ASSERT_EQ(s.types[1], DV8_EXT_MAP);
  ASSERT_EQ(s.types[3], DV8_EXT_SET);
  ASSERT_EQ(s.handle_count, 4);
  for (int i = 0; i < 4; i++)
    ASSERT_EQ(s.handles[i], (uint64_t)i + 1);
  /* The callback can stop the walk with its own code. */
  seen stop = {0, {0}, {0}, 0, 2};
  ASSERT_EQ(
      walk_hex("82a16192c7015701c70d5181c7015702c7055291c7015703a162c7015704",
               32, &stop, &e),
      99);
  ASSERT_EQ(stop.count, 3);
}

/* Packs what the shell test decodes in dv8: [undefined, Error, timestamp,
 * handle 42, "host"]. */
static int pack_demo(void) {
  reset();
  msgpack_pack_array(&pk, 5);
  dv8_serdes_pack_undefined(&pk);
  dv8_serdes_pack_error(&pk, "TypeError", "heap limit reached",
                        "TypeError: heap limit reached\n    at worker");
  dv8_serdes_pack_timestamp(&pk, 1700000000, 123456789);
  dv8_serdes_pack_handle(&pk, 42);
  dv8_serdes_pack_cstr(&pk, "host");
  return fwrite(sb.data, 1, sb.size, stdout) == sb.size ? 0 : 1;
}

static int read_file(const char *path, uint8_t **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return -1;
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  size_t got;
  while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      uint8_t *bigger = realloc(buf, cap *= 2);
      if (bigger == NULL)
        free(buf);
      buf = bigger;
    }
  }
  fclose(f);
  *out = buf;
  *len = n;
  return buf == NULL ? -1 : 0;
}

static int walk_files(int n, char **paths) {
  for (int i = 0; i < n; i++) {
    uint8_t *data;
    size_t len;
    if (read_file(paths[i], &data, &len) != 0) {
      printf("%s: cannot read\n", paths[i]);
      return 1;
    }
    dv8_serdes_error e;
    if (dv8_serdes_walk(data, len, 32, NULL, NULL, &e) == 0)
      printf("%s ok\n", paths[i]);
    else
      printf("%s error: %s at byte %zu\n", paths[i], e.message, e.offset);
    free(data);
  }
  return 0;
}

static int print_handles(const char *path) {
  uint8_t *data;
  size_t len;
  if (read_file(path, &data, &len) != 0)
    return 1;
  seen s = {0, {0}, {0}, 0, -1};
  dv8_serdes_error e;
  int rc = dv8_serdes_walk(data, len, 32, on_ext, &s, &e);
  free(data);
  if (rc != 0) {
    printf("error: %s\n", e.message);
    return 1;
  }
  for (int i = 0; i < s.handle_count; i++)
    printf("%llu\n", (unsigned long long)s.handles[i]);
  return 0;
}

int main(int argc, char **argv) {
  msgpack_sbuffer_init(&sb);
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  int rc = 0;
  if (argc > 1 && strcmp(argv[1], "--pack") == 0) {
    rc = pack_demo();
  } else if (argc > 1 && strcmp(argv[1], "--walk") == 0) {
    rc = walk_files(argc - 2, argv + 2);
  } else if (argc == 3 && strcmp(argv[1], "--handles") == 0) {
    rc = print_handles(argv[2]);
  } else {
    test_pack();
    test_walk();
  }
  msgpack_sbuffer_destroy(&sb);
  return rc;
}
