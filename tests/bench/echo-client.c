/*
 * echo-client: a load generator for echo servers, in C on libuv.
 *   build/tests/bench/echo-client HOST PORT CONNECTIONS SECONDS MSGSIZE
 *   e.g. echo-client 127.0.0.1 7000 64 5 64
 * Opens CONNECTIONS TCP connections to HOST:PORT (a numeric address: it never
 * resolves names, so it can only reach the address given). Each connection
 * sends a MSGSIZE-byte message, waits until the same bytes have come back,
 * checks them, and sends the next. After SECONDS it stops and prints
 *   requests=N rps=X errors=E
 * where N counts completed round trips. Exit status 1 if an echoed byte
 * differed, a connection failed or the server closed one early.
 * tests/bench/net-peers uses it against echo-uv, node and dv8.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct client {
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_write_t write;
  unsigned id;
  uint64_t seq; /* number of the message in flight */
  size_t got;   /* bytes of its echo received so far */
  int writing;  /* a uv_write of msg is queued: msg must not change */
  int replied;  /* the echo came back while the write was still queued */
  char *msg;    /* MSGSIZE bytes */
};

static uv_loop_t *loop;
static uv_timer_t deadline;
static struct client *clients;
static unsigned nclients;
static unsigned open_clients;
static size_t msgsize;
static int stopping;
static uint64_t start_ns, stop_ns;
static unsigned long long requests, errors;

/* All reads land here: callbacks run one at a time on one thread, and each
 * read is checked before the callback returns. */
static char read_buf[65536];

static void stop(void);

static void on_close(uv_handle_t *handle) {
  (void)handle;
  if (--open_clients == 0 && !stopping)
    stop();
}

static void close_client(struct client *c) {
  if (!uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void fail(struct client *c, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "echo-client: connection %u: ", c->id);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  errors++;
  close_client(c);
}

/* Every message differs from the one before it at every byte, so an echo
 * of stale or misplaced bytes is caught. */
static void fill_message(struct client *c) {
  for (size_t i = 0; i < msgsize; i++)
    c->msg[i] = (char)(c->seq + c->id * 7 + i * 31);
}

static void on_write(uv_write_t *req, int status);

static void send_message(struct client *c) {
  fill_message(c);
  c->got = 0;
  c->replied = 0;
  uv_buf_t b = uv_buf_init(c->msg, (unsigned)msgsize);
  int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  if (n == (int)msgsize)
    return;
  if (n < 0 && n != UV_EAGAIN) {
    fail(c, "write: %s", uv_strerror(n));
    return;
  }
  size_t done = n > 0 ? (size_t)n : 0;
  b = uv_buf_init(c->msg + done, (unsigned)(msgsize - done));
  int err = uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, on_write);
  if (err < 0) {
    fail(c, "write: %s", uv_strerror(err));
    return;
  }
  c->writing = 1;
}

static void on_write(uv_write_t *req, int status) {
  struct client *c = req->data;
  c->writing = 0;
  /* Cancelled only because the connection was closed, which was reported
   * already (or is the deadline). */
  if (status == UV_ECANCELED)
    return;
  if (status < 0) {
    fail(c, "write: %s", uv_strerror(status));
    return;
  }
  if (c->replied && !stopping)
    send_message(c);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  (void)handle;
  (void)suggested;
  *buf = uv_buf_init(read_buf, sizeof read_buf);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  struct client *c = stream->data;
  if (stopping)
    return;
  if (nread == UV_EOF) {
    fail(c, "the server closed the connection");
    return;
  }
  if (nread < 0) {
    fail(c, "read: %s", uv_strerror((int)nread));
    return;
  }
  size_t len = (size_t)nread;
  if (len > msgsize - c->got) {
    fail(c, "%zu bytes came back for a %zu-byte message", c->got + len,
         msgsize);
    return;
  }
  if (memcmp(buf->base, c->msg + c->got, len) != 0) {
    fail(c, "echoed bytes differ from the message sent (message %llu)",
         (unsigned long long)c->seq);
    return;
  }
  c->got += len;
  if (c->got < msgsize)
    return;
  requests++;
  c->seq++;
  /* The echo can arrive before libuv has reported the write done; msg stays
   * untouched until it has. */
  if (c->writing)
    c->replied = 1;
  else
    send_message(c);
}

static void on_connect(uv_connect_t *req, int status) {
  struct client *c = req->data;
  if (stopping)
    return;
  if (status < 0) {
    fail(c, "connect: %s", uv_strerror(status));
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  int err = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  if (err < 0) {
    fail(c, "read: %s", uv_strerror(err));
    return;
  }
  send_message(c);
}

static void stop(void) {
  stopping = 1;
  stop_ns = uv_hrtime();
  for (unsigned i = 0; i < nclients; i++)
    close_client(&clients[i]);
  uv_close((uv_handle_t *)&deadline, NULL);
}

static void on_deadline(uv_timer_t *timer) {
  (void)timer;
  stop();
}

static int parse_number(const char *s, double min, double max, double *out) {
  char *end;
  double v = strtod(s, &end);
  if (*s == '\0' || *end != '\0' || !(v >= min && v <= max))
    return -1;
  *out = v;
  return 0;
}

int main(int argc, char **argv) {
  double port, conns, seconds, size;
  if (argc != 6) {
    fprintf(stderr,
            "usage: echo-client HOST PORT CONNECTIONS SECONDS MSGSIZE\n");
    return 2;
  }
  if (parse_number(argv[2], 1, 65535, &port) < 0 ||
      parse_number(argv[3], 1, 10000, &conns) < 0 ||
      parse_number(argv[4], 0.001, 3600, &seconds) < 0 ||
      parse_number(argv[5], 1, 16 * 1024 * 1024, &size) < 0) {
    fprintf(stderr, "echo-client: PORT 1-65535, CONNECTIONS 1-10000, "
                    "SECONDS up to 3600, MSGSIZE 1 to 16 MiB\n");
    return 2;
  }
  struct sockaddr_storage addr;
  if (uv_ip4_addr(argv[1], (int)port, (struct sockaddr_in *)&addr) != 0 &&
      uv_ip6_addr(argv[1], (int)port, (struct sockaddr_in6 *)&addr) != 0) {
    fprintf(stderr, "echo-client: '%s' is not a numeric IP address\n", argv[1]);
    return 2;
  }
  nclients = (unsigned)conns;
  msgsize = (size_t)size;
  clients = calloc(nclients, sizeof *clients);
  char *msgs = malloc(nclients * msgsize);
  if (clients == NULL || msgs == NULL) {
    fprintf(stderr, "echo-client: out of memory\n");
    return 1;
  }

  /* A server that resets a connection is reported as an error, not a death
   * by SIGPIPE that prints nothing. */
  signal(SIGPIPE, SIG_IGN);
  loop = uv_default_loop();
  uv_timer_init(loop, &deadline);
  uv_timer_start(&deadline, on_deadline, (uint64_t)(seconds * 1000), 0);
  start_ns = uv_hrtime();
  for (unsigned i = 0; i < nclients; i++) {
    struct client *c = &clients[i];
    c->id = i;
    c->msg = msgs + (size_t)i * msgsize;
    uv_tcp_init(loop, &c->tcp);
    open_clients++;
    c->tcp.data = c;
    c->connect.data = c;
    c->write.data = c;
    int err = uv_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&addr,
                             on_connect);
    if (err < 0)
      fail(c, "connect: %s", uv_strerror(err));
  }
  uv_run(loop, UV_RUN_DEFAULT);

  double elapsed = (double)(stop_ns - start_ns) / 1e9;
  printf("requests=%llu rps=%.1f errors=%llu\n", requests,
         elapsed > 0 ? (double)requests / elapsed : 0.0, errors);
  int clean = uv_loop_close(loop) == 0;
  free(msgs);
  free(clients);
  if (!clean) {
    fprintf(stderr, "echo-client: handles left open at exit\n");
    return 1;
  }
  return errors > 0 ? 1 : 0;
}
