/*
 * echo-uv: a TCP echo server in plain C on libuv, the limit that dv8's
 * examples/echo.js and node's net are measured against.
 *   build/tests/bench/echo-uv [--http] PORT [HOST]  (HOST: 127.0.0.1)
 * It prints "listening HOST:PORT" (so PORT 0 shows the port it got) and runs
 * until killed. tests/bench/net-peers drives it with echo-client. With
 * --http it answers each request head with hello-world instead of echoing
 * (http-floor.h): the C floor of tests/bench/http-peers.
 *
 * Each connection reads into one 64 KiB buffer of its own, reused for every
 * read: the bytes are written back before the next read can land. A write
 * goes out with uv_try_write; only the part the kernel did not take is queued,
 * copied, because the read buffer is about to be overwritten. A client that
 * does not read its echo fills the queue; reading then stops until the queue
 * drains, so memory stays bounded. When the client half-closes, the server
 * shuts down its own side (libuv sends the FIN after the queued writes) and
 * then closes the connection.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "http-floor.h"

/* Above this many queued bytes a connection stops reading until its queue
 * drains: a reader that never reads cannot make the server grow. */
#define QUEUE_LIMIT (1024 * 1024)

struct conn {
  uv_tcp_t tcp;
  uv_shutdown_t shutdown;
  int paused; /* reading stopped because the write queue is full */
  int ended;  /* the client half-closed; no more reads */
  struct http_floor hf;
  char buf[65536];
};

/* A write the kernel did not take at once; owns its copy of the bytes and is
 * freed in on_write, which libuv calls even when the connection closes. */
struct queued_write {
  uv_write_t req;
  char data[];
};

static int http_mode;

static void on_close(uv_handle_t *handle) { free(handle->data); }

static void close_conn(struct conn *c) {
  if (!uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  struct conn *c = handle->data;
  (void)suggested;
  *buf = uv_buf_init(c->buf, sizeof c->buf);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void on_write(uv_write_t *req, int status) {
  struct conn *c = req->handle->data;
  free(req);
  if (status < 0) {
    close_conn(c);
    return;
  }
  if (c->paused && !c->ended &&
      uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0) {
    c->paused = 0;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
      close_conn(c);
  }
}

static void echo(struct conn *c, const char *data, size_t len) {
  uv_stream_t *stream = (uv_stream_t *)&c->tcp;
  uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
  int n = uv_try_write(stream, &b, 1);
  if (n == (int)len)
    return;
  if (n < 0 && n != UV_EAGAIN) {
    close_conn(c);
    return;
  }
  size_t done = n > 0 ? (size_t)n : 0;
  struct queued_write *w = malloc(sizeof *w + (len - done));
  if (w == NULL) {
    close_conn(c);
    return;
  }
  memcpy(w->data, data + done, len - done);
  b = uv_buf_init(w->data, (unsigned)(len - done));
  if (uv_write(&w->req, stream, &b, 1, on_write) < 0) {
    free(w);
    close_conn(c);
    return;
  }
  if (uv_stream_get_write_queue_size(stream) > QUEUE_LIMIT) {
    uv_read_stop(stream);
    c->paused = 1;
  }
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  (void)status;
  close_conn(req->handle->data);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  struct conn *c = stream->data;
  if (nread > 0 && http_mode) {
    static char out[65536];
    size_t heads = http_floor_count(&c->hf, buf->base, (size_t)nread);
    while (heads > 0 && !uv_is_closing((uv_handle_t *)stream))
      echo(c, out, http_floor_fill(&heads, out, sizeof out));
  } else if (nread > 0) {
    echo(c, buf->base, (size_t)nread);
  } else if (nread == UV_EOF) {
    c->ended = 1;
    if (uv_shutdown(&c->shutdown, stream, on_shutdown) < 0)
      close_conn(c);
  } else if (nread < 0) {
    close_conn(c);
  }
}

static void on_connection(uv_stream_t *server, int status) {
  if (status < 0) {
    fprintf(stderr, "echo-uv: accept: %s\n", uv_strerror(status));
    return;
  }
  struct conn *c = malloc(sizeof *c);
  if (c == NULL)
    return;
  c->paused = 0;
  c->ended = 0;
  c->hf.matched = 0;
  uv_tcp_init(server->loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
    close_conn(c);
    return;
  }
  /* Replies are small and one per request: without this, a reply split by a
   * partial write could wait for a delayed ACK. */
  uv_tcp_nodelay(&c->tcp, 1);
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
    close_conn(c);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--http") == 0) {
    http_mode = 1;
    argv++;
    argc--;
  }
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: echo-uv [--http] PORT [HOST]\n");
    return 2;
  }
  char *end;
  long port = strtol(argv[1], &end, 10);
  const char *host = argc == 3 ? argv[2] : "127.0.0.1";
  if (*argv[1] == '\0' || *end != '\0' || port < 0 || port > 65535) {
    fprintf(stderr, "echo-uv: bad port '%s'\n", argv[1]);
    return 2;
  }
  struct sockaddr_storage addr;
  if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)&addr) != 0 &&
      uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)&addr) != 0) {
    fprintf(stderr, "echo-uv: '%s' is not a numeric IP address\n", host);
    return 2;
  }
  /* A client that goes away mid-echo must cost one connection (EPIPE), not
   * the server. */
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t *loop = uv_default_loop();
  uv_tcp_t server;
  uv_tcp_init(loop, &server);
  int err = uv_tcp_bind(&server, (struct sockaddr *)&addr, 0);
  if (err == 0)
    err = uv_listen((uv_stream_t *)&server, 1024, on_connection);
  if (err < 0) {
    fprintf(stderr, "echo-uv: listen on %s:%ld: %s\n", host, port,
            uv_strerror(err));
    return 1;
  }
  struct sockaddr_storage bound;
  int len = sizeof bound;
  uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &len);
  int bound_port = bound.ss_family == AF_INET6
                       ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                       : ntohs(((struct sockaddr_in *)&bound)->sin_port);
  printf("listening %s:%d\n", host, bound_port);
  fflush(stdout);
  return uv_run(loop, UV_RUN_DEFAULT);
}
