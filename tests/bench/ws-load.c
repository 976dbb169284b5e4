/*
 * ws-load: the WebSocket load generator of tests/bench/ws-peers, in C on
 * libuv, so that the clients cost little beside the server they measure.
 *   build/tests/bench/ws-load echo PORT CONNS SECONDS [SIZE]
 *   build/tests/bench/ws-load broadcast PORT CONNS SECONDS [SIZE]
 * echo: CONNS connections each send a text message of SIZE bytes (default
 * 32), wait for it to come back, and send the next. broadcast: CONNS
 * connections listen; the first also sends messages starting with "B"
 * and a number, which the server sends to every connection, keeping 8 of
 * them in flight: a new one once every connection has had an old one (so
 * no connection falls behind and no queue grows). Prints "messages N
 * seconds S rate R" where N counts the messages the clients received.
 * Every message is checked (its length and first byte); a wrong one, or a
 * connection that ends, fails the run (exit 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define BUF 65536
#define IN_FLIGHT 8

struct conn {
  uv_tcp_t tcp;
  uv_connect_t connect;
  int index;
  int open;    /* the handshake's answer came */
  size_t have; /* bytes in buf */
  char buf[BUF];
};

static int broadcast;
static size_t size = 32;
static int conns_open;
static int total;
static uint64_t received;
static int counting;
static int stopping;
static char frame[14 + 65536];
static size_t frame_len;
static struct conn *all;
/* broadcast: how many went, and per broadcast (by number, in a ring) how
 * many connections had it. */
static uint64_t sent, completed;
#define RING 64
static int had[RING];

static void die(const char *why) {
  fprintf(stderr, "ws-load: %s\n", why);
  exit(1);
}

static void on_written(uv_write_t *req, int status) {
  if (status < 0 && !stopping)
    die(uv_strerror(status));
  free(req);
}

static void send_bytes(struct conn *c, const char *data, size_t len) {
  uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
  int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  if (n == (int)len)
    return;
  if (n < 0 && n != UV_EAGAIN)
    die(uv_strerror(n));
  size_t done = n > 0 ? (size_t)n : 0;
  uv_write_t *req = malloc(sizeof(*req) + len - done);
  memcpy(req + 1, data + done, len - done);
  b = uv_buf_init((char *)(req + 1), (unsigned)(len - done));
  if (uv_write(req, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0)
    die("write");
}

/* One masked text frame of size bytes (a fixed key: the server unmasks
 * whatever it is). */
static void make_frame(char first, uint64_t number) {
  static const unsigned char key[4] = {0x12, 0x34, 0x56, 0x78};
  size_t h = 0;
  frame[h++] = (char)0x81;
  if (size < 126) {
    frame[h++] = (char)(0x80 | size);
  } else {
    frame[h++] = (char)(0x80 | 126);
    frame[h++] = (char)(size >> 8);
    frame[h++] = (char)size;
  }
  memcpy(frame + h, key, 4);
  h += 4;
  char text[32];
  int digits = snprintf(text, sizeof(text), "%c%llu.", first,
                        (unsigned long long)number);
  for (size_t i = 0; i < size; i++) {
    char ch = i < (size_t)digits ? text[i] : (char)('a' + i % 26);
    frame[h + i] = (char)(ch ^ key[i & 3]);
  }
  frame_len = h + size;
}

static void on_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  struct conn *c = h->data;
  (void)s;
  *b = uv_buf_init(c->buf + c->have, (unsigned)(BUF - c->have));
}

static void send_broadcast(void) {
  make_frame('B', sent++);
  send_bytes(&all[0], frame, frame_len);
}

static void got_message(struct conn *c, const char *payload, size_t len) {
  if (len != size)
    die("a message of the wrong length came back");
  if (counting)
    received++;
  if (stopping)
    return;
  if (!broadcast) {
    if (payload[0] != 'E')
      die("an echo that is not ours");
    send_bytes(c, frame, frame_len);
    return;
  }
  if (payload[0] != 'B')
    die("a broadcast that is not ours");
  uint64_t number = strtoull(payload + 1, NULL, 10);
  if (number >= sent || number + RING < sent)
    die("a broadcast out of order");
  if (++had[number % RING] == total) {
    had[number % RING] = 0;
    completed++;
    while (sent - completed < IN_FLIGHT)
      send_broadcast();
  }
  (void)c;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  struct conn *c = s->data;
  (void)b;
  if (n < 0) {
    if (stopping)
      return;
    die(n == UV_EOF ? "the server ended a connection" : uv_strerror((int)n));
  }
  c->have += (size_t)n;
  size_t at = 0;
  if (!c->open) {
    char *end = memmem(c->buf, c->have, "\r\n\r\n", 4);
    if (end == NULL)
      return;
    if (memcmp(c->buf, "HTTP/1.1 101", 12) != 0)
      die("the handshake was refused");
    c->open = 1;
    at = (size_t)(end + 4 - c->buf);
    if (++conns_open == total) {
      /* All open: the load starts. */
      if (broadcast) {
        for (int i = 0; i < IN_FLIGHT; i++)
          send_broadcast();
      } else {
        for (int i = 0; i < total; i++)
          send_bytes(&all[i], frame, frame_len);
      }
    }
  }
  while (c->have - at >= 2) {
    const unsigned char *p = (const unsigned char *)c->buf + at;
    size_t len = p[1] & 0x7f, h = 2;
    if (len == 126) {
      if (c->have - at < 4)
        break;
      len = (size_t)p[2] << 8 | p[3];
      h = 4;
    } else if (len == 127) {
      die("a frame over 64 KiB");
    }
    if (c->have - at < h + len)
      break;
    if ((p[0] & 0x0f) == 1)
      got_message(c, (const char *)p + h, len);
    else if ((p[0] & 0x0f) == 8 && !stopping)
      die("the server closed a connection");
    at += h + len;
  }
  memmove(c->buf, c->buf + at, c->have - at);
  c->have -= at;
}

static void on_connect(uv_connect_t *req, int status) {
  struct conn *c = req->data;
  if (status < 0)
    die(uv_strerror(status));
  static const char request[] =
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
  uv_tcp_nodelay(&c->tcp, 1);
  send_bytes(c, request, sizeof(request) - 1);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static uint64_t started;
static void on_start(uv_timer_t *t) {
  (void)t;
  if (conns_open < total)
    die("not every connection opened within 2 s");
  counting = 1;
  started = uv_hrtime();
}

static void on_stop(uv_timer_t *t) {
  double secs = (double)(uv_hrtime() - started) / 1e9;
  counting = 0;
  stopping = 1;
  printf("messages %llu seconds %.2f rate %.0f\n", (unsigned long long)received,
         secs, (double)received / secs);
  fflush(stdout);
  exit(0);
  (void)t;
}

int main(int argc, char **argv) {
  if (argc < 5 || (strcmp(argv[1], "echo") && strcmp(argv[1], "broadcast"))) {
    fprintf(stderr,
            "usage: ws-load echo|broadcast PORT CONNS SECONDS [SIZE]\n");
    return 2;
  }
  broadcast = strcmp(argv[1], "broadcast") == 0;
  int port = atoi(argv[2]);
  total = atoi(argv[3]);
  double seconds = atof(argv[4]);
  if (argc > 5)
    size = (size_t)atoi(argv[5]);
  if (total < 1 || size < 1 || size > 65535)
    die("CONNS must be at least 1 and SIZE 1 to 65535");
  make_frame(broadcast ? 'B' : 'E', 0);
  uv_loop_t *loop = uv_default_loop();
  all = calloc((size_t)total, sizeof(*all));
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", port, &addr);
  for (int i = 0; i < total; i++) {
    struct conn *c = &all[i];
    c->index = i;
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
    c->connect.data = c;
    if (uv_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&addr,
                       on_connect) < 0)
      die("connect");
  }
  /* Two seconds to open and warm up, then the counted run. */
  uv_timer_t start, stop;
  uv_timer_init(loop, &start);
  uv_timer_init(loop, &stop);
  uv_timer_start(&start, on_start, 2000, 0);
  uv_timer_start(&stop, on_stop, 2000 + (uint64_t)(seconds * 1000), 0);
  return uv_run(loop, UV_RUN_DEFAULT);
}
