/*
 * http.c — the http module's C side: an HTTP/1.1 server layer over a net
 * stream (include/dv8_net.h), under http.js. The layer reads requests with
 * the message reader (parser/reader.c) and puts them, as records, into
 * the read buffer of its JS, which answers with send(); it keeps what
 * came of each request until its answer is complete, so a reload's new
 * code is given the requests the old code had not answered. It keeps
 * the connection's timeouts (a head that does not come, a body that
 * stalls, an idle keep-alive connection) and stops reading while too many
 * answers are owed. State is C memory beside the stream: a reload does
 * not touch it.
 *
 * Records, each aligned to 4 bytes in the buffer (http.js reads them):
 *   head:  u8 1, u8 flags, u16 headers, u32 size, u8 method, u8 minor,
 *          u16 target length, the target, then per header u16 name
 *          length, u16 value length, name, value
 *   body:  u8 2, u8 padding, u16 0, u32 size, bytes
 *   end:   u8 3, u8 0, u16 0, u32 size (8)
 *   error: u8 4, u8 padding, u16 status, u32 size, the reason's bytes
 *   response head (a client's): u8 5, see put_rhead
 * (sizes are the whole record's; numbers little-endian, as the host's).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "dv8.h"
#include "dv8_net.h"
#include "parser/reader.h"

static const dv8_net_layer_api *net;

enum { REC_HEAD = 1, REC_BODY = 2, REC_END = 3, REC_ERROR = 4, REC_RHEAD = 5 };
#define REC_HDR 8
/* A head's flags. */
enum { HF_KEEP_ALIVE = 1, HF_CONTINUE = 2, HF_BODY = 4, HF_UPGRADE = 8 };
/* send()'s flags. */
enum { SEND_END = 1, SEND_CLOSE = 2 };

/* The smallest read buffer JS may give (a head record always fits). */
#define JS_BUFFER_MIN 65536
#define HEAD_LIMIT_MAX (32 * 1024)
/* How long a connection that was told it closes may take to end its side
 * (its last bytes read and dropped, so the answer is not reset). */
#define LINGER_MS 2000

/* What a server's connections share: their limits. */
typedef struct config {
  int refs;
  size_t head_limit;
  uint64_t max_body;
  uint64_t header_ms, body_ms, idle_ms;
  unsigned max_pipeline;
  uint64_t server_id;
  struct config *next;         /* the thread's servers (thread_conns) */
  struct thread_conns *listed; /* the list it is on, or NULL */
} config;

enum { T_NONE, T_IDLE, T_HEAD, T_BODY, T_LINGER };

/* A request JS was told of (or an error it is to answer), until its
 * answer is complete: where its records end in kept. */
typedef struct req {
  size_t end;
  unsigned answered; /* answered before its body was all read: the rest
                        of its body is read and dropped */
} req;

typedef struct hc {
  dv8_net_link *link;
  config *cfg;
  dv8_env_t *env;         /* whose JS was given its requests */
  struct hc *prev, *next; /* the thread's connections */
  hr_reader r;
  /* Input not yet read (JS was busy, or answers were owed). */
  char *in;
  size_t in_len, in_off, in_cap;
  /* The records of the requests JS has not answered, in order (for a
   * reload's new code, which is given them again), and the requests. */
  char *kept;
  size_t kept_len, kept_cap;
  size_t given; /* how much of kept the current code has been given */
  req *reqs;
  unsigned n_reqs, reqs_cap;
  unsigned mid;          /* the last request's body is under way */
  unsigned started;      /* the first request's answer has begun */
  unsigned stopped;      /* an error was given: input is dropped */
  unsigned closing;      /* the last answer is out: input is dropped */
  unsigned stalled;      /* too many answers owed: reading waits */
  unsigned consuming;    /* consume() is on the stack */
  unsigned eof_due;      /* the peer ended: told once input is read */
  unsigned continue_due; /* a 100 Continue, once its request is first */
  unsigned body_moved;   /* body bytes came since the clock was set */
  unsigned activity;     /* a request came since the clock was set */
  unsigned busy;         /* calls of ours on the stack */
  unsigned closed;
  unsigned client;  /* reads answers (fetch's connection), not requests */
  unsigned held;    /* a reload waits for the answer under way: no new
                       request goes to JS meanwhile */
  unsigned upgrade; /* an Upgrade request was read: what follows it is
                       another protocol's, kept in rest for release() */
  char *rest;
  size_t rest_len;
  int tmode;
  uint64_t since; /* when the deadline's clock started (loop time) */
  uv_timer_t timer;
  char reason[160];
} hc;

/* The connections of a thread (for a reload's new code to find a
 * server's). */
typedef struct thread_conns {
  hc *first;
  struct config *servers; /* each server's latest configuration (adopt) */
  uint64_t *requests;     /* the metrics' cell, made at the first request */
} thread_conns;

static const char conns_key = 0;

static thread_conns *conns_of(dv8_env_t *env) {
  return dv8->runtime_data(env, &conns_key, sizeof(thread_conns), NULL);
}

static dv8_handle_t *handle_of(hc *c) { return net->handle(c->link); }

/* One more request read by a server of this thread (the metrics). */
static void count_request(dv8_env_t *env) {
  thread_conns *t = env != NULL ? conns_of(env) : NULL;
  if (t == NULL)
    return;
  if (t->requests == NULL)
    t->requests = dv8->metric_counter(env, "dv8_http_requests_total",
                                      "HTTP requests servers read (heads).");
  if (t->requests != NULL)
    (*t->requests)++;
}

static void config_unlist(config *cfg) {
  if (cfg->listed == NULL)
    return;
  for (config **p = &cfg->listed->servers; *p != NULL; p = &(*p)->next)
    if (*p == cfg) {
      *p = cfg->next;
      break;
    }
  cfg->listed = NULL;
}

static void config_unref(config *cfg) {
  if (--cfg->refs == 0) {
    config_unlist(cfg);
    free(cfg);
  }
}

/* ---- memory ---- */

static int reserve(char **buf, size_t *cap, size_t need) {
  if (need <= *cap)
    return 0;
  size_t n = *cap > 0 ? *cap : 1024;
  while (n < need)
    n *= 2;
  char *p = realloc(*buf, n);
  if (p == NULL)
    return UV_ENOMEM;
  *buf = p;
  *cap = n;
  return 0;
}

static void on_timer_closed(uv_handle_t *t) {
  hc *c = t->data;
  hr_free(&c->r);
  free(c->in);
  free(c->kept);
  free(c->reqs);
  config_unref(c->cfg);
  free(c);
}

static void free_hc(hc *c) {
  free(c->rest);
  uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

static void enter(hc *c) { c->busy++; }

static void leave(hc *c) {
  if (--c->busy == 0 && c->closed)
    free_hc(c);
}

/* Requests owed an answer: those not answered (an early answer's
 * request stays listed until its body is read). */
static unsigned owed(const hc *c) {
  return c->n_reqs - (c->n_reqs > 0 && c->reqs[0].answered);
}

/* ---- timeouts ---- */

static void on_timeout(uv_timer_t *t);

/* The deadline that applies now: a fresh or idle connection's, a head's
 * (from its first byte), a body's (since its last bytes), a closing
 * connection's; none while JS owes answers and nothing is under way. */
/* How long mode's deadline is. */
static uint64_t mode_ms(const hc *c, int mode) {
  switch (mode) {
  case T_IDLE:
    return c->cfg->idle_ms;
  case T_HEAD:
    return c->cfg->header_ms;
  case T_BODY:
    return c->cfg->body_ms;
  case T_LINGER:
    return LINGER_MS;
  default:
    return 0;
  }
}

static void rearm(hc *c) {
  if (c->closed || c->client) /* a client's deadlines are its JS's */
    return;
  int mode;
  if (c->closing)
    mode = T_LINGER;
  else if (c->stopped || c->stalled || c->eof_due || c->in_len > c->in_off)
    mode = T_NONE; /* the wait is ours */
  else if (c->mid)
    mode = T_BODY;
  else if (c->r.len > 0)
    mode = T_HEAD;
  else
    mode = owed(c) > 0 ? T_NONE : T_IDLE;
  /* The timer is set when the mode changes; within a mode, activity
   * (a request came, body bytes came) only moves the clock (since), and
   * the timer, when it fires, sets itself again for what is left: no
   * timer call per request. */
  uint64_t now = uv_now(c->timer.loop);
  if (mode == c->tmode) {
    if ((mode == T_IDLE && c->activity) || (mode == T_BODY && c->body_moved))
      c->since = now;
    c->activity = c->body_moved = 0;
    return;
  }
  c->tmode = mode;
  c->since = now;
  c->activity = c->body_moved = 0;
  uint64_t ms = mode_ms(c, mode);
  if (ms == 0)
    uv_timer_stop(&c->timer);
  else
    uv_timer_start(&c->timer, on_timeout, ms, 0);
}

/* ---- records into JS's buffer ---- */

static void put_u16(char *p, unsigned v) { memcpy(p, &(uint16_t){v}, 2); }
static void put_u32(char *p, size_t v) { memcpy(p, &(uint32_t){v}, 4); }
static size_t align4(size_t n) { return (n + 3) & ~(size_t)3; }

/* The bytes a head's fields take in a record. */
static size_t fields_size(const hr_head *h) {
  size_t n = 0;
  for (unsigned i = 0; i < h->n_headers; i++)
    n += 4 + h->headers[i].name_len + h->headers[i].value_len;
  return n;
}

/* The fields at q (each u16 name length, u16 value length, name, value),
 * then zeros up to the record's end. */
static void put_fields(char *q, const hr_head *h, const char *end) {
  for (unsigned i = 0; i < h->n_headers; i++) {
    const hr_header *x = &h->headers[i];
    put_u16(q, (unsigned)x->name_len);
    put_u16(q + 2, (unsigned)x->value_len);
    memcpy(q + 4, x->name, x->name_len);
    memcpy(q + 4 + x->name_len, x->value, x->value_len);
    q += 4 + x->name_len + x->value_len;
  }
  memset(q, 0, (size_t)(end - q));
}

static size_t head_size(const hr_head *h) {
  return align4(REC_HDR + 4 + h->target_len + fields_size(h));
}

static size_t put_head(char *p, const hr_head *h) {
  size_t size = head_size(h);
  unsigned flags = (h->keep_alive ? HF_KEEP_ALIVE : 0) |
                   (h->content_length > 0 || h->chunked ? HF_BODY : 0) |
                   (h->upgrade ? HF_UPGRADE : 0);
  for (unsigned i = 0; i < h->n_headers; i++) {
    const hr_header *x = &h->headers[i];
    if (x->name_len == 6 && strncasecmp(x->name, "expect", 6) == 0 &&
        x->value_len == 12 && strncasecmp(x->value, "100-continue", 12) == 0)
      flags |= HF_CONTINUE;
  }
  p[0] = REC_HEAD;
  p[1] = (char)flags;
  put_u16(p + 2, h->n_headers);
  put_u32(p + 4, size);
  p[8] = (char)h->method;
  p[9] = (char)h->version_minor;
  put_u16(p + 10, (unsigned)h->target_len);
  memcpy(p + 12, h->target, h->target_len);
  put_fields(p + 12 + h->target_len, h, p + size);
  return size;
}

static size_t put_simple(char *p, int type, unsigned arg, const char *data,
                         size_t len) {
  size_t size = align4(REC_HDR + len);
  p[0] = (char)type;
  p[1] = (char)(size - REC_HDR - len); /* padding: the bytes' length */
  put_u16(p + 2, arg);
  put_u32(p + 4, size);
  if (len > 0)
    memcpy(p + REC_HDR, data, len);
  memset(p + REC_HDR + len, 0, size - REC_HDR - len);
  return size;
}

/* A request (or an error to answer) begins: listed. */
static int push_req(hc *c) {
  if (c->n_reqs == c->reqs_cap) {
    unsigned n = c->reqs_cap > 0 ? c->reqs_cap * 2 : 8;
    req *p = realloc(c->reqs, n * sizeof(*p));
    if (p == NULL)
      return UV_ENOMEM;
    c->reqs = p;
    c->reqs_cap = n;
  }
  c->reqs[c->n_reqs++] = (req){c->kept_len, 0};
  return 0;
}

/* A record of the last request goes to kept too (unless that request
 * was answered already). */
static int keep(hc *c, const char *rec, size_t len) {
  req *last = &c->reqs[c->n_reqs - 1];
  if (last->answered)
    return 0;
  if (reserve(&c->kept, &c->kept_cap, c->kept_len + len))
    return UV_ENOMEM;
  int synced = c->given == c->kept_len;
  memcpy(c->kept + c->kept_len, rec, len);
  c->kept_len += len;
  last->end = c->kept_len;
  if (synced)
    c->given = c->kept_len;
  return 0;
}

/* The records of the first request go (answered, or its body read after
 * an early answer). */
static void drop_first(hc *c) {
  size_t end = c->reqs[0].end;
  memmove(c->kept, c->kept + end, c->kept_len - end);
  c->kept_len -= end;
  c->given = c->given > end ? c->given - end : 0;
  memmove(c->reqs, c->reqs + 1, (c->n_reqs - 1) * sizeof(*c->reqs));
  c->n_reqs--;
  for (unsigned i = 0; i < c->n_reqs; i++)
    c->reqs[i].end -= end;
}

/* The last request's records go back to where they began (it is cut
 * short: its answer will be an error's). */
static void cut_last(hc *c) {
  size_t begin = c->n_reqs > 1 ? c->reqs[c->n_reqs - 2].end : 0;
  if (c->reqs[c->n_reqs - 1].answered) /* nothing kept: a new entry */
    push_req(c);
  c->kept_len = begin;
  if (c->given > begin)
    c->given = begin;
  c->reqs[c->n_reqs - 1] = (req){begin, 0};
}

static void send_continue(hc *c) {
  static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
  c->continue_due = 0;
  net->send(c->link, line, sizeof(line) - 1);
}

/* The connection cannot go on (out of memory): JS hears an error. */
static void fail(hc *c, int code, const char *why) {
  snprintf(c->reason, sizeof(c->reason), "%s", why);
  c->stopped = 1;
  net->deliver(c->link, code);
}

/* An error record (the status JS answers with), for the request under
 * way if there is one, else as one of its own. */
static size_t put_error(hc *c, char *p, unsigned status, const char *why) {
  if (c->mid)
    cut_last(c);
  else if (push_req(c))
    return 0;
  c->mid = 0;
  c->stopped = 1;
  size_t rec = put_simple(p, REC_ERROR, status, why, strlen(why));
  return keep(c, p, rec) ? 0 : rec;
}

/* ---- a client's answers ---- */

/* A response head: u8 5, u8 flags, u16 headers, u32 size, u16 status,
 * u8 minor, u8 0, u16 reason length, u16 0, the reason, then the fields
 * as a request head's. */
static size_t put_rhead(char *p, const hr_head *h) {
  size_t size = align4(REC_HDR + 8 + h->reason_len + fields_size(h));
  p[0] = REC_RHEAD;
  p[1] = (char)((h->keep_alive ? HF_KEEP_ALIVE : 0) |
                (h->content_length > 0 || h->chunked ? HF_BODY : 0) |
                (h->upgrade ? HF_UPGRADE : 0));
  put_u16(p + 2, h->n_headers);
  put_u32(p + 4, size);
  put_u16(p + 8, (unsigned)h->status);
  p[10] = (char)h->version_minor;
  p[11] = 0;
  put_u16(p + 12, (unsigned)h->reason_len);
  put_u16(p + 14, 0);
  memcpy(p + 16, h->reason, h->reason_len);
  put_fields(p + 16 + h->reason_len, h, p + size);
  return size;
}

/* A client's record for event ev (not a body's). */
static size_t client_record(hc *c, int ev, const hr_out *out, char *p) {
  if (ev == HR_HEAD)
    return put_rhead(p, out->head);
  if (ev == HR_END) {
    if (c->r.head.upgrade) /* the bytes after a 101 are not HTTP */
      c->stopped = 1;
    return put_simple(p, REC_END, 0, NULL, 0);
  }
  c->stopped = 1; /* HR_ERROR: a malformed answer ends the connection */
  return put_simple(p, REC_ERROR, (unsigned)out->status, out->error,
                    strlen(out->error));
}

/* ---- reading ---- */

/* Gives JS what the reader makes of p[0..len), while JS takes it;
 * returns how much of p was read. */
static size_t consume(hc *c, const char *p, size_t len) {
  size_t off = 0;
  const char *body = NULL; /* a body slice that did not fit its buffer */
  size_t body_len = 0;
  c->consuming = 1;
  while (!c->closed && !c->stopped && !c->closing && net->reading(c->link)) {
    if ((owed(c) >= c->cfg->max_pipeline || c->held) && !c->mid &&
        body_len == 0) {
      /* Answers first: reading waits (send() or settle resumes it). */
      c->stalled = 1;
      net->stall(c->link, 1);
      break;
    }
    char *buf;
    size_t cap;
    if (net->buffer(c->link, &buf, &cap) != 0)
      break;
    if (cap < JS_BUFFER_MIN) {
      fail(c, UV_EINVAL, "http: the read buffer is too small");
      break;
    }
    size_t w = 0;
    int more = 1;
    while (more && cap - w >= REC_HDR + 64) {
      size_t rec = 0;
      if (body_len > 0) { /* a body slice, as much as fits */
        size_t room = (cap - w - REC_HDR) & ~(size_t)3;
        size_t n = body_len < room ? body_len : room;
        rec = put_simple(buf + w, REC_BODY, 0, body, n);
        body += n;
        body_len -= n;
        if (!c->client && keep(c, buf + w, rec))
          goto oom;
        w += rec;
        continue;
      }
      if (cap - w < c->cfg->head_limit + 4 * HR_MAX_HEADERS + 64)
        break; /* a head might not fit: deliver first */
      size_t used;
      hr_out out;
      int ev = hr_read(&c->r, p + off, len - off, &used, &out);
      off += used;
      if (c->client && ev != HR_MORE && ev != HR_BODY) {
        w += client_record(c, ev, &out, buf + w);
        more = ev != HR_ERROR;
        continue;
      }
      switch (ev) {
      case HR_MORE:
        more = 0;
        break;
      case HR_HEAD:
        count_request(dv8->handle_env(handle_of(c)));
        if (push_req(c))
          goto oom;
        rec = put_head(buf + w, out.head);
        if (keep(c, buf + w, rec))
          goto oom;
        c->mid = 1;
        c->body_moved = 1;
        c->activity = 1;
        if ((buf[w + 1] & HF_CONTINUE) && (buf[w + 1] & HF_BODY)) {
          if (owed(c) == 1)
            send_continue(c);
          else
            c->continue_due = 1;
        }
        break;
      case HR_BODY:
        body = out.body;
        body_len = out.body_len;
        c->body_moved = 1;
        break;
      case HR_END:
        rec = put_simple(buf + w, REC_END, 0, NULL, 0);
        if (keep(c, buf + w, rec))
          goto oom;
        c->mid = 0;
        if (c->reqs[c->n_reqs - 1].answered) /* answered early: done */
          drop_first(c);
        /* An upgrade's bytes are not HTTP: nothing more is read. They
         * are kept (and the stream stalled) for the protocol the answer
         * may switch to (release); any other answer closes. */
        if (c->r.head.upgrade && !c->client) {
          c->stopped = c->upgrade = 1, more = 0;
          c->stalled = 1;
          net->stall(c->link, 1);
          if (off < len) { /* before JS hears of the request */
            if ((c->rest = malloc(len - off)) == NULL)
              goto oom;
            memcpy(c->rest, p + off, len - off);
            c->rest_len = len - off;
            off = len;
          }
        }
        break;
      default: /* HR_ERROR: nothing more is read */
        if ((rec = put_error(c, buf + w, (unsigned)out.status, out.error)) == 0)
          goto oom;
        more = 0;
        break;
      }
      w += rec;
    }
    if (w > 0) {
      c->env = dv8->handle_env(handle_of(c));
      net->deliver(c->link, (ssize_t)w); /* JS runs now (DELIVER_NOW) */
    }
    if (!more && body_len == 0)
      break;
  }
  c->consuming = 0;
  return off;
oom:
  c->consuming = 0;
  fail(c, UV_ENOMEM, "http: out of memory");
  return off;
}

/* The peer's end (UV_EOF) or a failure, to JS; for a client, after the
 * end of an answer read to the end of the stream. */
static void deliver_end(hc *c, ssize_t n) {
  uv_timer_stop(&c->timer);
  c->tmode = T_NONE;
  char *buf;
  size_t cap;
  hr_out out;
  int ev = c->client && n == UV_EOF && !c->stopped ? hr_finish(&c->r, &out)
                                                   : HR_MORE;
  /* (A message cut short is JS's to name: the end comes, nothing else.) */
  if (ev == HR_END && net->buffer(c->link, &buf, &cap) == 0 &&
      cap >= JS_BUFFER_MIN) {
    net->deliver(c->link, (ssize_t)client_record(c, ev, &out, buf));
    if (c->closed)
      return;
  }
  net->deliver(c->link, n);
}

/* Input waiting in c->in, read while JS takes it; then the peer's end,
 * if it came. */
static void pump(hc *c) {
  if (c->consuming || c->closed)
    return;
  if (c->in_len > c->in_off) {
    size_t used = consume(c, c->in + c->in_off, c->in_len - c->in_off);
    c->in_off += used;
    if (c->in_off == c->in_len || c->stopped || c->closing)
      c->in_off = c->in_len = 0;
  }
  if (c->eof_due && c->in_len == 0 && !c->closed) {
    c->eof_due = 0;
    deliver_end(c, UV_EOF);
    return;
  }
  rearm(c);
}

/* What the current code has not been given of kept (a reload's new
 * code: all of it), while it takes it; 1 once it has it all. */
static int replay(hc *c) {
  while (c->given < c->kept_len && !c->closed && net->reading(c->link)) {
    char *buf;
    size_t cap;
    if (net->buffer(c->link, &buf, &cap) != 0)
      return 0;
    size_t w = 0;
    while (c->given < c->kept_len) {
      uint32_t size;
      memcpy(&size, c->kept + c->given + 4, 4);
      if (w + size > cap)
        break;
      memcpy(buf + w, c->kept + c->given, size);
      w += size;
      c->given += size;
    }
    c->env = dv8->handle_env(handle_of(c));
    net->deliver(c->link, (ssize_t)w);
  }
  return c->given == c->kept_len;
}

/* JS reads again; or new code took the connection (a reload): the
 * requests the old code had not answered are its, from the start, unless
 * the old code had begun an answer, which nobody can finish now: the
 * connection fails. */
static void layer_resume(void *layer) {
  hc *c = layer;
  if (c->consuming)
    return; /* the loop on the stack goes on */
  enter(c);
  dv8_env_t *env = dv8->handle_env(handle_of(c));
  if (c->env != NULL && env != c->env) {
    c->env = env;
    c->given = 0;
    if (c->started) {
      snprintf(c->reason, sizeof(c->reason), "%s",
               "http: a reload replaced the code that had begun this "
               "connection's answer");
      c->stopped = 1;
      net->deliver(c->link, UV_ECONNABORTED);
    }
  }
  if (!c->closed && !c->stopped && replay(c))
    pump(c);
  leave(c);
}

static void layer_on_read(void *layer, const char *data, ssize_t n) {
  hc *c = layer;
  enter(c);
  if (n < 0) {
    /* The peer ended: what it sent is answered first (JS answers what it
     * owes, then closes); a request cut short ends here. */
    if (n == UV_EOF && c->in_len > c->in_off && !c->stopped && !c->closing) {
      c->eof_due = 1;
      pump(c);
    } else {
      deliver_end(c, n);
    }
  } else if (c->closing || c->stopped) {
    /* Dropped: the connection closes once the peer ends (or lingers too
     * long); its answer must not be reset by unread bytes. */
  } else if (c->in_len > c->in_off) {
    if (reserve(&c->in, &c->in_cap, c->in_len + (size_t)n) == 0) {
      memcpy(c->in + c->in_len, data, (size_t)n);
      c->in_len += (size_t)n;
      pump(c);
    } else {
      fail(c, UV_ENOMEM, "http: out of memory");
    }
  } else {
    size_t used = consume(c, data, (size_t)n);
    if (used < (size_t)n && !c->closed && !c->stopped && !c->closing) {
      if (reserve(&c->in, &c->in_cap, (size_t)n - used) == 0) {
        memcpy(c->in, data + used, (size_t)n - used);
        c->in_off = 0;
        c->in_len = (size_t)n - used;
      } else {
        fail(c, UV_ENOMEM, "http: out of memory");
      }
    }
    rearm(c);
  }
  leave(c);
}

static void on_timeout(uv_timer_t *t) {
  hc *c = t->data;
  int mode = c->tmode;
  uint64_t now = uv_now(t->loop);
  uint64_t due = c->since + mode_ms(c, mode);
  if (now < due) { /* activity moved the clock: not yet */
    uv_timer_start(t, on_timeout, due - now, 0);
    return;
  }
  c->tmode = T_NONE;
  enter(c);
  char *buf;
  size_t cap;
  if ((mode == T_HEAD || mode == T_BODY) &&
      net->buffer(c->link, &buf, &cap) == 0 && cap >= JS_BUFFER_MIN) {
    /* JS answers 408 after what it owes, and closes. */
    const char *why = mode == T_HEAD ? "the request head did not arrive in time"
                                     : "the request body stalled";
    size_t rec = put_error(c, buf, 408, why);
    if (rec > 0)
      net->deliver(c->link, (ssize_t)rec);
    else
      fail(c, UV_ENOMEM, "http: out of memory");
  } else {
    /* Idle, or a closing peer that did not end: closed without a word. */
    net->deliver(c->link, UV_ETIMEDOUT);
  }
  leave(c);
}

static int layer_write(void *layer, const char *data, size_t len) {
  hc *c = layer; /* JS's own bytes (net's write): passed as they are */
  return net->send(c->link, data, len);
}

static void layer_end(void *layer) { (void)layer; }

static void layer_close(void *layer) {
  hc *c = layer;
  c->closed = 1;
  uv_timer_stop(&c->timer);
  thread_conns *t = conns_of(dv8->handle_env(handle_of(c)));
  if (c->prev != NULL)
    c->prev->next = c->next;
  else if (t != NULL && t->first == c)
    t->first = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  c->prev = c->next = NULL;
  if (c->busy == 0)
    free_hc(c);
}

/* A reload waits for an answer JS has begun (its code alone can finish
 * it); a client's requests are its JS's business. */
static int layer_unfinished(void *layer) {
  hc *c = layer;
  return c->started && !c->closed && !c->client;
}

/* While a reload waits, the next requests wait too (read no further);
 * after it, reading goes on. */
static void layer_settle(void *layer, int on) {
  hc *c = layer;
  if (c->client || c->closed)
    return;
  c->held = (unsigned)on;
  if (on)
    return;
  enter(c);
  if (c->stalled && owed(c) < c->cfg->max_pipeline && !c->closing &&
      !c->consuming) {
    c->stalled = 0;
    net->stall(c->link, 0);
  }
  pump(c);
  leave(c);
}

/* A client's connection is its code's: a reload's new code has its own
 * pool. */
static int layer_orphan(void *layer) { return ((hc *)layer)->client; }

/* Idle: no request under way or owed, nothing unread. An upgrade sends
 * such a connection to the new process plain (its code puts a new HTTP
 * layer on it: adopt); one with a request under way stays here, where the
 * old code answers it. */
static int layer_shed(void *layer) {
  hc *c = layer;
  return !c->client && !c->closed && c->n_reqs == 0 && !c->mid &&
         c->in_len == c->in_off && c->r.len == 0 && !c->closing &&
         !c->stopped && !c->started;
}

static const char *layer_stays(void *layer) {
  (void)layer;
  return "an HTTP connection with a request under way is answered by the "
         "code that read it";
}

static const char *layer_reason(void *layer) {
  hc *c = layer;
  return c->reason[0] != 0 ? c->reason : NULL;
}

static void layer_start(void *layer) { rearm(layer); }

static const dv8_net_layer_ops layer_ops = {
    .on_read = layer_on_read,
    .write = layer_write,
    .end = layer_end,
    .resume = layer_resume,
    .close = layer_close,
    .stays = layer_stays,
    .reason = layer_reason,
    .start = layer_start,
    .flags = DV8_NET_DELIVER_NOW,
    .unfinished = layer_unfinished,
    .settle = layer_settle,
    .orphan = layer_orphan,
    .shed = layer_shed,
};

/* ---- servers ---- */

/* An HTTP server's layer on connection h, with cfg's limits. */
static int attach_server_conn(config *cfg, dv8_handle_t *h) {
  dv8_env_t *env = dv8->handle_env(h);
  thread_conns *t = conns_of(env);
  hc *c = calloc(1, sizeof(*c));
  if (c == NULL || t == NULL) {
    free(c);
    return UV_ENOMEM;
  }
  hr_init(&c->r, HTTP_REQUEST, cfg->head_limit, cfg->max_body);
  uv_timer_init(dv8->loop(env), &c->timer);
  uv_unref((uv_handle_t *)&c->timer); /* the socket keeps the loop alive */
  c->timer.data = c;
  c->cfg = cfg;
  cfg->refs++;
  int err = net->attach(h, &layer_ops, c, &c->link);
  if (err) {
    free_hc(c);
    return err;
  }
  c->next = t->first;
  if (c->next != NULL)
    c->next->prev = c;
  t->first = c;
  return 0;
}

static int acceptor_accepted(void *data, dv8_handle_t *h) {
  return attach_server_conn(data, h);
}

/* The server stops serving with this configuration (closed, or another
 * replaces it): it is no longer the one adopt finds. */
static void acceptor_release(void *data) {
  config_unlist(data);
  config_unref(data);
}

static const dv8_net_acceptor_ops acceptor_ops = {acceptor_accepted,
                                                  acceptor_release};

static int find_net(dv8_env_t *env) {
  if (net == NULL)
    net = dv8->service_get(DV8_NET_LAYER_SERVICE, DV8_NET_LAYER_VERSION);
  if (net == NULL)
    dv8->throw_error(env, UV_ENOSYS, "http: the net module is not loaded");
  return net != NULL;
}

/* serve(serverId, headLimit, maxBody, headerMs, bodyMs, idleMs,
 * maxPipeline) -> 0 or a code: every connection the server accepts from
 * now on is read as HTTP with these limits, whatever code drives it. */
static dv8_value_t js_serve(dv8_env_t *env, dv8_call_t *call) {
  if (!find_net(env))
    return NULL;
  dv8_handle_t *h;
  int err = net->arg_server(env, call, 0, &h);
  if (err)
    return err == DV8_ETYPE ? NULL : dv8->number(env, err);
  int64_t head, body, hms, bms, ims, pipe;
  if (dv8->arg_integer(env, call, 1, 256, HEAD_LIMIT_MAX, &head) ||
      dv8->arg_integer(env, call, 2, 0, INT64_MAX, &body) ||
      dv8->arg_integer(env, call, 3, 0, INT32_MAX, &hms) ||
      dv8->arg_integer(env, call, 4, 0, INT32_MAX, &bms) ||
      dv8->arg_integer(env, call, 5, 0, INT32_MAX, &ims) ||
      dv8->arg_integer(env, call, 6, 1, 65536, &pipe))
    return NULL;
  config *cfg = calloc(1, sizeof(*cfg));
  if (cfg == NULL)
    return dv8->number(env, UV_ENOMEM);
  cfg->refs = 1;
  cfg->head_limit = (size_t)head;
  cfg->max_body = (uint64_t)body;
  cfg->header_ms = (uint64_t)hms;
  cfg->body_ms = (uint64_t)bms;
  cfg->idle_ms = (uint64_t)ims;
  cfg->max_pipeline = (unsigned)pipe;
  cfg->server_id = dv8->handle_id(h);
  thread_conns *t = conns_of(env);
  if (t == NULL) {
    free(cfg);
    return dv8->number(env, UV_ENOMEM);
  }
  if ((err = net->set_acceptor(h, DV8_NET_PROTOCOL, &acceptor_ops, cfg)) != 0) {
    config_unref(cfg);
    return dv8->number(env, err);
  }
  cfg->next = t->servers;
  cfg->listed = t;
  t->servers = cfg;
  return dv8->number(env, 0);
}

static hc *arg_conn(dv8_env_t *env, dv8_call_t *call, int *err) {
  dv8_handle_t *h;
  *err = find_net(env) ? net->arg_stream(env, call, 0, &h) : DV8_ETYPE;
  if (*err)
    return NULL;
  hc *c = net->layer(h, &layer_ops);
  if (c == NULL)
    *err = UV_EINVAL;
  return c;
}

/* send(id, bytes, offset, length, flags) -> 0 (written), 1 (queued: wait for
 * drain before much more) or a code. flags: 1, the answer to the first
 * owed request is complete; 2, it is the last (input is dropped until
 * the peer ends, and JS ends the connection). */
/* The connection an answer goes on: 0, or what to return (a code, or
 * NULL with an exception pending). */
static int answer_conn(dv8_env_t *env, dv8_call_t *call, hc **out,
                       dv8_value_t *ret) {
  int err;
  hc *c = arg_conn(env, call, &err);
  *ret = NULL;
  if (c == NULL) {
    if (err != DV8_ETYPE && !dv8->exception_pending(env))
      *ret = dv8->number(env, err);
    return 1;
  }
  /* Code a reload is loading answers once it has taken over (the
   * requests are given to it again then). */
  if (env != dv8->handle_env(handle_of(c)) || owed(c) == 0) {
    *ret = dv8->number(env, owed(c) == 0 ? UV_EINVAL : UV_EBUSY);
    return 1;
  }
  *out = c;
  return 0;
}

/* Bytes of the first owed answer go; with SEND_END it is complete. */
static int answer(hc *c, const char *data, size_t n, int64_t flags) {
  enter(c);
  c->started = 1;
  int rc = n > 0 ? net->send(c->link, data, n) : 0;
  if ((flags & SEND_END) && !c->closed) {
    c->started = 0;
    if (c->n_reqs == 1 && c->mid) {
      /* Answered before its body was read: that is read and dropped. */
      c->kept_len = c->given = 0;
      c->reqs[0] = (req){0, 1};
    } else {
      drop_first(c);
    }
    if (flags & SEND_CLOSE) {
      c->closing = 1;
      c->in_len = c->in_off = 0;
      if (c->upgrade) { /* not switched: read (and drop) to the peer's end */
        c->upgrade = c->stalled = 0;
        net->stall(c->link, 0);
      }
    }
    if (c->continue_due && owed(c) == 1 && c->mid && !c->closing)
      send_continue(c);
    if (c->stalled && !c->held && !c->closing && !c->consuming) {
      c->stalled = 0;
      net->stall(c->link, 0);
    }
    pump(c);
  }
  leave(c);
  return rc;
}

static dv8_value_t js_send(dv8_env_t *env, dv8_call_t *call) {
  hc *c;
  dv8_value_t ret;
  void *data;
  size_t len;
  int64_t at, n, flags;
  if (dv8->arg_buffer(env, call, 1, &data, &len) ||
      dv8->arg_integer(env, call, 2, 0, (int64_t)len, &at) ||
      dv8->arg_integer(env, call, 3, 0, (int64_t)len - at, &n) ||
      dv8->arg_integer(env, call, 4, 0, 3, &flags))
    return NULL;
  if (answer_conn(env, call, &c, &ret))
    return ret;
  return dv8->number(env, answer(c, (char *)data + at, (size_t)n, flags));
}

/* "content-length: N" and the head's empty line, at p; returns its
 * length (at most LENGTH_LINE_MAX). */
#define LENGTH_LINE_MAX 48
static size_t length_line(char *p, size_t n) {
  static const char name[] = "content-length: ";
  char digits[24];
  size_t d = sizeof(digits);
  do
    digits[--d] = (char)('0' + n % 10);
  while ((n /= 10) > 0);
  memcpy(p, name, sizeof(name) - 1);
  size_t at = sizeof(name) - 1;
  memcpy(p + at, digits + d, sizeof(digits) - d);
  at += sizeof(digits) - d;
  memcpy(p + at, "\r\n\r\n", 4);
  return at + 4;
}

/* sendText(id, head, body, flags, headOnly) -> as send: a whole answer
 * whose body is a string. head is the head without its length and its
 * empty line: C adds content-length (the body's UTF-8 bytes) and the
 * body (not for a HEAD request's answer), in one write. */
static dv8_value_t js_send_text(dv8_env_t *env, dv8_call_t *call) {
  hc *c;
  dv8_value_t ret;
  int64_t flags;
  if (dv8->arg_integer(env, call, 3, 0, 3, &flags))
    return NULL;
  dv8_value_t hv = dv8->arg(call, 1), bv = dv8->arg(call, 2);
  int head_only = dv8->to_bool(env, dv8->arg(call, 4));
  /* A small answer is put together on the stack, with no allocation:
   * the head, room for its length line, the body; the body then moves
   * up to the line's end. */
  char small[8192];
  if (dv8->type_of(env, hv) == DV8_TYPE_STRING &&
      dv8->type_of(env, bv) == DV8_TYPE_STRING) {
    size_t hl = dv8->to_utf8(env, hv, small, sizeof(small));
    size_t room = hl + LENGTH_LINE_MAX < sizeof(small)
                      ? sizeof(small) - hl - LENGTH_LINE_MAX
                      : 0;
    size_t bl = room > 0
                    ? dv8->to_utf8(env, bv, small + hl + LENGTH_LINE_MAX, room)
                    : SIZE_MAX;
    if (bl < room) {
      if (answer_conn(env, call, &c, &ret))
        return ret;
      size_t ll = length_line(small + hl, bl);
      if (!head_only)
        memmove(small + hl + ll, small + hl + LENGTH_LINE_MAX, bl);
      return dv8->number(
          env, answer(c, small, hl + ll + (head_only ? 0 : bl), flags));
    }
  }
  char *head = NULL, *body = NULL;
  size_t hl, bl;
  if (dv8->arg_string(env, call, 1, &head, &hl))
    return NULL;
  if (dv8->arg_string(env, call, 2, &body, &bl)) {
    free(head);
    return NULL;
  }
  if (answer_conn(env, call, &c, &ret)) {
    free(head);
    free(body);
    return ret;
  }
  char line[LENGTH_LINE_MAX];
  size_t ll = length_line(line, bl);
  size_t total = hl + ll + (head_only ? 0 : bl);
  char *out = realloc(head, total);
  int rc = UV_ENOMEM;
  if (out != NULL) {
    memcpy(out + hl, line, ll);
    if (!head_only)
      memcpy(out + hl + ll, body, bl);
    rc = answer(c, out, total, flags);
    head = out;
  }
  free(head);
  free(body);
  return dv8->number(env, rc);
}

/* release(id) -> ArrayBuffer | code: after the answer to an Upgrade
 * request (101) went, what the client sent after that request (often
 * nothing), for the protocol that takes the stream over (it replaces this
 * layer, whose reading stays stalled until then). */
static dv8_value_t js_release(dv8_env_t *env, dv8_call_t *call) {
  int err;
  hc *c = arg_conn(env, call, &err);
  if (c == NULL)
    return err == DV8_ETYPE ? NULL : dv8->number(env, err);
  if (!c->upgrade || owed(c) != 0 || c->closing)
    return dv8->number(env, UV_EINVAL);
  uv_timer_stop(&c->timer);
  c->tmode = T_NONE;
  void *data;
  dv8_value_t buf = dv8->arraybuffer(env, c->rest_len, &data);
  if (buf != NULL && c->rest_len > 0)
    memcpy(data, c->rest, c->rest_len);
  return buf;
}

/* client(id, headLimit, maxBody) -> 0 or a code: the stream (connected or
 * connecting; over TLS if it has that layer) reads answers as HTTP from
 * now on, into the same records as a server's requests (a response head
 * is record 5). What JS writes (net's write) goes as it is: the
 * requests. */
static dv8_value_t js_client(dv8_env_t *env, dv8_call_t *call) {
  if (!find_net(env))
    return NULL;
  dv8_handle_t *h;
  int err = net->arg_stream(env, call, 0, &h);
  if (err)
    return err == DV8_ETYPE ? NULL : dv8->number(env, err);
  int64_t head, body;
  if (dv8->arg_integer(env, call, 1, 256, HEAD_LIMIT_MAX, &head) ||
      dv8->arg_integer(env, call, 2, 0, INT64_MAX, &body))
    return NULL;
  config *cfg = calloc(1, sizeof(*cfg));
  hc *c = calloc(1, sizeof(*c));
  if (cfg == NULL || c == NULL) {
    free(cfg);
    free(c);
    return dv8->number(env, UV_ENOMEM);
  }
  cfg->refs = 1;
  cfg->head_limit = (size_t)head;
  cfg->max_body = (uint64_t)body;
  cfg->max_pipeline = 1;
  hr_init(&c->r, HTTP_RESPONSE, cfg->head_limit, cfg->max_body);
  uv_timer_init(dv8->loop(env), &c->timer);
  c->timer.data = c;
  c->cfg = cfg;
  c->client = 1;
  if ((err = net->attach(h, &layer_ops, c, &c->link)) != 0)
    free_hc(c);
  return dv8->number(env, err);
}

/* skipBody(id) -> 0 or a code: the next answer on a client's stream has
 * no body, whatever its head says (the request was a HEAD). */
static dv8_value_t js_skip_body(dv8_env_t *env, dv8_call_t *call) {
  int err;
  hc *c = arg_conn(env, call, &err);
  if (c == NULL)
    return err == DV8_ETYPE || dv8->exception_pending(env)
               ? NULL
               : dv8->number(env, err);
  if (!c->client)
    return dv8->number(env, UV_EINVAL);
  hr_skip_body(&c->r);
  return dv8->number(env, 0);
}

/* adopt(id, serverId) -> 0 or a code: a connection that came from the
 * process before an upgrade (plain: it was idle there) is read as the
 * server's again, with its configuration (serve first). UV_EBUSY if it has
 * two layers already, UV_ENOENT if the server serves no HTTP here. */
static dv8_value_t js_adopt(dv8_env_t *env, dv8_call_t *call) {
  if (!find_net(env))
    return NULL;
  dv8_handle_t *h;
  double server_id;
  int err = net->arg_stream(env, call, 0, &h);
  if (err)
    return err == DV8_ETYPE ? NULL : dv8->number(env, err);
  if (dv8->arg_number(env, call, 1, &server_id))
    return NULL;
  if (net->layer(h, &layer_ops) != NULL)
    return dv8->number(env, UV_EBUSY);
  thread_conns *t = conns_of(env);
  config *cfg = t != NULL ? t->servers : NULL;
  while (cfg != NULL && (double)cfg->server_id != server_id)
    cfg = cfg->next;
  if (cfg == NULL)
    return dv8->number(env, UV_ENOENT);
  return dv8->number(env, attach_server_conn(cfg, h));
}

/* connections(serverId) -> the ids of the HTTP connections the server
 * made that are open (a reload's new code binds them). */
static dv8_value_t js_connections(dv8_env_t *env, dv8_call_t *call) {
  double id;
  if (dv8->arg_number(env, call, 0, &id))
    return NULL;
  thread_conns *t = conns_of(env);
  dv8_value_t out = dv8->array(env, 0);
  uint32_t i = 0;
  for (hc *c = t != NULL ? t->first : NULL; c != NULL; c = c->next)
    if (!c->client && (double)c->cfg->server_id == id)
      dv8->set_index(env, out, i++,
                     dv8->number(env, (double)dv8->handle_id(handle_of(c))));
  return out;
}

/* methods() -> libhttp-parser's method names, by number. */
static dv8_value_t js_methods(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  dv8_value_t out = dv8->array(env, 0);
  for (uint32_t m = 0;; m++) {
    const char *name = http_method_str((enum http_method)m);
    if (name == NULL || strcmp(name, "<unknown>") == 0)
      break;
    dv8->set_index(env, out, m, dv8->string(env, name, strlen(name)));
  }
  return out;
}

static int http_init(dv8_env_t *env, dv8_value_t exports) {
  static const struct {
    const char *name;
    dv8_function_cb fn;
  } functions[] = {
      {"serve", js_serve},        {"send", js_send},
      {"sendText", js_send_text}, {"connections", js_connections},
      {"client", js_client},      {"adopt", js_adopt},
      {"skipBody", js_skip_body}, {"methods", js_methods},
      {"release", js_release},
  };
  for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
    int err = dv8->set_function(env, exports, functions[i].name,
                                functions[i].fn, NULL);
    if (err)
      return err;
  }
  return dv8->set_number(env, exports, "BUFFER_MIN", JS_BUFFER_MIN);
}

DV8_MODULE(http, http_init);
/* The JS layer: http.js (messages, the server) and client.js (fetch) as
 * one module, client.js after http.js (DV8_MODULE_JS takes one file). */
__asm__(".pushsection .rodata\n.global dv8_module_js\n"
        ".type dv8_module_js, @object\ndv8_module_js:\n"
        ".incbin \"modules/http/http.js\"\n"
        ".incbin \"modules/http/client.js\"\n"
        ".byte 0\n.size dv8_module_js, . - dv8_module_js\n.popsection\n");
