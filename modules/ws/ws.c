/*
 * ws.c — the ws module's C side: WebSocket connections (RFC 6455) as a
 * net stream layer (include/dv8_net.h) under ws.js. A layer takes the
 * stream over from HTTP once the handshake is done (the server's 101, or
 * the client's check of it) and reads frames with wslay's event API:
 * fragments joined, pings answered, UTF-8 of text and close reasons
 * checked as it comes, the message size limit, and the close handshake.
 * Messages go to JS as records in the socket's read buffer (parts of the
 * buffer's size for big ones). A delivery that did not fill the buffer is
 * posted, as net's plain reads are: the reads of one poll reach JS in one
 * call. One after which more waits is padded to the buffer's end, so it
 * goes at once and the rest follows. What JS is not ready for waits here,
 * and reading stalls while too much waits. JS's messages are framed here
 * (one write per message, masked for a client). State is C memory beside
 * the stream: a reload does not touch it, partial frames included.
 *
 * Records, each aligned to 4 bytes (ws.js reads them):
 *   u8 type, u8 padding, u16 arg, u32 size (the whole record), payload
 *   0: the rest of the buffer is padding (a type byte alone)
 *   1 text, 2 binary: a message's part; arg 1 on its last part
 *   3 close: the peer's close (arg: its code, 1005 for none), the reason
 *   4 fail: the connection failed (arg: the code sent, or 1006 when none
 *     could be), the reason in words
 *   5 ping, 6 pong: their payload
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <uv.h>
#include <wslay/wslay.h>

#include "dv8.h"
#include "dv8_net.h"

static const dv8_net_layer_api *net;

enum {
  REC_TEXT = 1,
  REC_BINARY = 2,
  REC_CLOSE = 3,
  REC_FAIL = 4,
  REC_PING = 5,
  REC_PONG = 6
};
#define REC_HDR 8
/* The smallest read buffer JS may give (a control record fits). */
#define JS_BUFFER_MIN 256
/* Above this many bytes waiting for JS, reading stops until it takes
 * them. */
#define WAITING_MAX (1u << 20)
/* A frame of at most this many bytes is put together on the stack. */
#define SMALL_FRAME 16384

/* A record JS has not taken yet (it was not reading, or the buffer was
 * full): its payload, and how much of it went (a big message goes in
 * parts). */
typedef struct rec {
  struct rec *next;
  size_t len, off;
  uint8_t type;
  uint16_t code;
  uint8_t data[];
} rec;

enum { T_NONE, T_IDLE, T_CLOSING };

typedef struct ws {
  dv8_net_link *link;
  wslay_event_context_ptr ctx;
  /* What on_read is giving wslay (its recv callback takes from here). */
  const char *in;
  size_t in_len;
  /* JS's buffer while on_read fills it (no JS runs meanwhile). */
  char *buf;
  size_t cap, w;
  rec *first, *last;
  size_t waiting;  /* bytes in the records above */
  ssize_t end_due; /* the end from below, behind the records (0: none) */
  unsigned client;
  unsigned closed;
  unsigned busy;      /* calls of ours on the stack */
  unsigned stalled;   /* too much waits for JS: reading stopped */
  unsigned told_end;  /* JS was given a close or fail record */
  unsigned failed;    /* wslay failed the connection */
  unsigned activity;  /* bytes came since the idle clock was set */
  unsigned pinged;    /* an idle ping went, its answer awaited */
  unsigned frame_in;  /* a frame is half read */
  unsigned msg_open;  /* a fragmented message is under way */
  unsigned bad_close; /* a close whose payload is one byte (no code) */
  unsigned ctl_due;   /* wslay has a control frame queued (a pong, a
                         close) for after_wslay to send */
  /* The message being read: wslay hands its bytes over as they come (no
   * buffering of its own). A one-frame message that fits goes straight
   * into its record in JS's buffer (direct); any other grows in msg. */
  char *direct;
  size_t direct_len; /* the frame's length, for a direct one */
  rec *msg;
  size_t msg_cap;
  size_t msg_len;      /* its bytes so far */
  int msg_type;        /* REC_TEXT or REC_BINARY */
  unsigned frame_data; /* the frame being read is a message's */
  unsigned too_big;    /* the message passed max_payload */
  unsigned oom;        /* a record could not be kept: the connection fails */
  uint64_t max_payload;
  int tmode;
  uint64_t idle_ms, close_ms;
  uv_timer_t timer;
  char reason[160];
  /* Frames sent after the first in a turn of the loop (see out()). */
  struct corks *corks; /* this thread's list of sockets that sent */
  struct ws *next_hot;
  unsigned hot; /* sent in this turn: what follows gathers in cork */
  int hot_rc;   /* what net said of the turn's first send (1: queued) */
  char *cork;
  size_t cork_len, cork_cap;
  /* The metrics' cells of this thread: messages received, and sent. */
  uint64_t *in_cell, *out_cell;
} ws;

/* Frames sent to one socket within a turn of the loop go below in one
 * write: the first at once (an echo's answer waits for nothing), the ones
 * after it gather in the socket's cork and go before the loop next polls
 * (its prepare phase). A broadcast with 8 messages in flight made up to 8
 * writes per socket per turn. Control frames and closes take the same
 * way, so the bytes keep the order of the calls. One per thread: the
 * prepare handle lives in the runtime's data (closed with the loop's
 * stray handles, freed after). */
typedef struct corks {
  uv_prepare_t prepare;
  unsigned ready;
  ws *hot;
} corks;

static const int corks_key;
#define CORK_MAX 65536
#define CORK_PIECE 4096

static void put_u16(char *p, unsigned v) { memcpy(p, &(uint16_t){v}, 2); }
static void put_u32(char *p, size_t v) { memcpy(p, &(uint32_t){v}, 4); }
static size_t align4(size_t n) { return (n + 3) & ~(size_t)3; }

/* A record at p: header and payload; returns its size. */
static size_t put_rec(char *p, int type, unsigned arg, const void *data,
                      size_t len) {
  size_t size = align4(REC_HDR + len);
  p[0] = (char)type;
  p[1] = (char)(size - REC_HDR - len);
  put_u16(p + 2, arg);
  put_u32(p + 4, size);
  if (len > 0)
    memcpy(p + REC_HDR, data, len);
  return size;
}

static void on_timer_closed(uv_handle_t *t) { free(t->data); }

static void unhot(ws *w) {
  if (!w->hot)
    return;
  for (ws **l = &w->corks->hot; *l != NULL; l = &(*l)->next_hot)
    if (*l == w) {
      *l = w->next_hot;
      break;
    }
  w->hot = 0;
}

static void free_ws(ws *w) {
  unhot(w);
  free(w->cork);
  w->cork = NULL;
  w->cork_len = 0;
  free(w->msg);
  while (w->first != NULL) {
    rec *r = w->first;
    w->first = r->next;
    free(r);
  }
  wslay_event_context_free(w->ctx);
  w->ctx = NULL;
  uv_close((uv_handle_t *)&w->timer, on_timer_closed);
}

static void enter(ws *w) { w->busy++; }
static void leave(ws *w) {
  if (--w->busy == 0 && w->closed)
    free_ws(w);
}

/* ---- timers: idle pings, and the close handshake's deadline ---- */

static void on_timeout(uv_timer_t *t);

static void arm(ws *w, int mode) {
  uint64_t ms = mode == T_IDLE      ? w->idle_ms
                : mode == T_CLOSING ? w->close_ms
                                    : 0;
  w->tmode = mode;
  if (ms == 0)
    uv_timer_stop(&w->timer);
  else
    uv_timer_start(&w->timer, on_timeout, ms, 0);
}

/* ---- into JS ---- */

/* A record for JS: into its buffer while on_read fills it and nothing
 * waits before it, else it waits here. 0 or UV_ENOMEM. */
/* Whether a record of len payload bytes goes into JS's buffer now: on_read
 * is filling it and nothing waits before it. */
static int fits(const ws *w, size_t len) {
  return w->buf != NULL && w->first == NULL &&
         w->cap - w->w >= align4(REC_HDR + len);
}

/* r (its data: len bytes) waits for JS, after the others. */
static void enqueue(ws *w, rec *r, int type, unsigned arg, size_t len) {
  r->next = NULL;
  r->len = len;
  r->off = 0;
  r->type = (uint8_t)type;
  r->code = (uint16_t)arg;
  if (w->last != NULL)
    w->last->next = r;
  else
    w->first = r;
  w->last = r;
  w->waiting += len;
}

static int give(ws *w, int type, unsigned arg, const void *data, size_t len) {
  if (fits(w, len)) {
    w->w += put_rec(w->buf + w->w, type, arg, data, len);
    return 0;
  }
  rec *r = malloc(sizeof(*r) + len);
  if (r == NULL)
    return UV_ENOMEM;
  if (len > 0)
    memcpy(r->data, data, len);
  enqueue(w, r, type, arg, len);
  return 0;
}

/* A message read into r (len bytes): into JS's buffer if it fits there
 * now (r freed), else it waits here as it is (no copy). */
static void give_rec(ws *w, rec *r, size_t len) {
  if (fits(w, len)) {
    w->w += put_rec(w->buf + w->w, w->msg_type, 1, r->data, len);
    free(r);
    return;
  }
  enqueue(w, r, w->msg_type, 1, len);
}

/* at bytes of records in JS's buffer (cap): to JS. If records still wait
 * here, the buffer is padded to its end, so the delivery goes now (a full
 * buffer is not posted) and the next can follow. */
static void deliver_records(ws *w, char *buf, size_t at, size_t cap) {
  if (w->first != NULL && at < cap) {
    buf[at] = 0;
    at = cap;
  }
  net->deliver(w->link, (ssize_t)at);
}

/* Delivers what waits, while JS takes it; then the end from below, if it
 * came. */
static void pump(ws *w) {
  while (w->first != NULL && !w->closed && net->reading(w->link)) {
    char *buf;
    size_t cap, at = 0;
    if (net->buffer(w->link, &buf, &cap) != 0)
      return;
    while (w->first != NULL && cap - at >= REC_HDR + 4) {
      rec *r = w->first;
      size_t left = r->len - r->off;
      size_t room = (cap - at - REC_HDR) & ~(size_t)3;
      /* Control records go whole; a message's part may be cut, but not
       * to a sliver when a fresh buffer would take more. */
      if (left > room && (r->type > REC_BINARY || (at > 0 && room < cap / 4)))
        break;
      size_t n = left < room ? left : room;
      int last = n == left;
      unsigned arg = r->type <= REC_BINARY ? (unsigned)last : r->code;
      at += put_rec(buf + at, r->type, arg, r->data + r->off, n);
      r->off += n;
      w->waiting -= n;
      if (!last)
        break;
      w->first = r->next;
      if (w->first == NULL)
        w->last = NULL;
      free(r);
    }
    if (at == 0)
      return;
    deliver_records(w, buf, at, cap);
  }
  if (w->first == NULL && w->end_due != 0 && !w->closed) {
    ssize_t end = w->end_due;
    w->end_due = 0;
    net->deliver(w->link, end);
    return;
  }
  if (w->stalled && w->waiting < WAITING_MAX / 2 && !w->closed) {
    w->stalled = 0;
    net->stall(w->link, 0);
  }
}

/* What on_read put in JS's buffer, to JS. */
static void flush(ws *w) {
  size_t n = w->w;
  char *buf = w->buf;
  w->buf = NULL;
  w->w = 0;
  if (n > 0 && !w->closed)
    deliver_records(w, buf, n, w->cap);
}

/* ---- wslay's callbacks ---- */

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
                       int flags, void *data) {
  ws *w = data;
  (void)flags;
  if (w->in_len == 0) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  size_t n = len < w->in_len ? len : w->in_len;
  memcpy(buf, w->in, n);
  w->in += n;
  w->in_len -= n;
  return (ssize_t)n;
}

static int flush_cork(ws *w) {
  if (w->cork_len == 0)
    return 0;
  size_t n = w->cork_len;
  w->cork_len = 0;
  return w->closed ? UV_EPIPE : net->send(w->link, w->cork, n);
}

static void on_prepare(uv_prepare_t *prepare) {
  corks *c = prepare->data;
  while (c->hot != NULL) {
    ws *w = c->hot;
    c->hot = w->next_hot;
    w->hot = 0;
    /* An error here is the connection's: its read side reports it. */
    flush_cork(w);
  }
  uv_prepare_stop(prepare);
}

/* Every byte for below goes here (see corks). */
static int out(ws *w, const char *data, size_t len) {
  if (!w->hot || w->corks == NULL) {
    int rc = net->send(w->link, data, len);
    if (rc >= 0 && w->corks != NULL) {
      w->hot = 1;
      w->hot_rc = rc;
      w->next_hot = w->corks->hot;
      w->corks->hot = w;
      uv_prepare_start(&w->corks->prepare, on_prepare);
    }
    return rc;
  }
  /* A big piece goes at once (after the cork): a copy would cost more
   * than the write it saves. */
  if (len > CORK_PIECE || w->cork_len + len > CORK_MAX) {
    int rc = flush_cork(w);
    if (rc < 0)
      return rc;
    if (rc > w->hot_rc)
      w->hot_rc = rc;
    if (len > CORK_PIECE) {
      rc = net->send(w->link, data, len);
      if (rc > w->hot_rc)
        w->hot_rc = rc;
      return rc < 0 ? rc : w->hot_rc;
    }
  }
  if (w->cork_len + len > w->cork_cap) {
    size_t cap = w->cork_cap == 0 ? 4096 : w->cork_cap;
    while (cap < w->cork_len + len)
      cap *= 2;
    char *grown = realloc(w->cork, cap);
    if (grown == NULL) {
      int rc = flush_cork(w);
      rc = rc < 0 ? rc : net->send(w->link, data, len);
      if (rc > w->hot_rc)
        w->hot_rc = rc;
      return rc < 0 ? rc : w->hot_rc;
    }
    w->cork = grown;
    w->cork_cap = cap;
  }
  memcpy(w->cork + w->cork_len, data, len);
  w->cork_len += len;
  return w->hot_rc;
}

/* What wslay sends (its control frames: pongs, closes) goes below whole:
 * net queues what the socket does not take. */
static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data,
                       size_t len, int flags, void *user) {
  ws *w = user;
  (void)flags;
  /* A control frame goes now, after what the turn gathered: a close is
   * often followed by the end of the connection. */
  if (w->closed || flush_cork(w) < 0 ||
      net->send(w->link, (const char *)data, len) < 0) {
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  return (ssize_t)len;
}

static int genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
                      void *user) {
  (void)ctx;
  (void)user;
  return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

static void frame_start_cb(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_start_arg *a,
                           void *user) {
  (void)ctx;
  ws *w = user;
  w->frame_in = 1;
  w->frame_data = a->opcode < 8;
  if (a->opcode < 8) { /* data or continuation: a message's frame */
    w->msg_open = !a->fin;
    if (a->opcode != WSLAY_CONTINUATION_FRAME) {
      w->msg_len = 0;
      w->msg_type = a->opcode == WSLAY_TEXT_FRAME ? REC_TEXT : REC_BINARY;
    }
    if (w->msg_len + a->payload_length > w->max_payload) {
      w->too_big = 1; /* failed with 1009 below (after_wslay) */
      return;
    }
    if (a->opcode != WSLAY_CONTINUATION_FRAME && a->fin && w->buf != NULL &&
        w->first == NULL &&
        w->cap - w->w >= align4(REC_HDR + a->payload_length)) {
      w->direct = w->buf + w->w;
      w->direct_len = (size_t)a->payload_length;
    }
  }
  /* wslay takes it as a close without a code; RFC 6455 5.5.1 has none of
   * one byte: failed below (after_wslay), wslay's answer never goes. */
  if (a->opcode == WSLAY_CONNECTION_CLOSE && a->payload_length == 1)
    w->bad_close = 1;
}

/* A message's bytes as they come (UTF-8 checked by wslay already). */
static void chunk_cb(wslay_event_context_ptr ctx,
                     const struct wslay_event_on_frame_recv_chunk_arg *a,
                     void *user) {
  ws *w = user;
  (void)ctx;
  if (!w->frame_data || w->too_big || w->failed || a->data_length == 0)
    return;
  if (w->direct != NULL) {
    memcpy(w->direct + REC_HDR + w->msg_len, a->data, a->data_length);
    w->msg_len += a->data_length;
    return;
  }
  size_t need = w->msg_len + a->data_length;
  if (need > w->msg_cap) { /* grows as the bytes come, never ahead */
    size_t cap = w->msg_cap < 4096 ? 4096 : w->msg_cap * 2;
    if (cap < need)
      cap = need;
    rec *r = realloc(w->msg, sizeof(*r) + cap);
    if (r == NULL) {
      w->oom = w->too_big = 1; /* too_big: the rest of it is dropped */
      return;
    }
    w->msg = r;
    w->msg_cap = cap;
  }
  memcpy(w->msg->data + w->msg_len, a->data, a->data_length);
  w->msg_len = need;
}

static void frame_end_cb(wslay_event_context_ptr ctx, void *user) {
  (void)ctx;
  ((ws *)user)->frame_in = 0;
}

/* The message read is whole: its record goes to JS (or waits). */
static int message_done(ws *w) {
  size_t len = w->msg_len;
  w->msg_len = 0;
  (*w->in_cell)++;
  if (w->too_big)
    return 0;
  if (w->direct != NULL) {
    size_t size = align4(REC_HDR + len);
    w->direct[0] = (char)w->msg_type;
    w->direct[1] = (char)(size - REC_HDR - len);
    put_u16(w->direct + 2, 1);
    put_u32(w->direct + 4, size);
    w->w += size;
    w->direct = NULL;
    return 0;
  }
  if (w->msg == NULL)
    return give(w, w->msg_type, 1, NULL, 0);
  rec *r = w->msg;
  w->msg = NULL;
  w->msg_cap = 0;
  give_rec(w, r, len);
  return 0;
}

/* A message reserved in JS's buffer whose frame did not all come in this
 * read: it moves here (JS is about to get the buffer). 0 or UV_ENOMEM. */
static int undirect(ws *w) {
  if (w->direct == NULL)
    return 0;
  rec *r = malloc(sizeof(*r) + w->direct_len);
  if (r == NULL)
    return UV_ENOMEM;
  memcpy(r->data, w->direct + REC_HDR, w->msg_len);
  free(w->msg);
  w->msg = r;
  w->msg_cap = w->direct_len;
  w->direct = NULL;
  return 0;
}

static void msg_cb(wslay_event_context_ptr ctx,
                   const struct wslay_event_on_msg_recv_arg *a, void *user) {
  ws *w = user;
  int err = 0;
  (void)ctx;
  switch (a->opcode) {
  case WSLAY_TEXT_FRAME:
  case WSLAY_BINARY_FRAME:
    err = message_done(w);
    break;
  case WSLAY_CONNECTION_CLOSE: {
    w->ctl_due = 1; /* wslay queued its answer */
    if (w->bad_close)
      break;
    size_t skip = a->msg_length >= 2 ? 2 : 0;
    err = give(w, REC_CLOSE, a->status_code ? a->status_code : 1005,
               a->msg + skip, a->msg_length - skip);
    w->told_end = 1;
    break;
  }
  case WSLAY_PING:
    w->ctl_due = 1; /* wslay queued its pong */
    err = give(w, REC_PING, 0, a->msg, a->msg_length);
    break;
  case WSLAY_PONG:
    w->pinged = 0;
    err = give(w, REC_PONG, 0, a->msg, a->msg_length);
    break;
  }
  if (err) /* never a message lost quietly: the connection fails (1011) */
    w->oom = 1;
}

static const struct wslay_event_callbacks callbacks = {
    recv_cb,  send_cb,      genmask_cb, frame_start_cb,
    chunk_cb, frame_end_cb, msg_cb,
};

/* ---- frames of our own ---- */

/* A frame's header at p for len payload bytes; returns its size. With
 * mask, the key follows (and is set in key). */
static size_t put_header(uint8_t *p, int fin, int opcode, uint64_t len,
                         const uint8_t *key) {
  size_t at = 2;
  p[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
  p[1] = key != NULL ? 0x80 : 0;
  if (len < 126) {
    p[1] |= (uint8_t)len;
  } else if (len <= 0xffff) {
    p[1] |= 126;
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    at = 4;
  } else {
    p[1] |= 127;
    for (int i = 0; i < 8; i++)
      p[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    at = 10;
  }
  if (key != NULL) {
    memcpy(p + at, key, 4);
    at += 4;
  }
  return at;
}

static void mask_copy(uint8_t *to, const uint8_t *from, size_t len,
                      const uint8_t key[4]) {
  for (size_t i = 0; i < len; i++)
    to[i] = from[i] ^ key[i & 3];
}

/* Whether JS may send data frames: the close is neither queued nor sent,
 * and the connection did not fail. */
static int can_send(ws *w) {
  return !w->closed && !w->failed && w->ctx != NULL && !w->told_end &&
         wslay_event_get_write_enabled(w->ctx);
}

/* One frame of JS's: 0 (written), 1 (queued: wait for drain) or a code.
 * wslay's send queue is empty between our calls (its callback never
 * refuses bytes), so a frame of ours cannot cut one of its own. */
static int send_frame(ws *w, int fin, int opcode, const uint8_t *data,
                      size_t len) {
  if (!can_send(w))
    return UV_EPIPE;
  uint8_t key[4];
  if (w->client && RAND_bytes(key, 4) != 1)
    return UV_EIO;
  const uint8_t *k = w->client ? key : NULL;
  uint8_t small[SMALL_FRAME + 14];
  if (len <= SMALL_FRAME) {
    size_t h = put_header(small, fin, opcode, len, k);
    if (k != NULL)
      mask_copy(small + h, data, len, key);
    else if (len > 0)
      memcpy(small + h, data, len);
    return out(w, (char *)small, h + len);
  }
  size_t h = put_header(small, fin, opcode, len, k);
  if (k == NULL) { /* the payload as it is, after its header */
    int rc = out(w, (char *)small, h);
    return rc < 0 ? rc : out(w, (const char *)data, len);
  }
  uint8_t *frame = malloc(h + len);
  if (frame == NULL)
    return UV_ENOMEM;
  memcpy(frame, small, h);
  mask_copy(frame + h, data, len, key);
  int rc = out(w, (char *)frame, h + len);
  free(frame);
  return rc;
}

/* ---- reading ---- */

/* After wslay read or sent: its control frames go, and a failure (a
 * protocol error, found by wslay, which queued its close) goes to JS
 * once. */
static void after_wslay(ws *w, int rv) {
  if (w->closed)
    return;
  if ((rv != 0 || w->bad_close || w->too_big) && !w->failed) {
    /* wslay gave up on the frame layer (a control frame over 125 bytes or
     * fragmented, a length not in its shortest form): its own close has
     * no code, so ours goes instead, and wslay sends nothing more. So too
     * for what only we see: a close of one byte, a message whose frames
     * together pass the limit. */
    w->failed = 1;
    unsigned status = rv == WSLAY_ERR_NOMEM ? 1011 : w->too_big ? 1009 : 1002;
    uint8_t frame[14 + 2];
    uint8_t key[4] = {0, 0, 0, 0};
    const uint8_t code[2] = {(uint8_t)(status >> 8), (uint8_t)status};
    if (w->client)
      RAND_bytes(key, 4);
    size_t h =
        put_header(frame, 1, WSLAY_CONNECTION_CLOSE, 2, w->client ? key : NULL);
    mask_copy(frame + h, code, 2, key);
    if (flush_cork(w) >= 0)
      net->send(w->link, (char *)frame, h + 2);
    snprintf(w->reason, sizeof(w->reason), "%s",
             status == 1011   ? "out of memory"
             : status == 1009 ? "a message over the size limit"
             : w->bad_close   ? "a close frame of one byte (RFC 6455 5.5.1)"
                              : "a malformed frame (RFC 6455 5.2)");
    give(w, REC_FAIL, status, w->reason, strlen(w->reason));
    w->told_end = 1;
    return;
  }
  /* wslay queues only what a read (a pong, a close) or we (a ping, a
   * close) asked for, and sends it whole here: its queues are empty
   * otherwise, and nothing of ours can be cut by its frames. */
  int reading = wslay_event_get_read_enabled(w->ctx);
  if (!w->failed && (w->ctl_due || !reading)) {
    w->ctl_due = 0;
    if (wslay_event_send(w->ctx) != 0) {
      w->failed = 1;
      return;
    }
  }
  if (!w->told_end && !reading && !(wslay_event_get_close_received(w->ctx))) {
    /* wslay failed the connection and sent its close with the code. */
    unsigned code = wslay_event_get_status_code_sent(w->ctx);
    const char *why = code == 1007   ? "invalid UTF-8 in a text message"
                      : code == 1009 ? "a message over the size limit"
                                     : "a protocol error (RFC 6455)";
    snprintf(w->reason, sizeof(w->reason), "%s", why);
    give(w, REC_FAIL, code, why, strlen(why));
    w->told_end = w->failed = 1;
  }
}

static void layer_on_read(void *layer, const char *data, ssize_t n) {
  ws *w = layer;
  enter(w);
  if (n < 0) {
    uv_timer_stop(&w->timer);
    w->tmode = T_NONE;
    w->end_due = n;
    pump(w);
    leave(w);
    return;
  }
  w->activity = 1;
  if (w->failed || w->ctx == NULL || !wslay_event_get_read_enabled(w->ctx)) {
    leave(w); /* after a close: dropped */
    return;
  }
  w->buf = NULL;
  if (w->first == NULL && net->reading(w->link) &&
      net->buffer(w->link, &w->buf, &w->cap) != 0)
    w->buf = NULL;
  w->w = 0;
  w->in = data;
  w->in_len = (size_t)n;
  int rv = wslay_event_recv(w->ctx);
  w->in_len = 0;
  if ((undirect(w) != 0 || w->oom) && rv == 0)
    rv = WSLAY_ERR_NOMEM;
  after_wslay(w, rv);
  flush(w);
  pump(w);
  if (!w->closed && w->waiting >= WAITING_MAX && !w->stalled) {
    w->stalled = 1;
    net->stall(w->link, 1);
  }
  leave(w);
}

static void on_timeout(uv_timer_t *t) {
  ws *w = t->data;
  enter(w);
  if (w->tmode == T_IDLE && !w->told_end) {
    if (w->activity) {
      w->activity = 0;
      w->pinged = 0;
      arm(w, T_IDLE);
    } else if (!w->pinged) {
      /* Quiet for a while: a ping asks whether the peer is there. */
      struct wslay_event_msg m = {WSLAY_PING, NULL, 0};
      w->pinged = 1;
      if (wslay_event_queue_msg(w->ctx, &m) == 0)
        wslay_event_send(w->ctx);
      arm(w, T_IDLE);
    } else {
      snprintf(w->reason, sizeof(w->reason),
               "no answer to a ping within the idle timeout (%llu ms)",
               (unsigned long long)w->idle_ms);
      w->tmode = T_NONE;
      w->end_due = UV_ETIMEDOUT;
      pump(w);
    }
  } else if (w->tmode == T_CLOSING) {
    snprintf(w->reason, sizeof(w->reason), "%s",
             "the peer did not answer the close in time");
    w->tmode = T_NONE;
    w->end_due = UV_ETIMEDOUT;
    pump(w);
  }
  leave(w);
}

/* ---- the layer ---- */

static int layer_write(void *layer, const char *data, size_t len) {
  (void)layer;
  (void)data;
  (void)len;
  return UV_EPROTO; /* bytes of JS's own would break the framing */
}

/* What the turn gathered goes before the end (and before a close: the
 * socket may still take it). */
static void layer_end(void *layer) { flush_cork(layer); }

static void layer_resume(void *layer) {
  ws *w = layer;
  enter(w);
  pump(w);
  leave(w);
}

static void layer_close(void *layer) {
  ws *w = layer;
  flush_cork(w);
  w->closed = 1;
  uv_timer_stop(&w->timer);
  if (w->busy == 0)
    free_ws(w);
}

/* Idle: no frame half read, nothing waiting for JS, no close under way:
 * an upgrade sends the stream to the new process plain, where ws.js puts
 * a new layer on it. */
static int layer_shed(void *layer) {
  ws *w = layer;
  return !w->closed && !w->failed && !w->frame_in && !w->msg_open && !w->hot &&
         w->cork_len == 0 && w->first == NULL && w->ctx != NULL &&
         wslay_event_get_read_enabled(w->ctx) &&
         wslay_event_get_write_enabled(w->ctx) &&
         wslay_event_get_queued_msg_count(w->ctx) == 0;
}

static const char *layer_stays(void *layer) {
  (void)layer;
  return "a WebSocket with a frame half read or a close under way is "
         "finished by the code that began it";
}

static const char *layer_reason(void *layer) {
  ws *w = layer;
  return w->reason[0] != 0 ? w->reason : NULL;
}

static void layer_start(void *layer) {
  ws *w = layer;
  if (w->tmode == T_NONE && !w->told_end)
    arm(w, T_IDLE);
}

static const dv8_net_layer_ops layer_ops = {
    .on_read = layer_on_read,
    .write = layer_write,
    .end = layer_end,
    .resume = layer_resume,
    .close = layer_close,
    .stays = layer_stays,
    .reason = layer_reason,
    .start = layer_start,
    .shed = layer_shed,
};

/* ---- JS ---- */

static int find_net(dv8_env_t *env) {
  if (net == NULL)
    net = dv8->service_get(DV8_NET_LAYER_SERVICE, DV8_NET_LAYER_VERSION);
  if (net == NULL)
    dv8->throw_error(env, UV_ENOSYS, "ws: the net module is not loaded");
  return net != NULL;
}

static ws *arg_ws(dv8_env_t *env, dv8_call_t *call, int *err) {
  dv8_handle_t *h;
  *err = 0;
  if (!find_net(env)) {
    *err = DV8_ETYPE;
    return NULL;
  }
  if ((*err = net->arg_stream(env, call, 0, &h)) != 0)
    return NULL;
  ws *w = net->layer(h, &layer_ops);
  if (w == NULL || w->closed)
    *err = DV8_ECLOSED;
  return w;
}

/* accept(id, rest, client, maxPayload, idleMs, closeMs, replace) -> 0 |
 * code: the stream speaks WebSocket from now on; rest is what came after
 * the handshake. replace 1: in place of its top layer (the HTTP layer that
 * answered the handshake); 0: on top of what is there (TLS, or nothing: a
 * client that read the answer itself, a stream an upgrade carried). */
static dv8_value_t js_accept(dv8_env_t *env, dv8_call_t *call) {
  dv8_handle_t *h;
  void *rest;
  size_t rest_len;
  int64_t client, max_payload, idle_ms, close_ms, replace;
  if (!find_net(env) || net->arg_stream(env, call, 0, &h) != 0 ||
      dv8->arg_buffer(env, call, 1, &rest, &rest_len) ||
      dv8->arg_integer(env, call, 2, 0, 1, &client) ||
      dv8->arg_integer(env, call, 3, 1, INT64_MAX, &max_payload) ||
      dv8->arg_integer(env, call, 4, 0, INT64_MAX, &idle_ms) ||
      dv8->arg_integer(env, call, 5, 0, INT64_MAX, &close_ms) ||
      dv8->arg_integer(env, call, 6, 0, 1, &replace))
    return NULL;
  if (net->layer(h, &layer_ops) != NULL)
    return dv8->number(env, UV_EEXIST);
  ws *w = calloc(1, sizeof(*w));
  if (w == NULL)
    return dv8->number(env, UV_ENOMEM);
  static __thread uint64_t no_cell; /* when there are no metrics */
  w->in_cell = dv8->metric_counter(env, "dv8_ws_messages_received_total",
                                   "WebSocket messages received, whole.");
  w->out_cell = dv8->metric_counter(env, "dv8_ws_messages_sent_total",
                                    "WebSocket messages sent (their last "
                                    "frame).");
  if (w->in_cell == NULL)
    w->in_cell = &no_cell;
  if (w->out_cell == NULL)
    w->out_cell = &no_cell;
  int rv = client ? wslay_event_context_client_init(&w->ctx, &callbacks, w)
                  : wslay_event_context_server_init(&w->ctx, &callbacks, w);
  if (rv != 0) {
    free(w);
    return dv8->number(env, UV_ENOMEM);
  }
  /* wslay checks each frame against the limit; we check the message (its
   * frames together), since wslay hands us the bytes unbuffered. */
  wslay_event_config_set_max_recv_msg_length(w->ctx, (uint64_t)max_payload);
  wslay_event_config_set_no_buffering(w->ctx, 1);
  w->max_payload = (uint64_t)max_payload;
  w->client = (unsigned)client;
  w->idle_ms = (uint64_t)idle_ms;
  w->close_ms = (uint64_t)close_ms;
  uv_timer_init(dv8->loop(env), &w->timer);
  w->timer.data = w;
  corks *c = dv8->runtime_data(env, &corks_key, sizeof(corks), NULL);
  if (c != NULL && !c->ready) {
    uv_prepare_init(dv8->loop(env), &c->prepare);
    uv_unref((uv_handle_t *)&c->prepare); /* never keeps the loop alive */
    c->prepare.data = c;
    c->ready = 1;
  }
  w->corks = c; /* NULL (no memory): every frame goes at once */
  dv8_net_link *top = replace ? net->top(h) : NULL;
  int err = replace
                ? (top != NULL ? net->replace(top, &layer_ops, w) : UV_EINVAL)
                : net->attach(h, &layer_ops, w, &w->link);
  if (err) {
    wslay_event_context_free(w->ctx);
    uv_close((uv_handle_t *)&w->timer, on_timer_closed);
    return dv8->number(env, err);
  }
  if (top != NULL)
    w->link = top;
  if (rest_len > 0) {
    /* Bytes that came with the handshake: as if read now (JS gets their
     * messages once it reads). */
    char *copy = malloc(rest_len);
    if (copy == NULL)
      return dv8->number(env, UV_ENOMEM);
    memcpy(copy, rest, rest_len);
    layer_on_read(w, copy, (ssize_t)rest_len);
    free(copy);
  }
  return dv8->number(env, 0);
}

/* send(id, data, opcode, fin) -> 0 | 1 (queued) | code: a data frame
 * (opcode 1 text, 2 binary, 0 a continuation); data is bytes or a string
 * (sent as UTF-8). */
static dv8_value_t js_send(dv8_env_t *env, dv8_call_t *call) {
  int err;
  ws *w = arg_ws(env, call, &err);
  if (w == NULL)
    return err == DV8_ETYPE ? NULL : dv8->number(env, err);
  int64_t opcode, fin;
  if (dv8->arg_integer(env, call, 2, 0, 2, &opcode) ||
      dv8->arg_integer(env, call, 3, 0, 1, &fin))
    return NULL;
  /* A string as UTF-8: on the stack when it is small, else a copy. */
  dv8_value_t v = dv8->arg(call, 1);
  char small[SMALL_FRAME];
  char *big = NULL;
  void *data = small;
  size_t len;
  if (dv8->type_of(env, v) == DV8_TYPE_STRING) {
    len = dv8->to_utf8(env, v, small, sizeof(small));
    if (len >= sizeof(small) && dv8->arg_string(env, call, 1, &big, &len))
      return NULL;
    if (big != NULL)
      data = big;
  } else if (dv8->arg_buffer(env, call, 1, &data, &len)) {
    return NULL;
  }
  enter(w);
  int rc = send_frame(w, (int)fin, (int)opcode, data, len);
  if (rc >= 0 && fin)
    (*w->out_cell)++;
  leave(w);
  free(big);
  return dv8->number(env, rc);
}

/* control(id, opcode, data) -> 0 | code: a ping (9) or pong (10) with up
 * to 125 bytes. */
static dv8_value_t js_control(dv8_env_t *env, dv8_call_t *call) {
  int err;
  ws *w = arg_ws(env, call, &err);
  if (w == NULL)
    return err == DV8_ETYPE ? NULL : dv8->number(env, err);
  int64_t opcode;
  void *data;
  size_t len;
  if (dv8->arg_integer(env, call, 1, WSLAY_PING, WSLAY_PONG, &opcode) ||
      dv8->arg_buffer(env, call, 2, &data, &len))
    return NULL;
  if (len > 125)
    return dv8->number(env, UV_E2BIG);
  if (!can_send(w))
    return dv8->number(env, UV_EPIPE);
  struct wslay_event_msg m = {(uint8_t)opcode, data, len};
  enter(w);
  int rv = wslay_event_queue_msg(w->ctx, &m);
  if (rv == 0) {
    w->ctl_due = 1;
    after_wslay(w, 0);
  }
  leave(w);
  return dv8->number(env, rv == 0 ? 0 : UV_EPIPE);
}

/* close(id, code, reason) -> 0 | code: our close (code 0: none), then the
 * wait for the peer's, at most closeMs. */
static dv8_value_t js_close(dv8_env_t *env, dv8_call_t *call) {
  int err;
  ws *w = arg_ws(env, call, &err);
  if (w == NULL)
    return err == DV8_ETYPE ? NULL : dv8->number(env, err);
  int64_t code;
  void *reason;
  size_t len;
  if (dv8->arg_integer(env, call, 1, 0, 4999, &code) ||
      dv8->arg_buffer(env, call, 2, &reason, &len))
    return NULL;
  if (len > 123)
    return dv8->number(env, UV_E2BIG);
  if (w->failed || !wslay_event_get_write_enabled(w->ctx))
    return dv8->number(env, UV_EPIPE);
  enter(w);
  int rv = wslay_event_queue_close(w->ctx, (uint16_t)code, reason, len);
  if (rv == 0) {
    w->ctl_due = 1;
    after_wslay(w, 0);
    if (!w->told_end)
      arm(w, T_CLOSING);
  }
  leave(w);
  return dv8->number(env, rv == 0 ? 0 : UV_EPIPE);
}

/* state(id) -> [closeSent, closeReceived, codeSent, codeReceived]. */
static dv8_value_t js_state(dv8_env_t *env, dv8_call_t *call) {
  int err;
  ws *w = arg_ws(env, call, &err);
  if (w == NULL)
    return err == DV8_ETYPE ? NULL : dv8->number(env, err);
  dv8_value_t out = dv8->array(env, 4);
  dv8->set_index(env, out, 0,
                 dv8->number(env, wslay_event_get_close_sent(w->ctx)));
  dv8->set_index(env, out, 1,
                 dv8->number(env, wslay_event_get_close_received(w->ctx)));
  dv8->set_index(env, out, 2,
                 dv8->number(env, wslay_event_get_status_code_sent(w->ctx)));
  dv8->set_index(
      env, out, 3,
      dv8->number(env, wslay_event_get_status_code_received(w->ctx)));
  return out;
}

/* acceptKey(key) -> the Sec-WebSocket-Accept for a Sec-WebSocket-Key. */
static dv8_value_t js_accept_key(dv8_env_t *env, dv8_call_t *call) {
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  char key[64 + sizeof(guid)];
  char *s;
  size_t len;
  if (dv8->arg_string(env, call, 0, &s, &len))
    return NULL;
  if (len > 64) {
    free(s);
    return dv8->string(env, "", 0);
  }
  memcpy(key, s, len);
  memcpy(key + len, guid, sizeof(guid) - 1);
  free(s);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1((unsigned char *)key, len + sizeof(guid) - 1, digest);
  char out[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  int n = EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH);
  return dv8->string(env, out, (size_t)n);
}

/* newKey() -> a Sec-WebSocket-Key: 16 random bytes in base64. */
static dv8_value_t js_new_key(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  unsigned char raw[16];
  char out[25];
  if (RAND_bytes(raw, sizeof(raw)) != 1) {
    dv8->throw_error(env, UV_EIO, "ws: no random bytes for a key");
    return NULL;
  }
  int n = EVP_EncodeBlock((unsigned char *)out, raw, sizeof(raw));
  return dv8->string(env, out, (size_t)n);
}

/* reason(id) -> why the layer ended the connection, or undefined. */
static dv8_value_t js_reason(dv8_env_t *env, dv8_call_t *call) {
  int err;
  ws *w = arg_ws(env, call, &err);
  if (w == NULL || w->reason[0] == 0)
    return NULL;
  return dv8->string(env, w->reason, SIZE_MAX);
}

static int ws_init(dv8_env_t *env, dv8_value_t exports) {
  static const struct {
    const char *name;
    dv8_function_cb fn;
  } functions[] = {
      {"accept", js_accept},   {"send", js_send},
      {"control", js_control}, {"close", js_close},
      {"state", js_state},     {"acceptKey", js_accept_key},
      {"newKey", js_new_key},  {"reason", js_reason},
  };
  for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
    int err = dv8->set_function(env, exports, functions[i].name,
                                functions[i].fn, NULL);
    if (err)
      return err;
  }
  return dv8->set_number(env, exports, "BUFFER_MIN", JS_BUFFER_MIN);
}

DV8_MODULE(ws, ws_init);
DV8_MODULE_JS("modules/ws/ws.js");
