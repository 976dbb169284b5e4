/*
 * The http module's message reader (modules/http/parser/reader.c) on its
 * own: every input is read whole, in 7-byte pieces and a byte at a time,
 * and must give the same transcript of events (heads, body bytes, ends,
 * the error with its status); the policy's refusals come at the bad byte,
 * not at the size limit.
 */
#include <stdio.h>
#include <string.h>

#include "reader.h"
#include "unit.h"

static char out[65536];

/* The events of reading input in pieces of step bytes (0: whole), then
 * the end of the stream when finish is set, as text. */
static const char *transcript(int type, const char *input, size_t len,
                              size_t step, size_t head_limit, uint64_t max_body,
                              int finish) {
  hr_reader r;
  hr_init(&r, type, head_limit, max_body);
  size_t o = 0, at = 0;
  int in_body = 0; /* pieces of one body show as one <...> */
  out[0] = 0;
#define ADD(...) o += (size_t)snprintf(out + o, sizeof(out) - o, __VA_ARGS__)
  for (;;) {
    size_t avail = len - at;
    size_t piece = step == 0 || avail < step ? avail : step;
    size_t used;
    hr_out ev;
    int e = hr_read(&r, input + at, piece, &used, &ev);
    ASSERT(used <= piece);
    at += used;
    if (in_body && e != HR_BODY && e != HR_MORE) {
      ADD(">");
      in_body = 0;
    }
    if (e == HR_MORE) {
      if (at < len)
        continue;
      if (finish) {
        e = hr_finish(&r, &ev);
        if (in_body)
          ADD(">");
        in_body = 0;
        if (e == HR_END)
          ADD("end(eof) ");
        else if (e == HR_ERROR)
          ADD("error %d: %s", ev.status, ev.error);
      }
      break;
    }
    if (e == HR_HEAD) {
      const hr_head *h = ev.head;
      if (type == HTTP_REQUEST)
        ADD("%s %.*s 1.%u", http_method_str(h->method), (int)h->target_len,
            h->target, h->version_minor);
      else
        ADD("%d %.*s 1.%u", h->status, (int)h->reason_len, h->reason,
            h->version_minor);
      for (unsigned i = 0; i < h->n_headers; i++)
        ADD(" [%.*s=%.*s]", (int)h->headers[i].name_len, h->headers[i].name,
            (int)h->headers[i].value_len, h->headers[i].value);
      ADD(" cl=%lld%s%s%s | ", (long long)h->content_length,
          h->chunked ? " chunked" : "", h->keep_alive ? " keep" : "",
          h->upgrade ? " upgrade" : "");
    } else if (e == HR_BODY) {
      ADD("%s%.*s", in_body ? "" : "<", (int)ev.body_len, ev.body);
      in_body = 1;
    } else if (e == HR_END) {
      ADD(" end | ");
    } else if (e == HR_ERROR) {
      ADD("error %d: %s", ev.status, ev.error);
      break;
    }
  }
  hr_free(&r);
  return out;
}

/* The same transcript whole, in 7-byte pieces and byte by byte. */
static void expect(int type, const char *input, size_t head_limit,
                   uint64_t max_body, int finish, const char *want) {
  size_t len = strlen(input);
  size_t steps[] = {0, 7, 1};
  for (size_t i = 0; i < 3; i++) {
    const char *got =
        transcript(type, input, len, steps[i], head_limit, max_body, finish);
    if (strcmp(got, want) != 0) {
      fprintf(stderr, "input (step %zu):\n%s\nexpected:\n%s\ngot:\n%s\n",
              steps[i], input, want, got);
      ASSERT(0);
    }
  }
}

#define REQ(input, want) expect(HTTP_REQUEST, input, 0, 0, 0, want)

int main(void) {
  REQ("GET / HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET / 1.1 [Host=a] cl=-1 keep |  end | ");
  /* Pipelined: answers in order are the caller's; events come in order. */
  REQ("GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b?x=1 HTTP/1.1\r\nHost: "
      "a\r\nConnection: close\r\n\r\n",
      "GET /a 1.1 [Host=a] cl=-1 keep |  end | GET /b?x=1 1.1 [Host=a] "
      "[Connection=close] cl=-1 |  end | ");
  /* Bodies, by length and chunked (extensions and trailers ignored). */
  REQ("POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / "
      "HTTP/1.0\r\n\r\n",
      "POST /p 1.1 [Content-Length=5] cl=5 keep | <hello> end | GET / 1.0 "
      "cl=-1 |  end | ");
  REQ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;x=y\r\nabc\r\n4\r\ndefg\r\n0\r\nT: 1\r\n\r\n",
      "POST / 1.1 [Transfer-Encoding=chunked] cl=-1 chunked keep | <abcdefg> "
      "end | ");
  /* Empty lines before a request line are skipped (RFC 9112 2.2). */
  REQ("\r\n\r\nGET / HTTP/1.1\r\n\r\n", "GET / 1.1 cl=-1 keep |  end | ");
  REQ("GET / HTTP/1.1\r\nX:\r\nY: \t v \t\r\n\r\n",
      "GET / 1.1 [X=] [Y=v] cl=-1 keep |  end | ");

  /* The policy: each refused at the bad byte, with 400. */
  REQ("GET / HTTP/1.1\nHost: a\n\n", "error 400: LF without CR in the head");
  REQ("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",
      "error 400: CR without LF in the head");
  REQ("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n",
      "error 400: obs-fold (a header line begins with whitespace)");
  REQ("GET / HTTP/1.1\r\nHost : a\r\n\r\n",
      "error 400: whitespace between a header name and its colon");
  REQ("GET / HTTP/1.1\r\nHo(st: a\r\n\r\n",
      "error 400: invalid character in a header name");
  REQ("GET / HTTP/1.1\r\n: a\r\n\r\n", "error 400: empty header name");
  REQ("GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
      "error 400: control character in a header value");
  {
    const char in[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
    const char *got = transcript(HTTP_REQUEST, in, sizeof(in) - 1, 0, 0, 0, 0);
    ASSERT(strcmp(got, "error 400: control character in a header value") == 0);
  }
  /* Smuggling shapes: libhttp-parser's refusals. */
  REQ("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: "
      "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      "error 400: unexpected content-length header");
  REQ("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
      "error 400: unexpected content-length header");
  REQ("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nabc",
      "error 400: request has invalid transfer-encoding");
  REQ("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
      "error 400: invalid character in content-length header");
  REQ("GET / HTTP/2.0\r\n\r\n",
      "error 505: HTTP version not supported (HTTP/1.0 and 1.1 are)");
  REQ("G@T / HTTP/1.1\r\n\r\n", "error 400: invalid HTTP method");

  /* Limits: the head (431), its lines (431), the body (413). */
  {
    static char big[20000];
    int n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX: ");
    memset(big + n, 'a', 17000);
    strcpy(big + n + 17000, "\r\n\r\n");
    expect(HTTP_REQUEST, big, 0, 0, 0,
           "error 431: the head is larger than the limit");
    /* The limit is the caller's: 32 KiB takes it. */
    const char *got =
        transcript(HTTP_REQUEST, big, strlen(big), 0, 32768, 0, 0);
    ASSERT(strncmp(got, "GET / 1.1 [X=aaaa", 17) == 0);
    n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 101; i++)
      n += snprintf(big + n, sizeof(big) - (size_t)n, "X%d: 1\r\n", i);
    snprintf(big + n, sizeof(big) - (size_t)n, "\r\n");
    expect(HTTP_REQUEST, big, 0, 0, 0, "error 431: more than 100 header lines");
    /* The count is per message: two pipelined heads of 60 lines pass. */
    n = 0;
    for (int m = 0; m < 2; m++) {
      n += snprintf(big + n, sizeof(big) - (size_t)n, "GET / HTTP/1.1\r\n");
      for (int i = 0; i < 60; i++)
        n += snprintf(big + n, sizeof(big) - (size_t)n, "X: 1\r\n");
      n += snprintf(big + n, sizeof(big) - (size_t)n, "\r\n");
    }
    const char *two = transcript(HTTP_REQUEST, big, (size_t)n, 0, 32768, 0, 0);
    ASSERT(strstr(two, "error") == NULL);
    ASSERT(strstr(strstr(two, " end | ") + 1, " end | ") != NULL);
  }
  expect(HTTP_REQUEST,
         "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world", 0, 10, 0,
         "error 413: the body is larger than the limit");
  expect(HTTP_REQUEST,
         "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello "
         "\r\n5\r\nworld\r\n0\r\n\r\n",
         0, 10, 0,
         "POST / 1.1 [Transfer-Encoding=chunked] cl=-1 chunked keep | <hello "
         ">error 413: the body is larger than the limit");

  /* Upgrade: the bytes after the head are not read as HTTP. */
  REQ("GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
      "\x81\x05hello",
      "GET /ws 1.1 [Connection=Upgrade] [Upgrade=websocket] cl=-1 keep "
      "upgrade |  end | error 0: the connection was upgraded: its bytes are "
      "not HTTP");

  /* The stream's end: between messages nothing, inside one an error. */
  expect(HTTP_REQUEST, "GET / HTTP/1.1\r\n\r\n", 0, 0, 1,
         "GET / 1.1 cl=-1 keep |  end | ");
  expect(HTTP_REQUEST, "GET / HTTP/1.1\r\nHost", 0, 0, 1,
         "error 400: the stream ended inside a message");
  expect(HTTP_REQUEST, "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhel", 0, 0,
         1,
         "POST / 1.1 [Content-Length=5] cl=5 keep | <hel>error 400: the "
         "stream ended inside a message");

  /* Responses: a body by length, and one read to the end of the stream. */
  expect(HTTP_RESPONSE,
         "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.0 404 Not "
         "Found\r\n\r\ngone",
         0, 0, 1,
         "200 OK 1.1 [Content-Length=2] cl=2 keep | <hi> end | 404 Not Found "
         "1.0 cl=-1 | <gone>end(eof) ");
  /* A start line libhttp-parser had not finished (found by
   * tests/fuzz/http-reader-fuzz.c): it had passed as a head. */
  expect(HTTP_RESPONSE, "H\r\n\r\n", 0, 0, 0,
         "error 400: malformed start line");
  /* No version: HTTP/0.9 to libhttp-parser. */
  REQ("GET /\r\n\r\n",
      "error 505: HTTP version not supported (HTTP/1.0 and 1.1 are)");
  expect(HTTP_RESPONSE, "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", 0, 0, 0,
         "error 400: LF without CR in the head");
  /* A HEAD request's answer: its length says what a GET would get, and
   * no body follows; the next answer is read from the next byte. */
  {
    static const char in[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
                             "HTTP/1.1 204 No Content\r\n\r\n";
    hr_reader r;
    hr_out ev;
    size_t used, at = 0;
    hr_init(&r, HTTP_RESPONSE, 0, 0);
    hr_skip_body(&r);
    ASSERT(hr_read(&r, in, sizeof(in) - 1, &used, &ev) == HR_HEAD);
    ASSERT(ev.head->status == 200 && ev.head->content_length == 5);
    at += used;
    ASSERT(hr_read(&r, in + at, sizeof(in) - 1 - at, &used, &ev) == HR_END);
    at += used;
    ASSERT(hr_read(&r, in + at, sizeof(in) - 1 - at, &used, &ev) == HR_HEAD);
    ASSERT(ev.head->status == 204);
    at += used;
    ASSERT(hr_read(&r, in + at, sizeof(in) - 1 - at, &used, &ev) == HR_END);
    at += used;
    ASSERT(at == sizeof(in) - 1);
    hr_free(&r);
  }
  puts("http reader: ok");
  return 0;
}
