/*
 * reader.h — HTTP/1.1 messages read from a byte stream, one event at a
 * time, on Debian's libhttp-parser with dv8's stricter policy on heads
 * (RFC 9112): the groundwork of the http module (issue 18), not a public
 * header.
 *
 * A head is gathered whole (up to a limit) in the reader's own buffer and
 * checked before libhttp-parser sees it: every line ends in CRLF (a bare
 * LF or CR is refused), no obs-fold, no whitespace between a field name
 * and its colon, names are tokens, values hold no control characters but
 * HTAB. libhttp-parser then parses it (method, target, version, framing:
 * it refuses Content-Length with Transfer-Encoding, two Content-Lengths
 * and a Transfer-Encoding that does not end in chunked) and decodes the
 * body, whose bytes are returned as slices of the caller's input (no
 * copy). Pipelined messages follow one another; the reader stops after
 * each event, so its caller can stop reading at any point (back-pressure)
 * and go on later with the rest of its input.
 */
#ifndef DV8_HTTP_READER_H
#define DV8_HTTP_READER_H

#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>

#define HR_MAX_HEADERS 100
#define HR_HEAD_LIMIT_DEFAULT (16 * 1024)

typedef struct hr_header {
  const char *name, *value; /* in the reader's head buffer */
  size_t name_len, value_len;
} hr_header;

/* A message's head, valid until the next hr_read after its HR_HEAD. */
typedef struct hr_head {
  int method;             /* requests: enum http_method */
  int status;             /* responses: the status code */
  unsigned version_minor; /* HTTP/1.x */
  const char *target;     /* requests: the request target */
  size_t target_len;
  const char *reason; /* responses: the reason phrase */
  size_t reason_len;
  hr_header headers[HR_MAX_HEADERS];
  unsigned n_headers;
  int64_t content_length; /* -1: none */
  int chunked;            /* Transfer-Encoding: chunked */
  int keep_alive;         /* the connection may carry another message */
  int upgrade;            /* Upgrade (or CONNECT): the bytes after the
                             head are the new protocol's */
} hr_head;

enum hr_event {
  HR_MORE,  /* all input used: more is needed */
  HR_HEAD,  /* a head: out->head */
  HR_BODY,  /* body bytes: out->body, out->body_len (in the input) */
  HR_END,   /* the message is complete */
  HR_ERROR, /* out->status (400, 413, 431, 505) and out->error; the
               connection cannot go on */
};

typedef struct hr_out {
  const hr_head *head;
  const char *body;
  size_t body_len;
  int status;
  const char *error;
} hr_out;

typedef struct hr_reader {
  http_parser parser;
  int type;  /* HTTP_REQUEST or HTTP_RESPONSE */
  int state; /* reader.c */
  char *buf; /* the head being gathered */
  size_t len, cap, limit;
  size_t scanned;    /* bytes of buf checked so far */
  size_t line_start; /* where the line being checked begins */
  size_t head_start; /* past the empty lines before a request line */
  unsigned lines;    /* lines of the head seen (the start line first) */
  int ended;         /* the head parse completed the message */
  int skip_body;     /* the next message has no body (hr_skip_body) */
  int head_done;     /* libhttp-parser reached the head's end */
  uint64_t max_body, body_seen;
  const char *body;
  size_t body_len;
  int event; /* set by the parser's callbacks */
  const char *error;
  int status;
  hr_head head;
} hr_reader;

/* A reader of requests (HTTP_REQUEST) or responses (HTTP_RESPONSE):
 * heads of at most head_limit bytes (431 past it), bodies of at most
 * max_body bytes (413; 0: no limit). */
void hr_init(hr_reader *r, int type, size_t head_limit, uint64_t max_body);
/* Reads the next event from data (an HR_*): *used says how many bytes
 * it took; HR_MORE once all of them are used. The caller calls again with
 * the rest after each event. After HR_ERROR it reads nothing more. */
int hr_read(hr_reader *r, const char *data, size_t len, size_t *used,
            hr_out *out);
/* The next message has no body whatever its head says: a response to a
 * HEAD request (or a 204/304 the caller knows of). */
void hr_skip_body(hr_reader *r);
/* The peer ended its side: HR_END if that completes a body read to the
 * end (a response without a length), HR_MORE if nothing was under way,
 * else HR_ERROR (a message cut short). */
int hr_finish(hr_reader *r, hr_out *out);
/* Frees the reader's buffer. */
void hr_free(hr_reader *r);

#endif
