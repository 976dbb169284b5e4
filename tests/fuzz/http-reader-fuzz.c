/*
 * libFuzzer target for the http module's message reader
 * (modules/http/parser/reader.c): `FUZZ_SECONDS=60 make fuzz-http`.
 * The first byte picks requests or responses and a piece size; the rest is
 * read whole and in pieces of that size, and both reads must give the same
 * events (heads, the body bytes joined, ends, the error's status), besides
 * ASan's checks. The limits are small so that they are reached.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reader.h"

#define OUT_MAX 65536

typedef struct transcript {
  char text[OUT_MAX];
  size_t len;
} transcript;

static void add(transcript *t, const void *data, size_t n) {
  if (n > OUT_MAX - t->len)
    n = OUT_MAX - t->len;
  memcpy(t->text + t->len, data, n);
  t->len += n;
}

static void read_all(int type, const uint8_t *data, size_t len, size_t step,
                     transcript *t) {
  hr_reader r;
  hr_init(&r, type, 512, 300);
  size_t at = 0;
  t->len = 0;
  for (int guard = 0; guard < 1000000; guard++) {
    size_t avail = len - at;
    size_t piece = step == 0 || avail < step ? avail : step;
    size_t used;
    hr_out ev;
    int e = hr_read(&r, (const char *)data + at, piece, &used, &ev);
    if (used > piece)
      abort();
    at += used;
    if (e == HR_MORE) {
      if (at < len)
        continue;
      e = hr_finish(&r, &ev);
      add(t, e == HR_END ? "E" : e == HR_ERROR ? "X" : "", e != HR_MORE);
      break;
    }
    if (e == HR_HEAD) {
      const hr_head *h = ev.head;
      add(t, "H", 1);
      add(t, &h->method, sizeof(h->method));
      add(t, &h->status, sizeof(h->status));
      add(t, &h->content_length, sizeof(h->content_length));
      add(t, &h->n_headers, sizeof(h->n_headers));
      add(t, h->target, h->target_len);
      for (unsigned i = 0; i < h->n_headers; i++) {
        add(t, h->headers[i].name, h->headers[i].name_len);
        add(t, ":", 1);
        add(t, h->headers[i].value, h->headers[i].value_len);
      }
    } else if (e == HR_BODY) {
      if (ev.body_len == 0 || ev.body < (const char *)data ||
          ev.body + ev.body_len > (const char *)data + len)
        abort(); /* a body slice lies in the input */
      add(t, ev.body, ev.body_len);
    } else if (e == HR_END) {
      add(t, "E", 1);
    } else {
      add(t, "X", 1);
      add(t, &ev.status, sizeof(ev.status));
      break;
    }
  }
  hr_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  int type = data[0] & 1 ? HTTP_RESPONSE : HTTP_REQUEST;
  size_t step = 1 + (data[0] >> 1) % 16;
  static transcript whole, pieces;
  read_all(type, data + 1, size - 1, 0, &whole);
  read_all(type, data + 1, size - 1, step, &pieces);
  /* Body bytes are joined in the text, so pieces change nothing. */
  if (whole.len != pieces.len || memcmp(whole.text, pieces.text, whole.len))
    abort();
  return 0;
}
