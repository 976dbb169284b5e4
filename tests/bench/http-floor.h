/*
 * The HTTP floor's answers, shared by echo-uv and tls-floor when they run
 * with --http: the least a server can do for keep-alive hello-world, so
 * tests/bench/http-peers can show how far from it dv8, node and nginx are.
 * No parser: a request is counted at the blank line ending its head (what
 * wrk sends has no body), and each gets the same answer dv8's example
 * gives, date header included (made again when the second changes).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Where the last read left the search for CR LF CR LF (bytes matched). */
struct http_floor {
  int matched;
};

static char http_floor_answer[160];
static size_t http_floor_answer_len;
static time_t http_floor_second = -1;

/* The answer, with this second's date. */
static const char *http_floor_reply(size_t *len) {
  time_t now = time(NULL);
  if (now != http_floor_second) {
    char date[64];
    struct tm tm;
    http_floor_second = now;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    http_floor_answer_len = (size_t)snprintf(
        http_floor_answer, sizeof http_floor_answer,
        "HTTP/1.1 200 OK\r\ndate: %s\r\ncontent-type: "
        "text/plain;charset=UTF-8\r\ncontent-length: 5\r\n\r\nhello",
        date);
  }
  *len = http_floor_answer_len;
  return http_floor_answer;
}

/* How many request heads end in data[0..len). */
static size_t http_floor_count(struct http_floor *f, const char *data,
                               size_t len) {
  static const char end[] = "\r\n\r\n";
  size_t heads = 0;
  for (size_t i = 0; i < len; i++) {
    if (data[i] == end[f->matched])
      f->matched++;
    else
      f->matched = data[i] == '\r';
    if (f->matched == 4) {
      heads++;
      f->matched = 0;
    }
  }
  return heads;
}

/* Fills out with as many of heads answers as fit; returns the bytes and
 * takes what it answered off *heads. */
static size_t http_floor_fill(size_t *heads, char *out, size_t cap) {
  size_t len, at = 0;
  const char *reply = http_floor_reply(&len);
  while (*heads > 0 && cap - at >= len) {
    memcpy(out + at, reply, len);
    at += len;
    (*heads)--;
  }
  return at;
}
