/*
 * tls-floor: a TLS echo server in plain C on libuv and OpenSSL, the floor
 * that dv8's examples/tls-echo.js and node's tls are measured against.
 *   build/tests/bench/tls-floor [--http] PORT CERT.pem KEY.pem
 * Listens on 127.0.0.1:PORT, prints "listening 127.0.0.1:PORT" (PORT 0
 * shows the port it got) and runs until killed, echoing every client's
 * plaintext back. TLS 1.2 and 1.3 only, the same policy as dv8's servers
 * (ECDHE with AEAD ciphers, groups X25519, P-256, P-384, server order, no
 * compression or renegotiation); TLS 1.3 session tickets with OpenSSL's own
 * ticket keys and its default of two tickets, so clients can resume.
 * tests/bench/tls-peers drives it with tests/bench/tls-load. With --http it
 * answers each request head with hello-world instead of echoing
 * (http-floor.h): the C floor of tests/bench/http-peers over TLS.
 *
 * What a careful C programmer would write, no more: OpenSSL works on memory
 * BIOs; each read lands in one 64 KiB buffer and goes into the read BIO;
 * SSL_read takes all the plaintext there is (doing the handshake first),
 * SSL_write seals it again, and what OpenSSL wrote leaves with one write per
 * batch: uv_try_write straight from a scratch buffer, a copy queued only of
 * what the kernel did not take. A client that does not read its echo stops
 * the reading at QUEUE_LIMIT queued bytes, so memory stays bounded. The
 * client's close_notify or end is answered with our close_notify and a
 * shutdown, then the connection closes.
 */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "http-floor.h"

#define QUEUE_LIMIT (1024 * 1024)

struct conn {
  uv_tcp_t tcp;
  uv_shutdown_t shutdown;
  SSL *ssl;
  BIO *rbio;  /* ciphertext from the client, for OpenSSL */
  BIO *wbio;  /* what OpenSSL wrote, for the client */
  int paused; /* reading stopped because the write queue is full */
  int ended;  /* shutting down: no more reads */
  struct http_floor hf;
};

struct queued_write {
  uv_write_t req;
  char data[];
};

static SSL_CTX *ctx;
static int http_mode;

/* Every callback runs to its end before the next read: one buffer of each
 * kind serves all connections. */
static char read_buf[65536];
static char plain_buf[65536];
static char out_buf[65536 + 4096];

static void on_close(uv_handle_t *handle) {
  struct conn *c = handle->data;
  SSL_free(c->ssl); /* and both BIOs */
  free(c);
}

static void close_conn(struct conn *c) {
  if (!uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  (void)handle;
  (void)suggested;
  *buf = uv_buf_init(read_buf, sizeof read_buf);
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

/* Queues head (the part of out_buf the kernel did not take) and whatever is
 * still in the write BIO as one write, in one allocation. */
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
  uv_buf_t b = uv_buf_init(w->data, (unsigned)(head_len + rest));
  int err = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
  if (err < 0) {
    free(w);
    return err;
  }
  return 0;
}

/* Sends what OpenSSL wrote: all of it or an error. */
static int flush(struct conn *c) {
  uv_stream_t *stream = (uv_stream_t *)&c->tcp;
  size_t pending;
  while ((pending = BIO_ctrl_pending(c->wbio)) > 0) {
    /* Behind queued bytes nothing may jump the line. */
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

static void on_shutdown(uv_shutdown_t *req, int status) {
  (void)status;
  close_conn(req->handle->data);
}

/* No more reads: what is queued goes out, then a FIN, then the close. */
static void end_conn(struct conn *c) {
  c->ended = 1;
  uv_read_stop((uv_stream_t *)&c->tcp);
  if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
    close_conn(c);
}

/* Plaintext in, the same plaintext sealed again out; the handshake happens
 * inside the first SSL_read calls. */
static void echo(struct conn *c) {
  for (;;) {
    size_t got = 0, n;
    int err = SSL_ERROR_NONE;
    while (got < sizeof plain_buf) {
      if (SSL_read_ex(c->ssl, plain_buf + got, sizeof plain_buf - got, &n)) {
        got += n;
        continue;
      }
      err = SSL_get_error(c->ssl, 0);
      break;
    }
    size_t written;
    if (got > 0 && http_mode) {
      size_t heads = http_floor_count(&c->hf, plain_buf, got);
      while (heads > 0) {
        got = http_floor_fill(&heads, plain_buf, sizeof plain_buf);
        if (!SSL_write_ex(c->ssl, plain_buf, got, &written)) {
          close_conn(c);
          return;
        }
      }
    } else if (got > 0 && !SSL_write_ex(c->ssl, plain_buf, got, &written)) {
      close_conn(c);
      return;
    }
    if (err == SSL_ERROR_NONE)
      continue; /* the buffer filled: more may wait */
    if (err == SSL_ERROR_WANT_READ)
      break;
    if (err == SSL_ERROR_ZERO_RETURN) { /* the client's close_notify */
      SSL_shutdown(c->ssl);
      if (flush(c) < 0)
        close_conn(c);
      else
        end_conn(c);
      return;
    }
    /* A failed handshake leaves an alert to send; the close follows it. */
    ERR_clear_error();
    if (flush(c) < 0)
      close_conn(c);
    else
      end_conn(c);
    return;
  }
  if (flush(c) < 0) {
    close_conn(c);
    return;
  }
  if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > QUEUE_LIMIT) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->paused = 1;
  }
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  struct conn *c = stream->data;
  if (c->ended)
    return;
  if (nread > 0) {
    /* A memory BIO grows as needed: the write takes it all. */
    if (BIO_write(c->rbio, buf->base, (int)nread) != (int)nread) {
      close_conn(c);
      return;
    }
    echo(c);
  } else if (nread == UV_EOF) {
    end_conn(c);
  } else if (nread < 0) {
    close_conn(c);
  }
}

static void on_connection(uv_stream_t *server, int status) {
  if (status < 0) {
    fprintf(stderr, "tls-floor: accept: %s\n", uv_strerror(status));
    return;
  }
  struct conn *c = calloc(1, sizeof *c);
  if (c == NULL)
    return;
  c->ssl = SSL_new(ctx);
  c->rbio = BIO_new(BIO_s_mem());
  c->wbio = BIO_new(BIO_s_mem());
  if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
    BIO_free(c->rbio);
    BIO_free(c->wbio);
    SSL_free(c->ssl);
    free(c);
    return;
  }
  SSL_set_bio(c->ssl, c->rbio, c->wbio);
  SSL_set_accept_state(c->ssl);
  uv_tcp_init(server->loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
    close_conn(c);
    return;
  }
  /* Each flight and each echo is one write, wanted at once: a small one
   * behind unacknowledged bytes must not wait for a delayed ACK. */
  uv_tcp_nodelay(&c->tcp, 1);
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
    close_conn(c);
}

static SSL_CTX *make_ctx(const char *cert, const char *key) {
  SSL_CTX *x = SSL_CTX_new(TLS_server_method());
  if (x == NULL)
    return NULL;
  SSL_CTX_set_min_proto_version(x, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(x, TLS1_3_VERSION);
  SSL_CTX_set_options(x, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                             SSL_OP_CIPHER_SERVER_PREFERENCE);
  /* The chain is what the file holds: nothing is looked up per handshake. */
  SSL_CTX_set_mode(x, SSL_MODE_NO_AUTO_CHAIN);
  if (SSL_CTX_set_cipher_list(x, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1 ||
      SSL_CTX_set1_groups_list(x, "X25519:P-256:P-384") != 1 ||
      SSL_CTX_use_certificate_chain_file(x, cert) != 1 ||
      SSL_CTX_use_PrivateKey_file(x, key, SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(x) != 1) {
    SSL_CTX_free(x);
    return NULL;
  }
  return x;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--http") == 0) {
    http_mode = 1;
    argv++;
    argc--;
  }
  if (argc != 4) {
    fprintf(stderr, "usage: tls-floor [--http] PORT CERT.pem KEY.pem\n");
    return 2;
  }
  char *end;
  long port = strtol(argv[1], &end, 10);
  if (*argv[1] == '\0' || *end != '\0' || port < 0 || port > 65535) {
    fprintf(stderr, "tls-floor: bad port '%s'\n", argv[1]);
    return 2;
  }
  ctx = make_ctx(argv[2], argv[3]);
  if (ctx == NULL) {
    fprintf(stderr, "tls-floor: certificate or key: ");
    ERR_print_errors_fp(stderr);
    return 1;
  }
  /* A client that goes away mid-echo must cost one connection (EPIPE), not
   * the server. */
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t *loop = uv_default_loop();
  uv_tcp_t server;
  uv_tcp_init(loop, &server);
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", (int)port, &addr);
  int err = uv_tcp_bind(&server, (struct sockaddr *)&addr, 0);
  if (err == 0)
    err = uv_listen((uv_stream_t *)&server, 1024, on_connection);
  if (err < 0) {
    fprintf(stderr, "tls-floor: listen on 127.0.0.1:%ld: %s\n", port,
            uv_strerror(err));
    return 1;
  }
  struct sockaddr_in bound;
  int len = sizeof bound;
  uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &len);
  printf("listening 127.0.0.1:%d\n", ntohs(bound.sin_port));
  fflush(stdout);
  return uv_run(loop, UV_RUN_DEFAULT);
}
