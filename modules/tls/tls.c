/*
 * tls: TLS over net's streams, on the platform's OpenSSL (libssl3), as a
 * stream layer (include/dv8_net.h). A connection is an SSL object with two
 * memory BIOs: bytes net reads go into one, what OpenSSL writes comes out
 * of the other and is sent below. Its state is C memory tied to the
 * stream, so it crosses a reload with the stream, untouched.
 *
 * Policy (DESIGN.md): TLS 1.2 and 1.3 only; in 1.2 ECDHE with AEAD
 * ciphers only; no compression, no renegotiation; clients verify the
 * server's certificate and host name by default against the system's CA
 * store unless given their own CAs.
 *
 * The JS side (tls.js) makes contexts (certificates, keys, CAs) and
 * attaches a connection to a net Socket; net calls back here for every
 * read, write, end, resume and close of that stream.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <uv.h>

#include "dv8.h"
#include "dv8_net.h"

/* Layer events to JS (net/raw onLayer(id, cb(what, value))). */
enum { EVENT_SECURE = DV8_NET_LAYER_READY };

#define CTX_MAGIC 0x544c5343u /* "TLSC": unwrap checks what it got */
/* Sealed records are sent below in batches of about this much. */
#define OUT_BATCH (256 * 1024)
/* Plaintext written before the handshake is done waits, up to this. */
#define PENDING_MAX (4 * 1024 * 1024)

static const char CIPHERS_12[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
static const char GROUPS[] = "X25519:P-256:P-384";

static const dv8_net_layer_api *net;

typedef struct sni_entry {
  char *name; /* lower case; "*.example.com" matches one label */
  SSL_CTX *ctx;
} sni_entry;

typedef struct tls_ctx {
  uint32_t magic;
  SSL_CTX *ctx;
  int server;
  /* A server's other certificates, chosen by the client's SNI. */
  sni_entry *sni;
  size_t n_sni;
  /* ALPN, in wire form (length-prefixed names): the server's choices in
   * its order of preference, or what a client offers. */
  unsigned char *alpn;
  size_t alpn_len;
  /* Held by its JS object and by each connection made from it, which
   * may have moved to another thread: atomic. */
  int refs;
  /* Its sessions and ticket keys change during handshakes and after
   * them (a ticket comes), in any thread a connection made from it is. */
  uv_mutex_t lock;
  /* A client's sessions to resume, one per server (host:port), newest
   * last. */
  struct cached_session {
    char *key;
    SSL_SESSION *session;
  } * sessions;
  size_t n_sessions;
  /* A server's session ticket keys: tickets made with the current one;
   * the previous one still opens tickets (which are then renewed). */
  struct ticket_key {
    unsigned char name[16], aes[32], hmac[32];
    uint64_t made; /* uv_hrtime() */
  } keys[2];
  int n_keys;
  uint64_t key_lifetime_ns;
} tls_ctx;

#define SESSIONS_MAX 64
static int ctx_index = -1; /* SSL_CTX ex_data: its tls_ctx (or NULL) */

typedef struct conn {
  dv8_net_link *link; /* its place on the stream (net's) */
  /* The metrics' cells of the thread the connection is on (made again
   * when it moves): handshakes done, and failed. */
  uint64_t *done_cell, *failed_cell;
  uv_timer_t *timer; /* the handshake's deadline; NULL once done */
  uint64_t timeout_ms;
  uint64_t left_ms; /* moving to a thread: what was left of the deadline */
  SSL *ssl;
  /* OpenSSL's I/O (one BIO of ours, below): what net read is read from
   * net's buffer as it is (in, during layer_on_read), and what OpenSSL did
   * not take of it waits in kept; what it writes gathers in out. */
  const char *in;
  size_t in_len;
  struct bytes {
    char *data;
    size_t len, cap, off; /* off: what was read of it (kept) */
  } kept, out;
  int handshaking;
  int busy;   /* inside a call that may reach JS (which may close us) */
  int closed; /* net closed the stream: free once not busy */
  char *pending;
  size_t pending_len;
  char reason[256];  /* why the connection failed, for JS */
  tls_ctx *t;        /* the context it was made from (a reference) */
  char *session_key; /* a client's: where its sessions are kept */
} conn;

static void ctx_unref(tls_ctx *t);

static const dv8_net_layer_ops layer_ops;

/* ---- errors ---- */

/* The reason OpenSSL gives for the last failure (its error queue, or the
 * certificate verification result), into c->reason. */
static void set_reason(conn *c, const char *what) {
  long verify = SSL_get_verify_result(c->ssl);
  unsigned long e = ERR_peek_last_error();
  char buf[200] = "";
  if (verify != X509_V_OK &&
      ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED)
    snprintf(buf, sizeof(buf), "certificate verification failed: %s",
             X509_verify_cert_error_string(verify));
  else if (e != 0)
    ERR_error_string_n(e, buf, sizeof(buf));
  else
    snprintf(buf, sizeof(buf), "%s", "the peer closed the connection");
  ERR_clear_error();
  snprintf(c->reason, sizeof(c->reason), "%s: %s", what, buf);
}

/* ---- the layer ---- */

/* Sends what OpenSSL wrote, in one write. Returns 0, 1 (net queued some)
 * or an error. */
static int flush_out(conn *c) {
  if (c->out.len == 0)
    return 0;
  int r = net->send(c->link, c->out.data, c->out.len);
  c->out.len = 0; /* sent, or copied into net's queue */
  return r;
}

/* ---- the BIO: OpenSSL reads and writes the conn's buffers ----
 * Not BIO_s_mem: that one takes a copy of every read, and wipes its whole
 * buffer (memset) at each reset; this one reads from net's buffer in
 * place and keeps its output buffer for the next records. */

static BIO_METHOD *bio_method;

static int bytes_append(struct bytes *b, const char *data, size_t len) {
  if (b->off > 0 && b->off == b->len) /* all read: start over */
    b->off = b->len = 0;
  if (b->len + len > b->cap) {
    size_t cap = b->cap ? b->cap : 16384;
    while (cap < b->len + len)
      cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL)
      return 0;
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, len);
  b->len += len;
  return 1;
}

static int bio_read(BIO *bio, char *to, size_t want, size_t *got) {
  conn *c = BIO_get_data(bio);
  size_t n = 0;
  if (c->kept.off < c->kept.len) { /* what came before comes first */
    n = c->kept.len - c->kept.off;
    n = n < want ? n : want;
    memcpy(to, c->kept.data + c->kept.off, n);
    c->kept.off += n;
  } else if (c->in_len > 0) {
    n = c->in_len < want ? c->in_len : want;
    memcpy(to, c->in, n);
    c->in += n;
    c->in_len -= n;
  }
  BIO_clear_retry_flags(bio);
  if (n == 0) {
    BIO_set_retry_read(bio); /* nothing yet: more comes from net */
    return 0;
  }
  *got = n;
  return 1;
}

static int bio_write(BIO *bio, const char *data, size_t len, size_t *done) {
  conn *c = BIO_get_data(bio);
  BIO_clear_retry_flags(bio);
  if (!bytes_append(&c->out, data, len))
    return 0;
  *done = len;
  return 1;
}

static long bio_ctrl(BIO *bio, int cmd, long num, void *ptr) {
  (void)num;
  (void)ptr;
  conn *c = BIO_get_data(bio);
  switch (cmd) {
  case BIO_CTRL_FLUSH: /* records go at flush_out */
    return 1;
  case BIO_CTRL_PENDING:
    return (long)(c->kept.len - c->kept.off + c->in_len);
  case BIO_CTRL_WPENDING:
    return (long)c->out.len;
  default:
    return 0;
  }
}

static int bio_create(BIO *bio) {
  BIO_set_init(bio, 1);
  return 1;
}

/* The module is unloaded (dlclose, at the end): its BIO method with it. */
__attribute__((destructor)) static void free_bio_method(void) {
  BIO_meth_free(bio_method);
  bio_method = NULL;
}

static void init_bio_method(void) {
  bio_method =
      BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "dv8 tls");
  if (bio_method != NULL && (!BIO_meth_set_read_ex(bio_method, bio_read) ||
                             !BIO_meth_set_write_ex(bio_method, bio_write) ||
                             !BIO_meth_set_ctrl(bio_method, bio_ctrl) ||
                             !BIO_meth_set_create(bio_method, bio_create))) {
    BIO_meth_free(bio_method);
    bio_method = NULL;
  }
}

/* What OpenSSL did not take of net's read (JS paused it, or it moved):
 * kept for later, since net reads into that buffer again. */
static void keep_input(conn *c) {
  int lost = c->in_len > 0 && !bytes_append(&c->kept, c->in, c->in_len);
  c->in = NULL;
  c->in_len = 0;
  if (lost) { /* the stream cannot go on with bytes missing */
    snprintf(c->reason, sizeof(c->reason), "%s", "TLS read: out of memory");
    net->deliver(c->link, UV_ENOMEM);
  }
}

static void stop_timer(conn *c) {
  if (c->timer != NULL) {
    uv_close((uv_handle_t *)c->timer, (uv_close_cb)free);
    c->timer = NULL;
  }
}

static void free_conn(conn *c) {
  stop_timer(c);
  /* Closed without a failure: its session stays good for resuming
   * (OpenSSL spoils the sessions of connections freed unshut). */
  if (c->ssl != NULL && !c->handshaking && c->reason[0] == 0)
    SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(c->ssl); /* frees the BIO (none once moved away) */
  free(c->kept.data);
  free(c->out.data);
  free(c->session_key);
  if (c->t != NULL)
    ctx_unref(c->t);
  free(c->pending);
  free(c);
}

/* Around a call that may reach JS, which may close the stream (net then
 * calls layer_close): the conn is freed once the outermost call is done. */
static void enter(conn *c) { c->busy++; }

static void leave(conn *c) {
  if (--c->busy == 0 && c->closed)
    free_conn(c);
}

/* The connection failed: JS hears an error (its reason via reason()). */
static void fail(conn *c, const char *what) {
  set_reason(c, what);
  flush_out(c); /* an alert, if OpenSSL made one */
  net->deliver(c->link, UV_EPROTO);
}

/* Decrypted bytes into JS's buffer, delivered while JS reads. */
static void pump(conn *c) {
  while (!c->closed && net->reading(c->link)) {
    char *buf;
    size_t cap;
    if (net->buffer(c->link, &buf, &cap) != 0)
      return;
    size_t got = 0;
    int err = SSL_ERROR_NONE;
    while (got < cap) {
      size_t want = cap - got > INT32_MAX ? INT32_MAX : cap - got;
      int r = SSL_read(c->ssl, buf + got, (int)want);
      if (r <= 0) {
        /* Asked now: what JS does next (a write) changes the answer. */
        err = SSL_get_error(c->ssl, r);
        break;
      }
      got += (size_t)r;
    }
    /* (What OpenSSL wrote meanwhile, e.g. a key update's answer, leaves
     * with JS's next write or at the end of this read or resume.) */
    if (got > 0)
      net->deliver(c->link, (ssize_t)got);
    if (err == SSL_ERROR_NONE)
      continue; /* the buffer filled: more may wait */
    if (err == SSL_ERROR_WANT_READ || c->closed)
      return;
    if (err == SSL_ERROR_ZERO_RETURN) /* the peer's close_notify */
      net->deliver(c->link, UV_EOF);
    else
      fail(c, "TLS read");
    return;
  }
}

static int layer_write(void *layer, const char *data, size_t len);

/* A cell to count in: the thread's, or one nobody reads (no metrics). */
static __thread uint64_t no_cell;
static void cells(conn *c, dv8_env_t *env) {
  c->done_cell = dv8->metric_counter(env, "dv8_tls_handshakes_total",
                                     "TLS handshakes completed.");
  c->failed_cell =
      dv8->metric_counter(env, "dv8_tls_handshake_failures_total",
                          "TLS handshakes that failed or timed out.");
  if (c->done_cell == NULL)
    c->done_cell = &no_cell;
  if (c->failed_cell == NULL)
    c->failed_cell = &no_cell;
}

static void handshake(conn *c) {
  int r = SSL_do_handshake(c->ssl);
  /* The handshake's last flight (TLS 1.3 tickets) waits for the end of
   * this read (layer_on_read), to leave with what JS answers or with our
   * answer to the peer's next records (its close_notify): one write. */
  if (r != 1 && flush_out(c) < 0)
    return;
  if (r == 1) {
    c->handshaking = 0;
    (*c->done_cell)++;
    stop_timer(c);
    /* What JS wrote during the handshake goes before what it writes once
     * told the connection is secure. */
    if (c->pending_len > 0) {
      char *p = c->pending;
      size_t len = c->pending_len;
      c->pending = NULL;
      c->pending_len = 0;
      int w = layer_write(c, p, len);
      free(p);
      if (w < 0) {
        fail(c, "TLS write");
        return;
      }
    }
    net->event(c->link, EVENT_SECURE, 0);
    if (!c->closed)
      pump(c);
    return;
  }
  int err = SSL_get_error(c->ssl, r);
  if (err != SSL_ERROR_WANT_READ) {
    (*c->failed_cell)++;
    fail(c, "TLS handshake");
  }
}

/* A peer that does not finish its handshake in time (it sent nothing, or
 * half a hello) is dropped: its connection fails with ETIMEDOUT. */
static void on_handshake_timeout(uv_timer_t *t) {
  conn *c = t->data;
  stop_timer(c);
  enter(c);
  (*c->failed_cell)++;
  snprintf(c->reason, sizeof(c->reason),
           "TLS handshake: not done within %llu ms",
           (unsigned long long)c->timeout_ms);
  net->deliver(c->link, UV_ETIMEDOUT);
  leave(c);
}

static void layer_on_read(void *layer, const char *data, ssize_t n) {
  conn *c = layer;
  enter(c);
  if (n > 0) {
    c->in = data;
    c->in_len = (size_t)n;
    if (c->handshaking)
      handshake(c);
    else
      pump(c);
    if (!c->closed)
      keep_input(c);
    if (!c->closed && c->out.len > 0)
      flush_out(c);
  } else if (c->handshaking) {
    snprintf(c->reason, sizeof(c->reason), "%s",
             "TLS handshake: the peer closed the connection");
    net->deliver(c->link, UV_EPROTO);
  } else {
    /* Without its close_notify the end may be a truncation; JS hears the
     * end (or the error) as from a plain socket. */
    net->deliver(c->link, n);
  }
  leave(c);
}

static int layer_write(void *layer, const char *data, size_t len) {
  conn *c = layer;
  if (len == 0)
    return 0;
  if (c->handshaking) {
    if (c->pending_len + len > PENDING_MAX)
      return DV8_EFULL;
    char *p = realloc(c->pending, c->pending_len + len);
    if (p == NULL)
      return UV_ENOMEM;
    memcpy(p + c->pending_len, data, len);
    c->pending = p;
    c->pending_len += len;
    return 0;
  }
  /* SSL_write seals a record at a time (partial writes); the records go
   * below together, OUT_BATCH at a time, not a write(2) each. */
  int rc = 0;
  for (size_t done = 0; done < len;) {
    size_t n = len - done > INT32_MAX ? INT32_MAX : len - done;
    int r = SSL_write(c->ssl, data + done, (int)n);
    if (r <= 0) {
      set_reason(c, "TLS write");
      return UV_EPROTO;
    }
    done += (size_t)r;
    if (done < len && c->out.len < OUT_BATCH)
      continue;
    int sent = flush_out(c);
    if (sent < 0)
      return sent;
    if (sent > rc)
      rc = sent;
  }
  return rc;
}

static void layer_end(void *layer) {
  conn *c = layer;
  if (!c->handshaking && SSL_shutdown(c->ssl) >= 0)
    flush_out(c);
}

static void layer_resume(void *layer) {
  conn *c = layer;
  if (c->handshaking)
    return;
  enter(c);
  pump(c);
  if (!c->closed && c->out.len > 0)
    flush_out(c);
  leave(c);
}

static void layer_close(void *layer) {
  conn *c = layer;
  c->closed = 1;
  if (c->busy == 0)
    free_conn(c);
}

/* Why an upgrade leaves TLS connections with the old process (said on its
 * stderr): the keys are OpenSSL's memory here. kTLS (TCP_ULP "tls") could
 * put them in the kernel and let the descriptor go; the kernel's list of
 * upper layer protocols says whether it could have. */
static char why_stay[200];

static void ktls_probe(void) {
  char ulps[128] = "";
  FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "r");
  if (f != NULL) {
    if (fgets(ulps, sizeof(ulps), f) == NULL)
      ulps[0] = 0;
    fclose(f);
  }
  ulps[strcspn(ulps, "\n")] = 0;
  int ktls = strstr(ulps, "tls") != NULL;
  snprintf(why_stay, sizeof(why_stay),
           "a TLS connection's keys are this process's memory (%s; "
           "tcp_available_ulp: %s)",
           ktls ? "this kernel has kTLS, which dv8 does not use yet"
                : "this kernel has no kTLS to hand them over in",
           ulps[0] ? ulps : "none");
}

static const char *layer_stays(void *layer) {
  (void)layer;
  return why_stay;
}

static int layer_ready(void *layer) { return !((conn *)layer)->handshaking; }

static const char *layer_reason(void *layer) {
  conn *c = layer;
  return c->reason[0] != 0 ? c->reason : NULL;
}

/* Connected: the handshake's deadline runs from now, and a client says
 * hello. */
static void layer_start(void *layer) {
  conn *c = layer;
  if (c->timer != NULL)
    uv_timer_start(c->timer, on_handshake_timeout, c->timeout_ms, 0);
  if (!c->t->server) {
    SSL_do_handshake(c->ssl);
    flush_out(c);
  }
}

/* The stream moves to another thread: the connection goes whole into a
 * new conn (the SSL object, its context's reference, what waits to be
 * written); this one, emptied, is freed once the calls on its stack
 * (a JS handler moving its own socket) have returned. */
static void *layer_detach(void *layer, int *err) {
  conn *c = layer;
  conn *m = malloc(sizeof(*m));
  if (m == NULL) {
    *err = UV_ENOMEM;
    return NULL;
  }
  *m = *c;
  m->link = NULL;
  m->busy = 0;
  m->closed = 0;
  m->timer = NULL;
  m->left_ms = 0;
  if (c->timer != NULL) /* the deadline goes on over there */
    m->left_ms = uv_is_active((uv_handle_t *)c->timer)
                     ? uv_timer_get_due_in(c->timer) + 1
                     : c->timeout_ms;
  SSL_set_app_data(m->ssl, m);
  BIO_set_data(SSL_get_rbio(m->ssl), m);
  /* What OpenSSL has not read of this read goes too (a JS handler moved
   * its socket halfway through it). */
  m->in = NULL;
  m->in_len = 0;
  if (c->in_len > 0 && !bytes_append(&m->kept, c->in, c->in_len)) {
    free(m);
    *err = UV_ENOMEM;
    return NULL;
  }
  stop_timer(c);
  c->in_len = 0;
  c->kept = (struct bytes){0};
  c->out = (struct bytes){0};
  c->ssl = NULL;
  c->t = NULL;
  c->pending = NULL;
  c->pending_len = 0;
  c->session_key = NULL;
  layer_close(c);
  return m;
}

static void *layer_adopt(void *state, dv8_env_t *env, dv8_net_link *link) {
  conn *c = state;
  c->link = link;
  cells(c, env);
  if (c->left_ms > 0 && c->handshaking) {
    c->timer = malloc(sizeof(*c->timer));
    if (c->timer == NULL || uv_timer_init(dv8->loop(env), c->timer) != 0) {
      free(c->timer);
      c->timer = NULL;
      free_conn(c);
      return NULL;
    }
    c->timer->data = c;
    uv_unref((uv_handle_t *)c->timer);
    uv_timer_start(c->timer, on_handshake_timeout, c->left_ms, 0);
  }
  return c;
}

static void layer_drop(void *state) { free_conn(state); }

static const dv8_net_layer_ops layer_ops = {
    .on_read = layer_on_read,
    .write = layer_write,
    .end = layer_end,
    .resume = layer_resume,
    .close = layer_close,
    .stays = layer_stays,
    .ready = layer_ready,
    .reason = layer_reason,
    .start = layer_start,
    .detach = layer_detach,
    .adopt = layer_adopt,
    .drop = layer_drop,
};

/* ---- contexts ---- */

static void ktls_probe(void);

static void init_bio_method(void);

static void init_index(void) {
  ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
  init_bio_method();
  ktls_probe();
}

static void ctx_ref(tls_ctx *t) {
  __atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
}

static void ctx_unref(tls_ctx *t) {
  if (__atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) > 0)
    return;
  uv_mutex_destroy(&t->lock);
  SSL_CTX_set_ex_data(t->ctx, ctx_index, NULL);
  for (size_t i = 0; i < t->n_sessions; i++) {
    free(t->sessions[i].key);
    SSL_SESSION_free(t->sessions[i].session);
  }
  free(t->sessions);
  OPENSSL_cleanse(t->keys, sizeof(t->keys));
  for (size_t i = 0; i < t->n_sni; i++) {
    free(t->sni[i].name);
    SSL_CTX_free(t->sni[i].ctx);
  }
  free(t->sni);
  free(t->alpn);
  SSL_CTX_free(t->ctx);
  free(t);
}

static void free_ctx(void *ptr, void *hint) {
  (void)hint;
  ctx_unref(ptr);
}

/* ---- sessions ---- */

/* A client got a session (TLS 1.3: a ticket, after the handshake): kept
 * for the next connection to the same server, replacing the one before. */
static int keep_session(tls_ctx *t, conn *c, SSL_SESSION *session);

static int on_new_session(SSL *ssl, SSL_SESSION *session) {
  conn *c = SSL_get_app_data(ssl);
  if (c == NULL || c->session_key == NULL || c->t == NULL)
    return 0;
  uv_mutex_lock(&c->t->lock);
  int kept = keep_session(c->t, c, session);
  uv_mutex_unlock(&c->t->lock);
  return kept;
}

static int keep_session(tls_ctx *t, conn *c, SSL_SESSION *session) {
  size_t i = 0;
  while (i < t->n_sessions && strcmp(t->sessions[i].key, c->session_key) != 0)
    i++;
  if (i == t->n_sessions && t->n_sessions == SESSIONS_MAX) { /* the oldest */
    free(t->sessions[0].key);
    SSL_SESSION_free(t->sessions[0].session);
    memmove(t->sessions, t->sessions + 1,
            --t->n_sessions * sizeof(*t->sessions));
    i = t->n_sessions;
  }
  if (i == t->n_sessions) {
    struct cached_session *list =
        realloc(t->sessions, (t->n_sessions + 1) * sizeof(*list));
    char *key = strdup(c->session_key);
    if (list == NULL || key == NULL) {
      free(key);
      if (list != NULL)
        t->sessions = list;
      return 0;
    }
    t->sessions = list;
    list[i].key = key;
    list[i].session = NULL;
    t->n_sessions++;
  }
  SSL_SESSION_free(t->sessions[i].session);
  t->sessions[i].session = session;
  return 1; /* kept: its reference is ours */
}

static int new_ticket_key(struct ticket_key *k) {
  if (RAND_bytes(k->name, sizeof(k->name)) != 1 ||
      RAND_bytes(k->aes, sizeof(k->aes)) != 1 ||
      RAND_bytes(k->hmac, sizeof(k->hmac)) != 1)
    return 0;
  k->made = uv_hrtime();
  return 1;
}

/* Session tickets sealed with keys of our own, so that they rotate: a
 * new key every key_lifetime; tickets of the previous key still resume;
 * older ones do not (a full handshake). */
static int on_ticket_key(SSL *ssl, unsigned char name[16], unsigned char *iv,
                         EVP_CIPHER_CTX *cipher, EVP_MAC_CTX *mac, int enc) {
  tls_ctx *t = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_index);
  if (t == NULL)
    return 0;
  uint64_t now = uv_hrtime();
  struct ticket_key key; /* a copy: the keys may rotate meanwhile */
  int found = 1;
  uv_mutex_lock(&t->lock);
  if (t->n_keys == 0 || now - t->keys[0].made >= t->key_lifetime_ns) {
    struct ticket_key fresh;
    if (!new_ticket_key(&fresh)) {
      uv_mutex_unlock(&t->lock);
      return -1;
    }
    t->keys[1] = t->keys[0];
    t->keys[0] = fresh;
    t->n_keys = t->n_keys == 0 ? 1 : 2;
  }
  if (enc) {
    key = t->keys[0];
  } else {
    found = 0;
    for (int i = 0; i < t->n_keys && !found; i++)
      if (memcmp(name, t->keys[i].name, 16) == 0 &&
          now - t->keys[i].made < 2 * t->key_lifetime_ns) {
        key = t->keys[i];
        found = 1;
      }
  }
  uv_mutex_unlock(&t->lock);
  if (!found)
    return 0; /* unknown or expired: a full handshake */
  struct ticket_key *k = &key;
  if (enc) {
    if (RAND_bytes(iv, 16) != 1)
      return -1;
    memcpy(name, k->name, 16);
  }
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k->hmac,
                                        sizeof(k->hmac)),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_CTX_set_params(mac, params) != 1)
    return -1;
  int ok =
      enc ? EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), NULL, k->aes, iv)
          : EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), NULL, k->aes, iv);
  OPENSSL_cleanse(&key, sizeof(key));
  if (ok != 1)
    return -1;
  /* A ticket opened gets a new one: a TLS 1.3 client uses each ticket
   * once, so without one it could not resume again. */
  return enc ? 1 : 2;
}

/* ---- SNI and ALPN ---- */

static int name_matches(const char *pattern, const char *name) {
  if (strncmp(pattern, "*.", 2) == 0) {
    const char *dot = strchr(name, '.');
    return dot != NULL && dot != name && strcasecmp(dot + 1, pattern + 2) == 0;
  }
  return strcasecmp(pattern, name) == 0;
}

/* The client named a server: its certificate, if the context has one for
 * that name (exact names first, then wildcards); else the default one. */
static int on_servername(SSL *ssl, int *alert, void *arg) {
  (void)alert;
  tls_ctx *t = arg;
  const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == NULL || t->n_sni == 0)
    return SSL_TLSEXT_ERR_OK;
  for (int wild = 0; wild < 2; wild++)
    for (size_t i = 0; i < t->n_sni; i++) {
      const char *p = t->sni[i].name;
      if ((p[0] == '*') != wild || !name_matches(p, name))
        continue;
      SSL_set_SSL_CTX(ssl, t->sni[i].ctx);
      return SSL_TLSEXT_ERR_OK;
    }
  return SSL_TLSEXT_ERR_OK;
}

/* The server's choice: its first protocol the client offers too. A client
 * offering only protocols the server has none of is refused (RFC 7301). */
static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg) {
  (void)ssl;
  tls_ctx *t = arg;
  for (size_t i = 0; i < t->alpn_len; i += 1 + t->alpn[i]) {
    for (unsigned int j = 0; j < inlen; j += 1u + in[j]) {
      if (in[j] == t->alpn[i] && j + 1u + in[j] <= inlen &&
          memcmp(in + j + 1, t->alpn + i + 1, in[j]) == 0) {
        *out = in + j + 1;
        *outlen = in[j];
        return SSL_TLSEXT_ERR_OK;
      }
    }
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static dv8_value_t throw_ssl(dv8_env_t *env, const char *what) {
  char msg[400];
  unsigned long e = ERR_get_error();
  char reason[256] = "unknown OpenSSL error";
  if (e != 0)
    ERR_error_string_n(e, reason, sizeof(reason));
  ERR_clear_error();
  snprintf(msg, sizeof(msg), "%s: %s", what, reason);
  return dv8->throw_error(env, UV_EINVAL, msg);
}

/* Argument i: a PEM string or bytes, as a memory BIO; NULL when absent
 * (undefined/null) with *absent set. */
static BIO *arg_pem(dv8_env_t *env, dv8_call_t *call, int i, int *absent,
                    char **owned) {
  dv8_value_t v = dv8->arg(call, i);
  dv8_type_t t = dv8->type_of(env, v);
  *absent = t == DV8_TYPE_UNDEFINED || t == DV8_TYPE_NULL;
  *owned = NULL;
  if (*absent)
    return NULL;
  void *data;
  size_t len;
  if (t == DV8_TYPE_STRING) {
    if (dv8->arg_string(env, call, i, owned, &len))
      return NULL;
    data = *owned;
  } else if (dv8->arg_buffer(env, call, i, &data, &len)) {
    return NULL;
  }
  if (len > INT32_MAX) {
    dv8->throw_type_error(env, "PEM data too large");
    return NULL;
  }
  BIO *bio = BIO_new_mem_buf(data, (int)len);
  if (bio == NULL) /* the caller returns at once: something must be thrown */
    dv8->throw_error(env, UV_ENOMEM, "tls context: PEM");
  return bio;
}

static int use_chain(SSL_CTX *ctx, BIO *bio) {
  X509 *cert = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);
  if (cert == NULL || SSL_CTX_use_certificate(ctx, cert) != 1) {
    X509_free(cert);
    return 0;
  }
  X509_free(cert);
  SSL_CTX_clear_chain_certs(ctx);
  X509 *extra;
  while ((extra = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
    if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
      X509_free(extra);
      return 0;
    }
  ERR_clear_error(); /* the end of the PEM data */
  return 1;
}

static int use_cas(SSL_CTX *ctx, BIO *bio) {
  X509_STORE *store = SSL_CTX_get_cert_store(ctx);
  X509 *cert;
  int n = 0;
  while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
    int ok = X509_STORE_add_cert(store, cert);
    X509_free(cert);
    if (!ok)
      return 0;
    n++;
  }
  ERR_clear_error();
  return n > 0;
}

/* context(server, cert, key, ca, verify, ticketKeyLifetime) -> a context
 * object. cert, key and ca: PEM (string or bytes) or null; ca null means
 * the system's store. verify: check the peer's certificate (clients: the
 * server's; servers: ask clients for one). ticketKeyLifetime: seconds a
 * server's session ticket key seals tickets (12 h by default; its tickets
 * resume for twice that). Throws an Error naming what OpenSSL refused. */
static dv8_value_t js_context(dv8_env_t *env, dv8_call_t *call) {
  int server = dv8->to_bool(env, dv8->arg(call, 0));
  int verify = dv8->to_bool(env, dv8->arg(call, 4));
  int64_t lifetime_s = 12 * 3600;
  if (dv8->argc(call) > 5 &&
      dv8->type_of(env, dv8->arg(call, 5)) != DV8_TYPE_UNDEFINED &&
      dv8->arg_integer(env, call, 5, 1, 7 * 24 * 3600, &lifetime_s))
    return NULL;
  SSL_CTX *ctx =
      SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (ctx == NULL)
    return throw_ssl(env, "tls context");
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  /* A server sends the chain it was given (cert: leaf first, then its
   * intermediates), not one OpenSSL builds per handshake from a store. */
  if (server)
    SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
  if (SSL_CTX_set_cipher_list(ctx, CIPHERS_12) != 1 ||
      SSL_CTX_set1_groups_list(ctx, GROUPS) != 1) {
    SSL_CTX_free(ctx);
    return throw_ssl(env, "tls context: ciphers");
  }
  const char *failed = NULL;
  int absent;
  char *owned;
  BIO *bio = arg_pem(env, call, 1, &absent, &owned);
  if (bio == NULL && !absent)
    failed = "";
  else if (bio != NULL && !use_chain(ctx, bio))
    failed = "tls context: cert";
  BIO_free(bio);
  free(owned);
  if (failed == NULL) {
    bio = arg_pem(env, call, 2, &absent, &owned);
    if (bio == NULL && !absent) {
      failed = "";
    } else if (bio != NULL) {
      EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
      if (key == NULL || SSL_CTX_use_PrivateKey(ctx, key) != 1)
        failed = "tls context: key";
      else if (SSL_CTX_check_private_key(ctx) != 1)
        failed = "tls context: the key does not match the certificate";
      EVP_PKEY_free(key);
    }
    BIO_free(bio);
    free(owned);
  }
  if (failed == NULL) {
    bio = arg_pem(env, call, 3, &absent, &owned);
    if (bio == NULL && !absent)
      failed = "";
    else if (bio != NULL && !use_cas(ctx, bio))
      failed = "tls context: ca";
    /* A server needs CAs only to check clients: loaded otherwise, every
     * handshake would search the system's store to build its own chain
     * (a directory read per connection: 10 % fewer handshakes). */
    else if (absent && (!server || verify) &&
             SSL_CTX_set_default_verify_paths(ctx) != 1)
      failed = "tls context: the system's CA store";
    BIO_free(bio);
    free(owned);
  }
  if (failed != NULL) {
    SSL_CTX_free(ctx);
    return *failed ? throw_ssl(env, failed) : NULL;
  }
  if (verify)
    SSL_CTX_set_verify(ctx,
                       server
                           ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                           : SSL_VERIFY_PEER,
                       NULL);
  tls_ctx *t = calloc(1, sizeof(*t));
  if (t == NULL) {
    SSL_CTX_free(ctx);
    return dv8->throw_error(env, UV_ENOMEM, "tls context");
  }
  if (uv_mutex_init(&t->lock) != 0) {
    free(t);
    SSL_CTX_free(ctx);
    return dv8->throw_error(env, UV_ENOMEM, "tls context");
  }
  t->magic = CTX_MAGIC;
  t->ctx = ctx;
  t->server = server;
  t->refs = 1;
  t->key_lifetime_ns = (uint64_t)lifetime_s * 1000000000u;
  SSL_CTX_set_ex_data(ctx, ctx_index, t);
  if (server) {
    /* Needed to resume sessions of verified clients (requestCert). */
    static const unsigned char sid_ctx[] = "dv8";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
    SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
    SSL_CTX_set_tlsext_servername_arg(ctx, t);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket_key);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
                                            SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, on_new_session);
  }
  return dv8->wrap(env, t, free_ctx, NULL);
}

static tls_ctx *arg_ctx(dv8_env_t *env, dv8_call_t *call, int i) {
  tls_ctx *t = dv8->unwrap(env, dv8->arg(call, i));
  if (t == NULL || t->magic != CTX_MAGIC) {
    dv8->throw_type_error(env, "argument %d must be a tls context", i + 1);
    return NULL;
  }
  return t;
}

/* addServerName(context, name, other): a server context answers a client
 * that names `name` (SNI; "*.example.com" for any one label) with other's
 * certificate and key. */
static dv8_value_t js_add_server_name(dv8_env_t *env, dv8_call_t *call) {
  tls_ctx *t = arg_ctx(env, call, 0);
  if (t == NULL)
    return NULL;
  tls_ctx *other = arg_ctx(env, call, 2);
  if (other == NULL)
    return NULL;
  if (!t->server || !other->server)
    return dv8->throw_type_error(env, "addServerName: server contexts only");
  char *name;
  if (dv8->arg_string(env, call, 1, &name, NULL))
    return NULL;
  sni_entry *list = realloc(t->sni, (t->n_sni + 1) * sizeof(*list));
  if (list == NULL) {
    free(name);
    return dv8->throw_error(env, UV_ENOMEM, "addServerName");
  }
  t->sni = list;
  SSL_CTX_up_ref(other->ctx);
  list[t->n_sni].name = name;
  list[t->n_sni].ctx = other->ctx;
  t->n_sni++;
  /* ALPN is chosen after SNI switched contexts, by the chosen one's
   * callback: it gets the default's protocols unless it has its own. */
  if (other->alpn == NULL && t->alpn != NULL) {
    other->alpn = malloc(t->alpn_len);
    if (other->alpn == NULL)
      return dv8->throw_error(env, UV_ENOMEM, "addServerName");
    memcpy(other->alpn, t->alpn, t->alpn_len);
    other->alpn_len = t->alpn_len;
    SSL_CTX_set_alpn_select_cb(other->ctx, on_alpn, other);
  }
  return dv8->number(env, 0);
}

/* setAlpn(context, wireBytes): a server's protocols in its order of
 * preference, or those a client offers (each a length byte and a name). */
static dv8_value_t js_set_alpn(dv8_env_t *env, dv8_call_t *call) {
  tls_ctx *t = arg_ctx(env, call, 0);
  if (t == NULL)
    return NULL;
  void *data;
  size_t len;
  if (dv8->arg_buffer(env, call, 1, &data, &len))
    return NULL;
  for (size_t i = 0; i < len; i += 1 + ((unsigned char *)data)[i])
    if (((unsigned char *)data)[i] == 0 ||
        i + 1 + ((unsigned char *)data)[i] > len)
      return dv8->throw_type_error(env, "setAlpn: a malformed protocol list");
  unsigned char *copy = malloc(len > 0 ? len : 1);
  if (copy == NULL)
    return dv8->throw_error(env, UV_ENOMEM, "setAlpn");
  memcpy(copy, data, len);
  free(t->alpn);
  t->alpn = copy;
  t->alpn_len = len;
  if (t->server)
    SSL_CTX_set_alpn_select_cb(t->ctx, on_alpn, t);
  else if (SSL_CTX_set_alpn_protos(t->ctx, copy, (unsigned int)len) != 0)
    return throw_ssl(env, "setAlpn");
  return dv8->number(env, 0);
}

static int find_net(dv8_env_t *env) {
  if (net == NULL)
    net = dv8->service_get(DV8_NET_LAYER_SERVICE, DV8_NET_LAYER_VERSION);
  if (net == NULL)
    dv8->throw_error(env, UV_ENOSYS, "tls: the net module is not loaded");
  return net != NULL;
}

/* attach(streamId, context, servername, timeoutMs) -> 0 or a code: the
 * stream speaks TLS from now on, as a server or a client per the context;
 * a client sends its hello at once and checks the server's name
 * (servername, also sent as SNI, unless null). A handshake not done within
 * timeoutMs (0: no limit) fails with ETIMEDOUT. */
/* A TLS connection on h, from context t: 0, or a code (UV_EINVAL: OpenSSL
 * refused the name, its reason queued). name: the server a client checks
 * (also its SNI), or NULL. */
static int attach_conn(dv8_env_t *env, dv8_handle_t *h, tls_ctx *t,
                       const char *name, int64_t timeout,
                       const char *session_key) {
  conn *c = calloc(1, sizeof(*c));
  if (c != NULL)
    cells(c, env);
  SSL *ssl = c != NULL ? SSL_new(t->ctx) : NULL;
  BIO *bio = bio_method != NULL ? BIO_new(bio_method) : NULL;
  char *key = session_key != NULL ? strdup(session_key) : NULL;
  if (ssl == NULL || bio == NULL || (session_key != NULL && key == NULL)) {
    SSL_free(ssl);
    BIO_free(bio);
    free(c);
    free(key);
    return UV_ENOMEM;
  }
  BIO_set_data(bio, c);
  SSL_set_bio(ssl, bio, bio); /* one reference, both ways */
  SSL_set_app_data(ssl, c);
  ctx_ref(t);
  c->t = t;
  c->session_key = key;
  c->ssl = ssl;
  c->handshaking = 1;
  if (t->server) {
    SSL_set_accept_state(ssl);
  } else {
    SSL_set_connect_state(ssl);
    unsigned char ip[16];
    int is_ip = name != NULL && (inet_pton(AF_INET, name, ip) == 1 ||
                                 inet_pton(AF_INET6, name, ip) == 1);
    int ok = 1;
    if (is_ip) /* no SNI for an address; its SAN is checked */
      ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1;
    else if (name != NULL)
      ok = SSL_set_tlsext_host_name(ssl, name) == 1 &&
           SSL_set1_host(ssl, name) == 1;
    if (!ok) {
      free_conn(c);
      return UV_EINVAL;
    }
    uv_mutex_lock(&t->lock);
    for (size_t i = 0; key != NULL && i < t->n_sessions; i++)
      if (strcmp(t->sessions[i].key, key) == 0) {
        SSL_set_session(ssl, t->sessions[i].session);
        break;
      }
    uv_mutex_unlock(&t->lock);
  }
  if (timeout > 0) {
    c->timer = malloc(sizeof(*c->timer));
    if (c->timer == NULL || uv_timer_init(dv8->loop(env), c->timer) != 0) {
      free(c->timer);
      c->timer = NULL;
      free_conn(c);
      return UV_ENOMEM;
    }
    c->timer->data = c;
    c->timeout_ms = (uint64_t)timeout;
    uv_unref((uv_handle_t *)c->timer); /* the socket keeps the loop alive */
  }
  int err = net->attach(h, &layer_ops, c, &c->link); /* then layer_start */
  if (err != 0)
    free_conn(c);
  return err;
}

static dv8_value_t js_attach(dv8_env_t *env, dv8_call_t *call) {
  if (!find_net(env))
    return NULL;
  dv8_handle_t *h;
  int err = net->arg_stream(env, call, 0, &h);
  if (err)
    return err == DV8_ETYPE ? NULL : dv8->number(env, err);
  tls_ctx *t = arg_ctx(env, call, 1);
  if (t == NULL)
    return NULL;
  int64_t timeout = 0;
  if (dv8->argc(call) > 3 &&
      dv8->arg_integer(env, call, 3, 0, INT32_MAX, &timeout))
    return NULL;
  char *name = NULL;
  dv8_type_t nt = dv8->type_of(env, dv8->arg(call, 2));
  if (nt != DV8_TYPE_UNDEFINED && nt != DV8_TYPE_NULL &&
      dv8->arg_string(env, call, 2, &name, NULL))
    return NULL;
  char *session_key = NULL;
  dv8_type_t kt = dv8->type_of(env, dv8->arg(call, 4));
  if (kt != DV8_TYPE_UNDEFINED && kt != DV8_TYPE_NULL &&
      dv8->arg_string(env, call, 4, &session_key, NULL)) {
    free(name);
    return NULL;
  }
  err = attach_conn(env, h, t, name, timeout, session_key);
  free(name);
  free(session_key);
  if (err == UV_EINVAL)
    return throw_ssl(env, "tls: servername");
  return dv8->number(env, err);
}

/* ---- servers: a layer for every connection accepted ---- */

typedef struct acceptor {
  tls_ctx *t; /* a reference */
  int64_t timeout;
} acceptor;

static int acceptor_accepted(void *data, dv8_handle_t *conn_h) {
  acceptor *a = data;
  return attach_conn(dv8->handle_env(conn_h), conn_h, a->t, NULL, a->timeout,
                     NULL);
}

static void acceptor_release(void *data) {
  acceptor *a = data;
  ctx_unref(a->t);
  free(a);
}

static const dv8_net_acceptor_ops acceptor_ops = {acceptor_accepted,
                                                  acceptor_release};

/* serve(serverId, context, timeoutMs) -> 0 or a code: every connection
 * the server accepts from now on speaks TLS with context (replacing the
 * one before: a reload's new certificates), whatever code drives the
 * server. */
static dv8_value_t js_serve(dv8_env_t *env, dv8_call_t *call) {
  if (!find_net(env))
    return NULL;
  dv8_handle_t *h;
  int err = net->arg_server(env, call, 0, &h);
  if (err)
    return err == DV8_ETYPE ? NULL : dv8->number(env, err);
  tls_ctx *t = arg_ctx(env, call, 1);
  if (t == NULL)
    return NULL;
  if (!t->server)
    return dv8->throw_type_error(env, "serve: a server context is needed");
  int64_t timeout;
  if (dv8->arg_integer(env, call, 2, 0, INT32_MAX, &timeout))
    return NULL;
  acceptor *a = malloc(sizeof(*a));
  if (a == NULL)
    return dv8->number(env, UV_ENOMEM);
  ctx_ref(t);
  a->t = t;
  a->timeout = timeout;
  if ((err = net->set_acceptor(h, DV8_NET_TRANSPORT, &acceptor_ops, a)) != 0)
    acceptor_release(a);
  return dv8->number(env, err);
}

static conn *arg_conn(dv8_env_t *env, dv8_call_t *call) {
  dv8_handle_t *h;
  if (!find_net(env) || net->arg_stream(env, call, 0, &h) != 0)
    return NULL;
  return net->layer(h, &layer_ops);
}

/* reason(streamId) -> why its TLS failed, or undefined. */
static dv8_value_t js_reason(dv8_env_t *env, dv8_call_t *call) {
  conn *c = arg_conn(env, call);
  if (c == NULL || c->reason[0] == 0)
    return NULL;
  return dv8->string(env, c->reason, SIZE_MAX);
}

/* info(streamId) -> { protocol, cipher, servername } once secure, or
 * undefined. */
static dv8_value_t js_info(dv8_env_t *env, dv8_call_t *call) {
  conn *c = arg_conn(env, call);
  if (c == NULL || c->handshaking)
    return NULL;
  dv8_value_t out = dv8->object(env);
  dv8->set_string(env, out, "protocol", SSL_get_version(c->ssl));
  dv8->set_string(env, out, "cipher",
                  SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)));
  const char *sni = SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
  if (sni != NULL)
    dv8->set_string(env, out, "servername", sni);
  const unsigned char *alpn;
  unsigned int alpn_len;
  SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
  if (alpn_len > 0)
    dv8->set(env, out, "alpn", dv8->string(env, (const char *)alpn, alpn_len));
  dv8->set(env, out, "resumed", dv8->boolean(env, SSL_session_reused(c->ssl)));
  return out;
}

static int tls_init(dv8_env_t *env, dv8_value_t exports) {
  static uv_once_t once = UV_ONCE_INIT;
  uv_once(&once, init_index);
  if (ctx_index < 0)
    return UV_ENOMEM;
  static const struct {
    const char *name;
    dv8_function_cb fn;
  } functions[] = {
      {"context", js_context},
      {"attach", js_attach},
      {"reason", js_reason},
      {"info", js_info},
      {"addServerName", js_add_server_name},
      {"setAlpn", js_set_alpn},
      {"serve", js_serve},
  };
  for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
    int err = dv8->set_function(env, exports, functions[i].name,
                                functions[i].fn, NULL);
    if (err)
      return err;
  }
  return dv8->set_number(env, exports, "SECURE", EVENT_SECURE);
}

DV8_MODULE(tls, tls_init);
DV8_MODULE_JS("modules/tls/tls.js");
