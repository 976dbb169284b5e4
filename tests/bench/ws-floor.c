/*
 * ws-floor: the C floor of tests/bench/ws-peers: a WebSocket server in plain
 * C on libuv that does the least any server must do for ws-load's echo and
 * broadcast, so the bench can say how far from the machine's limit dv8 and
 * node are.
 *   build/tests/bench/ws-floor PORT  (prints "listening PORT", runs until
 *   killed)
 * It answers the handshake (the accept key from SHA-1, as RFC 6455 4.2.2
 * says), then unmasks each client frame and sends its payload back in one
 * unmasked frame, or, when the text starts with "B", to every connection:
 * what tests/bench/ws-server.js does. What it leaves out is what makes it a
 * floor and not a server: no UTF-8 check, no fragments, pings or closes
 * (a frame it does not expect ends the connection), no size limit but its
 * buffer. All frames one read brings go back in one write per connection
 * (the broadcasts one read brings: one write to each connection).
 */
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define BUF 65536

struct conn {
  uv_tcp_t tcp;
  struct conn *prev, *next; /* every open connection, for broadcasts */
  int open;                 /* the handshake was answered */
  size_t have;              /* bytes in buf not yet used */
  char buf[BUF];
};

static struct conn ring = {.prev = &ring, .next = &ring};

static void on_close(uv_handle_t *h) { free(h->data); }

static void drop(struct conn *c) {
  if (uv_is_closing((uv_handle_t *)&c->tcp))
    return;
  c->prev->next = c->next;
  c->next->prev = c->prev;
  uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void on_written(uv_write_t *req, int status) {
  (void)status;
  free(req);
}

/* A write the kernel takes at once costs no copy; the rest is copied and
 * queued, since the caller's bytes are about to be reused. */
static void send_bytes(struct conn *c, const char *data, size_t len) {
  uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
  int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  if (n == (int)len)
    return;
  if (n < 0 && n != UV_EAGAIN) {
    drop(c);
    return;
  }
  size_t done = n > 0 ? (size_t)n : 0;
  uv_write_t *req = malloc(sizeof *req + len - done);
  if (req == NULL) {
    drop(c);
    return;
  }
  memcpy(req + 1, data + done, len - done);
  b = uv_buf_init((char *)(req + 1), (unsigned)(len - done));
  if (uv_write(req, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0) {
    free(req);
    drop(c);
  }
}

static int handshake(struct conn *c, size_t *used) {
  char *end = memmem(c->buf, c->have, "\r\n\r\n", 4);
  if (end == NULL)
    return c->have < BUF ? 0 : -1;
  *end = '\0';
  char *key = strcasestr(c->buf, "\r\nSec-WebSocket-Key:");
  if (key == NULL)
    return -1;
  key += 20;
  while (*key == ' ')
    key++;
  size_t klen = strcspn(key, "\r\n ");
  char joined[128];
  if (klen > 60)
    return -1;
  memcpy(joined, key, klen);
  memcpy(joined + klen, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", 36);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1((unsigned char *)joined, klen + 36, digest);
  char accept[32];
  EVP_EncodeBlock((unsigned char *)accept, digest, sizeof digest);
  char answer[256];
  int n = snprintf(answer, sizeof answer,
                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                   accept);
  send_bytes(c, answer, (size_t)n);
  c->open = 1;
  *used = (size_t)(end + 4 - c->buf);
  return 1;
}

/* Adds one unmasked frame holding len bytes at out; returns its size. */
static size_t put_frame(char *out, unsigned char first, const char *payload,
                        size_t len) {
  size_t h = 0;
  out[h++] = (char)first;
  if (len < 126) {
    out[h++] = (char)len;
  } else {
    out[h++] = 126;
    out[h++] = (char)(len >> 8);
    out[h++] = (char)len;
  }
  memcpy(out + h, payload, len);
  return h + len;
}

static void broadcast(const char *frames, size_t len) {
  for (struct conn *t = ring.next; t != &ring;) {
    struct conn *next = t->next; /* send_bytes may drop t */
    if (t->open)
      send_bytes(t, frames, len);
    t = next;
  }
}

static void on_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  struct conn *c = h->data;
  (void)s;
  *b = uv_buf_init(c->buf + c->have, (unsigned)(BUF - c->have));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  struct conn *c = s->data;
  (void)b;
  if (n < 0) {
    drop(c);
    return;
  }
  c->have += (size_t)n;
  size_t at = 0;
  if (!c->open) {
    int rc = handshake(c, &at);
    if (rc <= 0) {
      if (rc < 0)
        drop(c);
      return;
    }
  }
  static char out[BUF + 16], all[BUF + 16];
  size_t out_len = 0, all_len = 0;
  while (c->have - at >= 6) {
    unsigned char *p = (unsigned char *)c->buf + at;
    size_t len = p[1] & 0x7f, h = 2;
    if (len == 126) {
      len = (size_t)p[2] << 8 | p[3];
      h = 4;
    }
    /* Only whole, masked text or binary frames of up to 64 KiB: the
     * floor's clients send nothing else. */
    if ((p[0] & 0xf0) != 0x80 || ((p[0] & 0x0f) != 1 && (p[0] & 0x0f) != 2) ||
        !(p[1] & 0x80) || len == 127) {
      drop(c);
      return;
    }
    if (c->have - at < h + 4 + len)
      break;
    const unsigned char *mask = p + h;
    char *payload = (char *)p + h + 4;
    for (size_t i = 0; i < len; i++)
      payload[i] ^= (char)mask[i & 3];
    if (len > 0 && payload[0] == 'B' && (p[0] & 0x0f) == 1) {
      if (all_len + len + 4 > sizeof all) {
        broadcast(all, all_len);
        all_len = 0;
      }
      all_len += put_frame(all + all_len, p[0], payload, len);
    } else {
      if (out_len + len + 4 > sizeof out) {
        send_bytes(c, out, out_len);
        out_len = 0;
      }
      out_len += put_frame(out + out_len, p[0], payload, len);
    }
    at += h + 4 + len;
  }
  if (out_len > 0)
    send_bytes(c, out, out_len);
  if (all_len > 0)
    broadcast(all, all_len);
  if (uv_is_closing((uv_handle_t *)&c->tcp))
    return;
  memmove(c->buf, c->buf + at, c->have - at);
  c->have -= at;
}

static void on_connection(uv_stream_t *server, int status) {
  if (status < 0)
    return;
  struct conn *c = calloc(1, sizeof *c);
  if (c == NULL)
    return;
  uv_tcp_init(server->loop, &c->tcp);
  c->tcp.data = c;
  c->next = &ring;
  c->prev = ring.prev;
  ring.prev->next = c;
  ring.prev = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
    drop(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int main(int argc, char **argv) {
  char *end = NULL;
  long port = argc == 2 ? strtol(argv[1], &end, 10) : -1;
  if (argc != 2 || *argv[1] == '\0' || *end != '\0' || port < 0 ||
      port > 65535) {
    fprintf(stderr, "usage: ws-floor PORT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t *loop = uv_default_loop();
  uv_tcp_t server;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", (int)port, &addr);
  uv_tcp_init(loop, &server);
  int err = uv_tcp_bind(&server, (struct sockaddr *)&addr, 0);
  if (err == 0)
    err = uv_listen((uv_stream_t *)&server, 2048, on_connection);
  if (err < 0) {
    fprintf(stderr, "ws-floor: listen on port %ld: %s\n", port,
            uv_strerror(err));
    return 1;
  }
  printf("listening %ld\n", port);
  fflush(stdout);
  return uv_run(loop, UV_RUN_DEFAULT);
}
