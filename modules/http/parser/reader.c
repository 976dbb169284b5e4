/*
 * reader.c — HTTP/1.1 messages from a byte stream (reader.h). Heads are
 * gathered and checked here, line by line as bytes come, so that a bad
 * head fails at its first bad byte rather than at the size limit;
 * libhttp-parser parses a head once it is whole, and every body.
 */
#include <stdlib.h>
#include <string.h>

#include "reader.h"

enum { S_HEAD, S_BODY, S_DONE, S_FAILED };

static const http_parser_settings settings; /* below: the callbacks' */
static int fail(hr_reader *r, int status, const char *why) {
  r->state = S_FAILED;
  r->status = status;
  r->error = why;
  return HR_ERROR;
}

void hr_init(hr_reader *r, int type, size_t head_limit, uint64_t max_body) {
  memset(r, 0, sizeof(*r));
  r->type = type;
  r->limit = head_limit > 0 ? head_limit : HR_HEAD_LIMIT_DEFAULT;
  r->max_body = max_body;
  r->state = S_HEAD;
}

void hr_free(hr_reader *r) {
  free(r->buf);
  r->buf = NULL;
  r->cap = r->len = 0;
}

/* RFC 9110's tchar: what a field name (a token) is made of. */
static int tchar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

/* A header line (without its CRLF): 0, or fails the reader. */
static int check_field(hr_reader *r, const char *line, size_t n) {
  if (line[0] == ' ' || line[0] == '\t')
    return fail(r, 400, "obs-fold (a header line begins with whitespace)");
  size_t i = 0;
  while (i < n && tchar((unsigned char)line[i]))
    i++;
  if (i == n || line[i] != ':') {
    if (i < n && (line[i] == ' ' || line[i] == '\t'))
      return fail(r, 400, "whitespace between a header name and its colon");
    return fail(r, 400, "invalid character in a header name");
  }
  if (i == 0)
    return fail(r, 400, "empty header name");
  for (i++; i < n; i++) {
    unsigned char c = (unsigned char)line[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return fail(r, 400, "control character in a header value");
  }
  if (r->lines - 1 > HR_MAX_HEADERS) /* lines counts the start line */
    return fail(r, 431, "more than 100 header lines");
  return 0;
}

/* Checks buf[scanned..len): -1 while the head goes on, the head's end
 * (past its empty line) once found, or -2 (failed). */
static long scan(hr_reader *r) {
  for (size_t i = r->scanned; i < r->len; i++) {
    char c = r->buf[i];
    if (c == '\r') {
      if (i + 1 == r->len) { /* looked at again with the next byte */
        r->scanned = i;
        return -1;
      }
      if (r->buf[i + 1] != '\n')
        return fail(r, 400, "CR without LF in the head"), -2;
      continue;
    }
    if (c != '\n')
      continue;
    if (i == 0 || r->buf[i - 1] != '\r')
      return fail(r, 400, "LF without CR in the head"), -2;
    const char *line = r->buf + r->line_start;
    size_t n = i - 1 - r->line_start;
    r->line_start = i + 1;
    if (n == 0) {
      if (r->lines > 0) {
        r->scanned = i + 1;
        return (long)(i + 1);
      }
      /* Empty lines before a request line are skipped (RFC 9112 2.2). */
      if (r->type == HTTP_REQUEST) {
        r->head_start = i + 1;
        continue;
      }
      return fail(r, 400, "empty start line"), -2;
    }
    if (r->lines++ > 0 && check_field(r, line, n))
      return -2;
  }
  r->scanned = r->len;
  return -1;
}

/* ---- libhttp-parser's callbacks ---- */

static hr_reader *of(http_parser *p) { return p->data; }

static int on_url(http_parser *p, const char *at, size_t n) {
  hr_head *h = &of(p)->head;
  if (h->target == NULL)
    h->target = at;
  h->target_len += n;
  return 0;
}

static int on_status(http_parser *p, const char *at, size_t n) {
  hr_head *h = &of(p)->head;
  if (h->reason == NULL)
    h->reason = at;
  h->reason_len += n;
  return 0;
}

/* The head is one piece of memory: a name or value comes in one call. */
static int on_field(http_parser *p, const char *at, size_t n) {
  hr_head *h = &of(p)->head;
  if (h->n_headers >= HR_MAX_HEADERS)
    return 1;
  h->headers[h->n_headers].name = at;
  h->headers[h->n_headers].name_len = n;
  h->headers[h->n_headers].value = at + n; /* an empty value */
  h->headers[h->n_headers].value_len = 0;
  h->n_headers++;
  return 0;
}

static int on_value(http_parser *p, const char *at, size_t n) {
  hr_head *h = &of(p)->head;
  if (h->n_headers == 0)
    return 1;
  /* Whitespace around a value is not part of it (RFC 9110 5.5):
   * libhttp-parser drops what leads, this what trails. */
  while (n > 0 && (at[n - 1] == ' ' || at[n - 1] == '\t'))
    n--;
  hr_header *f = &h->headers[h->n_headers - 1];
  f->value = at;
  f->value_len = n;
  return 0;
}

static int on_headers_complete(http_parser *p) {
  hr_reader *r = of(p);
  hr_head *h = &r->head;
  r->head_done = 1;
  if (p->http_major != 1) {
    fail(r, 505, "HTTP version not supported (HTTP/1.0 and 1.1 are)");
    return 1;
  }
  h->method = p->method;
  h->status = p->status_code;
  h->version_minor = p->http_minor;
  h->chunked = (p->flags & F_CHUNKED) != 0;
  h->content_length =
      (p->flags & F_CONTENTLENGTH) ? (int64_t)p->content_length : -1;
  h->keep_alive = http_should_keep_alive(p);
  h->upgrade = p->upgrade;
  if (r->skip_body) { /* 1: libhttp-parser reads no body */
    r->skip_body = 0;
    return 1;
  }
  if (r->max_body > 0 && h->content_length > 0 &&
      (uint64_t)h->content_length > r->max_body) {
    fail(r, 413, "the body is larger than the limit");
    return 1;
  }
  return 0;
}

void hr_skip_body(hr_reader *r) { r->skip_body = 1; }

static int on_body(http_parser *p, const char *at, size_t n) {
  hr_reader *r = of(p);
  r->body_seen += n;
  if (r->max_body > 0 && r->body_seen > r->max_body) {
    fail(r, 413, "the body is larger than the limit");
    return 1;
  }
  r->body = at;
  r->body_len = n;
  r->event = HR_BODY;
  http_parser_pause(p, 1);
  return 0;
}

/* A chunk that would take the body past the limit is refused as its size
 * is read, whatever pieces its bytes come in. */
static int on_chunk_header(http_parser *p) {
  hr_reader *r = of(p);
  if (r->max_body > 0 && r->body_seen + p->content_length > r->max_body) {
    fail(r, 413, "the body is larger than the limit");
    return 1;
  }
  return 0;
}

static int on_message_complete(http_parser *p) {
  hr_reader *r = of(p);
  r->event = HR_END;
  r->ended = 1;
  http_parser_pause(p, 1);
  return 0;
}

static const http_parser_settings settings = {
    .on_url = on_url,
    .on_status = on_status,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_chunk_header = on_chunk_header,
    .on_message_complete = on_message_complete,
};

/* libhttp-parser's verdict as a status and a reason. */
static int parser_failed(hr_reader *r) {
  if (r->state == S_FAILED) /* a callback's own (413) */
    return HR_ERROR;
  enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
  return fail(r, e == HPE_INVALID_VERSION ? 505 : 400,
              http_errno_description(e));
}

/* The head is whole in buf[head_start..end): parsed, the message begun. */
static int parse_head(hr_reader *r, size_t end, hr_out *out) {
  http_parser_init(&r->parser, r->type);
  r->parser.data = r;
  memset(&r->head, 0, sizeof(r->head));
  r->ended = 0;
  r->head_done = 0;
  r->body_seen = 0;
  size_t n = end - r->head_start;
  size_t used =
      http_parser_execute(&r->parser, &settings, r->buf + r->head_start, n);
  enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
  if (r->state == S_FAILED) /* on_headers_complete refused it */
    return HR_ERROR;
  if (e == HPE_PAUSED) /* a message without a body, complete */
    http_parser_pause(&r->parser, 0);
  else if (e != HPE_OK || used != n)
    return parser_failed(r);
  if (!r->head_done) /* libhttp-parser wanted more: a broken start line */
    return fail(r, 400, "malformed start line");
  r->state = S_BODY;
  out->head = &r->head;
  return HR_HEAD;
}

/* Back to gathering a head: the next message's. */
static void next_message(hr_reader *r) {
  r->ended = 0;
  r->state = r->head.upgrade ? S_DONE : S_HEAD;
  r->len = r->scanned = r->line_start = r->head_start = 0;
  r->lines = 0;
}

static int failed(hr_reader *r, hr_out *out) {
  out->status = r->status;
  out->error = r->error;
  return HR_ERROR;
}

/* Takes what data holds of a head. */
static int read_head(hr_reader *r, const char *data, size_t len, size_t *used,
                     hr_out *out) {
  /* Past the limit by one byte is enough to know. */
  size_t room = r->limit + 1 - r->len;
  size_t take = len < room ? len : room;
  if (r->len + take > r->cap) {
    size_t cap = r->cap ? r->cap : 1024;
    while (cap < r->len + take)
      cap *= 2;
    char *p = realloc(r->buf, cap);
    if (p == NULL) {
      fail(r, 431, "out of memory for the head");
      return failed(r, out);
    }
    r->buf = p;
    r->cap = cap;
  }
  size_t before = r->len;
  memcpy(r->buf + r->len, data, take);
  r->len += take;
  long end = scan(r);
  if (end == -2)
    return failed(r, out);
  if (end == -1) {
    if (r->len > r->limit) {
      fail(r, 431, "the head is larger than the limit");
      return failed(r, out);
    }
    *used = take;
    return HR_MORE;
  }
  *used = (size_t)end - before;
  r->len = (size_t)end;
  return parse_head(r, (size_t)end, out) == HR_HEAD ? HR_HEAD : failed(r, out);
}

int hr_read(hr_reader *r, const char *data, size_t len, size_t *used,
            hr_out *out) {
  memset(out, 0, sizeof(*out));
  *used = 0;
  if (r->state == S_FAILED)
    return failed(r, out);
  if (r->state == S_DONE) {
    out->error = "the connection was upgraded: its bytes are not HTTP";
    return HR_ERROR;
  }
  if (r->state == S_HEAD)
    return len == 0 ? HR_MORE : read_head(r, data, len, used, out);
  if (r->ended) { /* the head's parse completed the message */
    next_message(r);
    return HR_END;
  }
  if (len == 0)
    return HR_MORE;
  r->event = HR_MORE;
  *used = http_parser_execute(&r->parser, &settings, data, len);
  enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
  if (e == HPE_PAUSED)
    http_parser_pause(&r->parser, 0);
  else if (e != HPE_OK)
    return parser_failed(r), failed(r, out);
  if (r->event == HR_BODY) {
    out->body = r->body;
    out->body_len = r->body_len;
  } else if (r->event == HR_END) {
    next_message(r);
  }
  return r->event;
}

int hr_finish(hr_reader *r, hr_out *out) {
  memset(out, 0, sizeof(*out));
  if (r->state == S_FAILED)
    return failed(r, out);
  if (r->state == S_HEAD && r->len == r->head_start)
    return HR_MORE; /* between messages (empty lines at most) */
  /* Only a body read to the end of the stream ends with it
   * (on_message_complete sets ended). */
  if (r->state == S_BODY && !r->ended)
    http_parser_execute(&r->parser, &settings, NULL, 0);
  if (r->state == S_BODY && r->ended) {
    next_message(r);
    return HR_END;
  }
  if (r->state == S_DONE)
    return HR_MORE;
  fail(r, 400, "the stream ended inside a message");
  return failed(r, out);
}
