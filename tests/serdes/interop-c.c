/* msgpack-c as an interop peer of dv8's serdes, for
 * tests/shell/test-serdes-interop-peers.sh, which compiles it with
 * `cc -Wall -Wextra -Werror interop-c.c -lmsgpackc` and runs
 *   interop-c IN OUT
 * IN and OUT are framed files (each value: a 4-byte big-endian length, then
 * the bytes; tests/serdes/corpus.mjs's frame()). Each value of IN is read
 * with msgpack_unpack_next and written again with msgpack_pack_object into
 * OUT; interop-peers.mjs then checks what came out. An empty frame (a value
 * another peer could not write) stays empty. A value that does not unpack,
 * or that leaves bytes over, is an error naming its index: exit 1.
 *
 * msgpack-c keeps what it reads as typed objects (float32 apart from
 * float64, extensions as type and bytes, timestamps among them), so what it
 * writes back is the input in the smallest forms: the test expects exactly
 * that of it (edge-corpus.mjs's view o). */
#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  size_t cap = 1 << 16, n = 0;
  unsigned char *buf = malloc(cap);
  for (;;) {
    if (buf == NULL)
      break;
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap)
      break;
    unsigned char *grown = realloc(buf, cap * 2);
    if (grown == NULL) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = grown;
    cap *= 2;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(buf);
    return NULL;
  }
  *len = n;
  return buf;
}

static int put_frame(FILE *out, const char *data, size_t len) {
  unsigned char head[4] = {(unsigned char)(len >> 24),
                           (unsigned char)(len >> 16),
                           (unsigned char)(len >> 8), (unsigned char)len};
  return fwrite(head, 1, 4, out) == 4 &&
         (len == 0 || fwrite(data, 1, len, out) == len);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: interop-c IN OUT\n");
    return 2;
  }
  size_t len;
  unsigned char *in = read_all(argv[1], &len);
  if (in == NULL) {
    fprintf(stderr, "msgpack-c: cannot read %s\n", argv[1]);
    return 1;
  }
  FILE *out = fopen(argv[2], "wb");
  if (out == NULL) {
    fprintf(stderr, "msgpack-c: cannot write %s\n", argv[2]);
    return 1;
  }
  msgpack_sbuffer sbuf;
  msgpack_sbuffer_init(&sbuf);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
  msgpack_unpacked result;
  msgpack_unpacked_init(&result);
  int status = 0;
  size_t index = 0;
  for (size_t p = 0; p < len; index++) {
    if (len - p < 4) {
      fprintf(stderr, "msgpack-c: %s: value %zu: truncated frame header\n",
              argv[1], index);
      status = 1;
      break;
    }
    size_t n = (size_t)in[p] << 24 | (size_t)in[p + 1] << 16 |
               (size_t)in[p + 2] << 8 | in[p + 3];
    p += 4;
    if (n > len - p) {
      fprintf(stderr,
              "msgpack-c: %s: value %zu: frame of %zu bytes, %zu left\n",
              argv[1], index, n, len - p);
      status = 1;
      break;
    }
    msgpack_sbuffer_clear(&sbuf);
    if (n > 0) {
      size_t off = 0;
      msgpack_unpack_return ret =
          msgpack_unpack_next(&result, (const char *)in + p, n, &off);
      if (ret != MSGPACK_UNPACK_SUCCESS || off != n) {
        fprintf(stderr,
                "msgpack-c: %s: value %zu (%zu bytes) does not unpack: status "
                "%d, %zu bytes read\n",
                argv[1], index, n, (int)ret, off);
        status = 1;
        break;
      }
      if (msgpack_pack_object(&pk, result.data) != 0) {
        fprintf(stderr, "msgpack-c: %s: value %zu does not pack\n", argv[1],
                index);
        status = 1;
        break;
      }
    }
    if (!put_frame(out, sbuf.data, sbuf.size)) {
      fprintf(stderr, "msgpack-c: cannot write %s\n", argv[2]);
      status = 1;
      break;
    }
    p += n;
  }
  msgpack_unpacked_destroy(&result);
  msgpack_sbuffer_destroy(&sbuf);
  free(in);
  if (fclose(out) != 0 && status == 0) {
    fprintf(stderr, "msgpack-c: cannot write %s\n", argv[2]);
    status = 1;
  }
  return status;
}
