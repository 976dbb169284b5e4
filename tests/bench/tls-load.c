/*
 * tls-load: a load generator for TLS echo servers, in C on libuv and
 * OpenSSL (TLS 1.3 only, X25519, the server's certificate not checked: the
 * servers are ours, the cost measured is theirs).
 *   build/tests/bench/tls-load handshake HOST PORT CONCURRENCY SECONDS [resume]
 *   build/tests/bench/tls-load bulk HOST PORT BYTES
 *   build/tests/bench/tls-load echo HOST PORT CONNECTIONS SECONDS MSGSIZE
 * HOST is a numeric address (no name is resolved). tests/bench/tls-peers
 * drives it against examples/tls-echo.js, node's tls and tls-floor, and
 * measures the servers' CPU itself.
 *
 * handshake: CONCURRENCY connections at a time, each a full handshake, then
 *   our close_notify, the server's bytes (its tickets, its close_notify)
 *   read and dropped until its FIN, our close, and the next connection in
 *   its place, until SECONDS are up. With `resume`, one connection first
 *   waits for a session ticket, and every connection after it offers that
 *   session: only handshakes that did resume count (SSL_session_reused), the
 *   others are reported as notresumed. Prints
 *     handshakes=N rate=X/s failed=F resumed=R [notresumed=U]
 * bulk: one connection writes BYTES of a pattern (every aligned 8-byte word
 *   is a different function of its offset) while it reads the echo back and
 *   checks every byte of it; timed from the end of the handshake to the
 *   last byte echoed. Prints bytes=N seconds=S MiB/s=X cipher=NAME
 * echo: CONNECTIONS connections, each sends a MSGSIZE-byte message, waits
 *   for its echo, checks it and sends the next (tests/bench/echo-client over
 *   TLS). Prints requests=N rps=X errors=E
 * Exit status 1 if a connection failed, an echoed byte differed, (bulk)
 * the echo came back short, or no handshake or echo was counted at all.
 */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* bulk: the plaintext sealed per SSL_write, and how much ciphertext may wait
 * in libuv's queue before writing waits for it to drain. */
#define CHUNK (64 * 1024)
#define WINDOW (1024 * 1024)
/* Failures past this many are counted, not described. */
#define MAX_REPORTS 5

enum mode { MODE_HANDSHAKE, MODE_BULK, MODE_ECHO };
enum state { CONNECTING, SHAKING, OPEN, TICKET, CLOSING };

struct conn {
  uv_tcp_t tcp;
  uv_connect_t connect;
  SSL *ssl;
  BIO *rbio, *wbio;
  unsigned id;
  enum state state;
  uint64_t seq; /* echo: number of the message in flight */
  size_t got;   /* echo: bytes of its echo received so far */
  char *msg;    /* echo: MSGSIZE bytes */
};

struct queued_write {
  uv_write_t req;
  char data[];
};

static enum mode mode;
static int resume;
static uv_loop_t *loop;
static uv_timer_t deadline;
static SSL_CTX *ctx;
static SSL_SESSION *session; /* resume: the one every connection offers */
static struct sockaddr_storage addr;
static struct conn *conns;
static unsigned nconns, open_conns;
static double seconds;
static size_t msgsize;
static int started, stopping;
static uint64_t start_ns, stop_ns;
static unsigned long long handshakes, resumed, notresumed, failed;
static unsigned long long requests;
static uint64_t bulk_total, bulk_sent, bulk_received;
static uint64_t bulk_start_ns, bulk_end_ns;
static char cipher[64] = "?";

/* Callbacks run one at a time and use these before they return. */
static char read_buf[65536];
static char plain_buf[65536];
static char out_buf[65536 + 4096];
static unsigned char chunk_buf[CHUNK];

static void start_conn(struct conn *c);
static void process(struct conn *c);

/* ---- the pattern of bulk ---- */

/* Word i of the stream: multiplying by an odd constant is a bijection, so no
 * two words of a run are equal and a byte lost, repeated, moved or changed
 * is seen at once. Bytes are the words' little-endian bytes. */
static uint64_t pattern_word(uint64_t i) {
  return i * 0x9e3779b97f4a7c15u + 0x2545f4914f6cdd1du;
}

static unsigned char pattern_byte(uint64_t off) {
  return (unsigned char)(pattern_word(off >> 3) >> ((off & 7) * 8));
}

static uint64_t to_le(uint64_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  return __builtin_bswap64(v);
#else
  return v;
#endif
}

static void fill_pattern(unsigned char *p, size_t n, uint64_t off) {
  size_t i = 0;
  for (; i < n && ((off + i) & 7) != 0; i++)
    p[i] = pattern_byte(off + i);
  for (; i + 8 <= n; i += 8) {
    uint64_t w = to_le(pattern_word((off + i) >> 3));
    memcpy(p + i, &w, 8);
  }
  for (; i < n; i++)
    p[i] = pattern_byte(off + i);
}

/* The offset of the first byte that is not the pattern's, or -1. */
static int64_t check_pattern(const unsigned char *p, size_t n, uint64_t off) {
  size_t i = 0;
  for (; i < n && ((off + i) & 7) != 0; i++)
    if (p[i] != pattern_byte(off + i))
      return (int64_t)(off + i);
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    if (w != to_le(pattern_word((off + i) >> 3)))
      break; /* the bytes below say which one */
  }
  for (; i < n; i++)
    if (p[i] != pattern_byte(off + i))
      return (int64_t)(off + i);
  return -1;
}

/* ---- connections ---- */

static void stop(void);

static void on_deadline(uv_timer_t *timer) {
  (void)timer;
  stop();
}

static void on_closed(uv_handle_t *handle) {
  struct conn *c = handle->data;
  SSL_free(c->ssl); /* and both BIOs */
  c->ssl = NULL;
  open_conns--;
  if (stopping) {
    if (open_conns == 0 && !uv_is_closing((uv_handle_t *)&deadline))
      uv_close((uv_handle_t *)&deadline, NULL);
    return;
  }
  if (mode == MODE_HANDSHAKE) {
    if (!started) { /* resume: the connection that fetched the ticket */
      started = 1;
      start_ns = uv_hrtime();
      uv_timer_start(&deadline, on_deadline, (uint64_t)(seconds * 1000), 0);
      for (unsigned i = 0; i < nconns; i++)
        start_conn(&conns[i]);
    } else {
      start_conn(c); /* the next one in its place */
    }
  } else if (open_conns == 0) {
    stop();
  }
}

static void close_conn(struct conn *c) {
  if (!uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void fail(struct conn *c, const char *fmt, ...) {
  if (++failed <= MAX_REPORTS) {
    va_list ap;
    fprintf(stderr, "tls-load: connection %u: ", c->id);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    unsigned long e = ERR_peek_last_error();
    if (e != 0)
      fprintf(stderr, " (%s)", ERR_reason_error_string(e));
    fputc('\n', stderr);
  }
  ERR_clear_error();
  c->state = CLOSING; /* nothing more is read or written on it */
  close_conn(c);
  /* Without a ticket, or without its one connection, there is no run. */
  if (!started || mode == MODE_BULK)
    stop();
}

static void on_write(uv_write_t *req, int status);

/* Queues head (what the kernel did not take of out_buf) and whatever is
 * still in the write BIO as one write. */
static int queue_rest(struct conn *c, const char *head, size_t head_len) {
  size_t rest = BIO_ctrl_pending(c->wbio);
  struct queued_write *w = malloc(sizeof *w + head_len + rest);
  if (w == NULL)
    return UV_ENOMEM;
  if (head_len > 0)
    memcpy(w->data, head, head_len);
  if (rest > 0 &&
      BIO_read(c->wbio, w->data + head_len, (int)rest) != (int)rest) {
    free(w);
    return UV_EIO;
  }
  w->req.data = c;
  uv_buf_t b = uv_buf_init(w->data, (unsigned)(head_len + rest));
  int err = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
  if (err < 0)
    free(w);
  return err;
}

/* Sends what OpenSSL wrote: at once from out_buf while the kernel takes
 * it, the rest copied and queued. */
static int flush(struct conn *c) {
  uv_stream_t *stream = (uv_stream_t *)&c->tcp;
  size_t pending;
  while ((pending = BIO_ctrl_pending(c->wbio)) > 0) {
    if (uv_stream_get_write_queue_size(stream) > 0)
      return queue_rest(c, NULL, 0);
    int n =
        BIO_read(c->wbio, out_buf,
                 pending < sizeof out_buf ? (int)pending : (int)sizeof out_buf);
    if (n <= 0)
      return UV_EIO;
    uv_buf_t b = uv_buf_init(out_buf, (unsigned)n);
    int w = uv_try_write(stream, &b, 1);
    if (w == n)
      continue;
    if (w < 0 && w != UV_EAGAIN)
      return w;
    size_t done = w > 0 ? (size_t)w : 0;
    return queue_rest(c, out_buf + done, (size_t)n - done);
  }
  return 0;
}

static int flush_or_fail(struct conn *c) {
  int err = flush(c);
  if (err < 0)
    fail(c, "write: %s", uv_strerror(err));
  return err;
}

/* Our close_notify; the server answers with its own and its FIN, and the
 * connection closes then. The server ends first, as servers do when they
 * close, so TIME_WAIT is on its side: when tls-load sent the first FIN,
 * its tens of thousands of TIME_WAIT sockets raised the servers' CPU per
 * handshake by about a third (tls-floor: 280 to 370 us) as they piled
 * up. */
static void begin_close(struct conn *c) {
  c->state = CLOSING;
  SSL_shutdown(c->ssl);
  flush_or_fail(c);
}

/* bulk: seals more of the pattern while libuv's queue has room. */
static void pump_writes(struct conn *c) {
  uv_stream_t *stream = (uv_stream_t *)&c->tcp;
  while (c->state == OPEN && bulk_sent < bulk_total &&
         uv_stream_get_write_queue_size(stream) < WINDOW) {
    size_t n = bulk_total - bulk_sent < CHUNK ? (size_t)(bulk_total - bulk_sent)
                                              : CHUNK;
    fill_pattern(chunk_buf, n, bulk_sent);
    size_t written;
    if (!SSL_write_ex(c->ssl, chunk_buf, n, &written)) {
      fail(c, "TLS write");
      return;
    }
    bulk_sent += n;
    if (flush_or_fail(c) < 0)
      return;
  }
}

static void on_write(uv_write_t *req, int status) {
  struct conn *c = req->data;
  free(req);
  if (status == UV_ECANCELED) /* closed: reported already, or the end */
    return;
  if (status < 0) {
    fail(c, "write: %s", uv_strerror(status));
    return;
  }
  if (mode == MODE_BULK)
    pump_writes(c);
}

/* echo: every message differs from the one before it at every byte. */
static void send_message(struct conn *c) {
  for (size_t i = 0; i < msgsize; i++)
    c->msg[i] = (char)(c->seq + c->id * 7 + i * 31);
  c->got = 0;
  size_t written;
  if (!SSL_write_ex(c->ssl, c->msg, msgsize, &written)) {
    fail(c, "TLS write");
    return;
  }
  flush_or_fail(c);
}

/* Plaintext from the server. */
static void on_plaintext(struct conn *c, const char *p, size_t n) {
  if (mode == MODE_ECHO) {
    if (n > msgsize - c->got) {
      fail(c, "%zu bytes came back for a %zu-byte message", c->got + n,
           msgsize);
      return;
    }
    if (memcmp(p, c->msg + c->got, n) != 0) {
      fail(c, "echoed bytes differ from the message sent (message %llu)",
           (unsigned long long)c->seq);
      return;
    }
    c->got += n;
    if (c->got == msgsize) {
      requests++;
      c->seq++;
      send_message(c);
    }
  } else if (mode == MODE_BULK) {
    if (n > bulk_total - bulk_received) {
      fail(c, "more bytes came back than were sent");
      return;
    }
    int64_t bad = check_pattern((const unsigned char *)p, n, bulk_received);
    if (bad >= 0) {
      fail(c, "echoed byte %lld differs from the byte sent", (long long)bad);
      return;
    }
    bulk_received += n;
    if (bulk_received == bulk_total) {
      bulk_end_ns = uv_hrtime();
      begin_close(c);
    }
  } else {
    fail(c, "the server sent %zu bytes nobody asked for", n);
  }
}

static void handshake_done(struct conn *c) {
  if (mode == MODE_HANDSHAKE) {
    if (!started) { /* wait for the ticket, then close */
      c->state = TICKET;
      return;
    }
    if (SSL_session_reused(c->ssl)) {
      resumed++;
      handshakes++;
    } else if (resume) {
      notresumed++;
    } else {
      handshakes++;
    }
    begin_close(c);
    return;
  }
  c->state = OPEN;
  snprintf(cipher, sizeof cipher, "%s", SSL_get_cipher_name(c->ssl));
  if (mode == MODE_ECHO) {
    send_message(c);
  } else {
    bulk_start_ns = uv_hrtime();
    pump_writes(c);
  }
}

/* Drives the connection with what came in: the handshake, then reading. */
static void process(struct conn *c) {
  if (c->state == SHAKING) {
    int r = SSL_do_handshake(c->ssl);
    if (r != 1) {
      int err = SSL_get_error(c->ssl, r);
      if (flush_or_fail(c) < 0) /* our flight, or an alert */
        return;
      if (err != SSL_ERROR_WANT_READ)
        fail(c, "TLS handshake failed");
      return;
    }
    /* Our Finished leaves with what follows it, in one write. */
    handshake_done(c);
  }
  while (c->state == OPEN || c->state == TICKET) {
    size_t n;
    if (SSL_read_ex(c->ssl, plain_buf, sizeof plain_buf, &n)) {
      on_plaintext(c, plain_buf, n);
      continue;
    }
    int err = SSL_get_error(c->ssl, 0);
    /* A key update may want an answer. */
    if (flush_or_fail(c) < 0)
      return;
    if (c->state == TICKET && session != NULL) {
      begin_close(c);
      return;
    }
    if (err == SSL_ERROR_WANT_READ)
      return;
    fail(c, err == SSL_ERROR_ZERO_RETURN ? "the server closed the connection"
                                         : "TLS read failed");
    return;
  }
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  (void)handle;
  (void)suggested;
  *buf = uv_buf_init(read_buf, sizeof read_buf);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  struct conn *c = stream->data;
  if (stopping || uv_is_closing((uv_handle_t *)stream))
    return;
  if (nread == UV_EOF) {
    if (c->state == CLOSING)
      close_conn(c); /* done, cleanly */
    else
      fail(c, "the server closed the connection");
    return;
  }
  if (nread < 0) {
    fail(c, "read: %s", uv_strerror((int)nread));
    return;
  }
  /* Closing: the server's tickets and close_notify need no reading. */
  if (nread == 0 || c->state == CLOSING)
    return;
  if (BIO_write(c->rbio, buf->base, (int)nread) != (int)nread) {
    fail(c, "out of memory");
    return;
  }
  process(c);
}

static void on_connect(uv_connect_t *req, int status) {
  struct conn *c = req->data;
  if (stopping || status == UV_ECANCELED)
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
  c->state = SHAKING;
  process(c);
}

static void start_conn(struct conn *c) {
  c->state = CONNECTING;
  c->ssl = SSL_new(ctx);
  c->rbio = BIO_new(BIO_s_mem());
  c->wbio = BIO_new(BIO_s_mem());
  if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
    fprintf(stderr, "tls-load: out of memory\n");
    exit(1);
  }
  SSL_set_bio(c->ssl, c->rbio, c->wbio);
  SSL_set_connect_state(c->ssl);
  /* Each connection gets a copy: the handshake overwrites its session's
   * secret with the next one (TLS 1.3), spoiling it for the others. */
  if (started && session != NULL) {
    SSL_SESSION *copy = SSL_SESSION_dup(session);
    if (copy == NULL || !SSL_set_session(c->ssl, copy)) {
      fprintf(stderr, "tls-load: out of memory\n");
      exit(1);
    }
    SSL_SESSION_free(copy);
  }
  uv_tcp_init(loop, &c->tcp);
  c->tcp.data = c;
  c->connect.data = c;
  open_conns++;
  int err = uv_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&addr,
                           on_connect);
  if (err < 0)
    fail(c, "connect: %s", uv_strerror(err));
}

/* resume: the first session the server gives, kept (1: the reference is
 * ours). */
static int on_new_session(SSL *ssl, SSL_SESSION *s) {
  (void)ssl;
  if (session != NULL || !SSL_SESSION_is_resumable(s))
    return 0;
  session = s;
  return 1;
}

static void stop(void) {
  if (stopping)
    return;
  stopping = 1;
  stop_ns = uv_hrtime();
  for (unsigned i = 0; i < nconns; i++)
    if (conns[i].ssl != NULL)
      close_conn(&conns[i]);
  if (open_conns == 0 && !uv_is_closing((uv_handle_t *)&deadline))
    uv_close((uv_handle_t *)&deadline, NULL);
}

/* ---- main ---- */

static int parse_number(const char *s, double min, double max, double *out) {
  char *end;
  double v = strtod(s, &end);
  if (*s == '\0' || *end != '\0' || !(v >= min && v <= max))
    return -1;
  *out = v;
  return 0;
}

static int usage(void) {
  fprintf(stderr,
          "usage: tls-load handshake HOST PORT CONCURRENCY SECONDS [resume]\n"
          "       tls-load bulk HOST PORT BYTES\n"
          "       tls-load echo HOST PORT CONNECTIONS SECONDS MSGSIZE\n"
          "(CONCURRENCY, CONNECTIONS 1-10000; SECONDS up to 3600; BYTES up "
          "to 2^50; MSGSIZE 1 to 16 MiB)\n");
  return 2;
}

int main(int argc, char **argv) {
  double port, count = 1, bytes = 0, size = 0;
  if (argc < 5)
    return usage();
  if (strcmp(argv[1], "handshake") == 0 && (argc == 6 || argc == 7)) {
    mode = MODE_HANDSHAKE;
    if (argc == 7) {
      if (strcmp(argv[6], "resume") != 0)
        return usage();
      resume = 1;
    }
    if (parse_number(argv[4], 1, 10000, &count) < 0 ||
        parse_number(argv[5], 0.001, 3600, &seconds) < 0)
      return usage();
  } else if (strcmp(argv[1], "bulk") == 0 && argc == 5) {
    mode = MODE_BULK;
    if (parse_number(argv[4], 1, 1125899906842624.0, &bytes) < 0)
      return usage();
  } else if (strcmp(argv[1], "echo") == 0 && argc == 7) {
    mode = MODE_ECHO;
    if (parse_number(argv[4], 1, 10000, &count) < 0 ||
        parse_number(argv[5], 0.001, 3600, &seconds) < 0 ||
        parse_number(argv[6], 1, 16 * 1024 * 1024, &size) < 0)
      return usage();
  } else {
    return usage();
  }
  if (parse_number(argv[3], 1, 65535, &port) < 0)
    return usage();
  if (uv_ip4_addr(argv[2], (int)port, (struct sockaddr_in *)&addr) != 0 &&
      uv_ip6_addr(argv[2], (int)port, (struct sockaddr_in6 *)&addr) != 0) {
    fprintf(stderr, "tls-load: '%s' is not a numeric IP address\n", argv[2]);
    return 2;
  }
  nconns = (unsigned)count;
  msgsize = (size_t)size;
  bulk_total = (uint64_t)bytes;
  conns = calloc(nconns, sizeof *conns);
  char *msgs = mode == MODE_ECHO ? malloc(nconns * msgsize) : NULL;
  if (conns == NULL || (mode == MODE_ECHO && msgs == NULL)) {
    fprintf(stderr, "tls-load: out of memory\n");
    return 1;
  }
  for (unsigned i = 0; i < nconns; i++) {
    conns[i].id = i;
    conns[i].msg = msgs != NULL ? msgs + (size_t)i * msgsize : NULL;
  }

  ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
      !SSL_CTX_set1_groups_list(ctx, "X25519")) {
    fprintf(stderr, "tls-load: OpenSSL refused the client's settings\n");
    return 1;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  if (resume) {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
                                            SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, on_new_session);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }

  /* A server that resets a connection is reported as a failure, not a
   * death by SIGPIPE that prints nothing. */
  signal(SIGPIPE, SIG_IGN);
  loop = uv_default_loop();
  uv_timer_init(loop, &deadline);
  if (resume) {
    start_conn(&conns[0]); /* the ticket first; the others when it closes */
  } else {
    started = 1;
    start_ns = uv_hrtime();
    if (mode != MODE_BULK)
      uv_timer_start(&deadline, on_deadline, (uint64_t)(seconds * 1000), 0);
    for (unsigned i = 0; i < nconns; i++)
      start_conn(&conns[i]);
  }
  uv_run(loop, UV_RUN_DEFAULT);

  double elapsed = (double)(stop_ns - start_ns) / 1e9;
  int bad = failed > 0;
  if (mode == MODE_HANDSHAKE) {
    if (resume && session == NULL)
      fprintf(stderr, "tls-load: the server sent no session ticket\n");
    printf("handshakes=%llu rate=%.1f/s failed=%llu resumed=%llu", handshakes,
           started && elapsed > 0 ? (double)handshakes / elapsed : 0.0, failed,
           resumed);
    if (resume)
      printf(" notresumed=%llu", notresumed);
    printf("\n");
    if (handshakes == 0) {
      fprintf(stderr, "tls-load: no handshake was counted\n");
      bad = 1;
    }
  } else if (mode == MODE_ECHO) {
    printf("requests=%llu rps=%.1f errors=%llu\n", requests,
           elapsed > 0 ? (double)requests / elapsed : 0.0, failed);
    if (requests == 0) {
      fprintf(stderr, "tls-load: no echo came back\n");
      bad = 1;
    }
  } else {
    double s = bulk_end_ns > bulk_start_ns
                   ? (double)(bulk_end_ns - bulk_start_ns) / 1e9
                   : 0.0;
    if (bulk_received != bulk_total) {
      fprintf(stderr, "tls-load: %llu of %llu bytes came back\n",
              (unsigned long long)bulk_received,
              (unsigned long long)bulk_total);
      bad = 1;
    }
    printf("bytes=%llu seconds=%.3f MiB/s=%.1f cipher=%s\n",
           (unsigned long long)bulk_received, s,
           s > 0 ? (double)bulk_received / 1048576 / s : 0.0, cipher);
  }
  int clean = uv_loop_close(loop) == 0;
  SSL_SESSION_free(session);
  SSL_CTX_free(ctx);
  free(msgs);
  free(conns);
  if (!clean) {
    fprintf(stderr, "tls-load: handles left open at exit\n");
    return 1;
  }
  return bad ? 1 : 0;
}
