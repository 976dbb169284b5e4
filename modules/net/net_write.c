/*
 * net, the write path: write(id, buffer, length) tries the kernel first and
 * copies only what the kernel did not take into a native buffer queued
 * behind it. The queue is bounded: past its limit a write is refused
 * (DV8_EFULL) and the caller waits for the drain callback. Also shutdown,
 * and the hold op an upgrade uses (writes wait while the process before
 * still sends its own).
 *
 * Lifetime: queued write buffers are freed when their write completes or
 * fails (libuv fails them with UV_ECANCELED when the handle closes first);
 * held bytes and a file's waiting bytes are freed with the stream.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <uv.h>

#include "dv8.h"
#include "dv8_net.h"
#include "net.h"

/* The most one uv_buf_t carries here (its length is an unsigned int). A
 * write() takes at most 16 of them: 16 GiB, checked at the JS boundary. */
#define BUF_MAX ((size_t)1 << 30)
#define WRITE_MAX (16 * BUF_MAX)

typedef struct write_req {
  uv_write_t req;
  stream *s;
  size_t len;
  char data[];
} write_req;

static void free_write_req(write_req *w);

void net__emit_drain(stream *s, int status) {
  /* While the host has the stream frozen its code is not to run: told at
   * resume (host_resume). */
  if (s->flags & FROZEN) {
    s->flags |= DRAIN_DUE;
    s->drain_status = status;
    return;
  }
  net__emit(s, SLOT_ON_DRAIN, 1, status);
}

static void on_write(uv_write_t *req, int status) {
  write_req *w = (write_req *)req;
  stream *s = w->s;
  size_t len = w->len;
  free_write_req(w);
  s->queued -= len;
  uint64_t *c = dv8->counters(&s->base);
  c[DV8_COUNTER_BUFFERS_FREED]++;
  if (status < 0) {
    c[DV8_COUNTER_ERRORS]++;
    if (status != UV_ECANCELED) /* closing: nobody is waiting */
      net__emit_drain(s, status);
    return;
  }
  c[DV8_COUNTER_BYTES_WRITTEN] += len;
  if (s->queued == 0)
    net__emit_drain(s, 0);
}

/* Writes to fd what it takes now: the bytes written, or a code (EAGAIN
 * once nothing more goes without waiting). */
static ssize_t write_some(int fd, const char *data, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(fd, data + done, len - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return done > 0 && errno == EAGAIN ? (ssize_t)done : -errno;
    done += (size_t)n;
  }
  return (ssize_t)done;
}

/* Writes to a file or device (stdout redirected to one). A regular file
 * takes everything at once; a device that says EAGAIN gets the rest when
 * it can take it (a poll handle says when), never by blocking the loop. */
static int write_file(stream *s, const char *data, size_t len) {
  uint64_t *c = dv8->counters(&s->base);
  size_t done = 0;
  if (s->file_out_len == 0) {
    ssize_t n = write_some(s->fd, data, len);
    if (n < 0 && n != UV_EAGAIN) {
      c[DV8_COUNTER_ERRORS]++;
      return (int)n;
    }
    done = n < 0 ? 0 : (size_t)n;
    c[DV8_COUNTER_BYTES_WRITTEN] += done;
    if (done == len) {
      c[DV8_COUNTER_WRITES]++;
      return WRITE_DONE;
    }
    c[DV8_COUNTER_WRITES_EAGAIN] += done == 0;
  } else if (s->queued + len > s->queue_limit) {
    c[DV8_COUNTER_WRITES_FULL]++;
    return DV8_EFULL;
  }
  size_t rest = len - done;
  char *p = realloc(s->file_out, s->file_out_len + rest);
  if (p == NULL)
    return UV_ENOMEM;
  memcpy(p + s->file_out_len, data + done, rest);
  s->file_out = p;
  s->file_out_len += rest;
  s->queued += rest;
  int err = net__file_poll_update(s);
  if (err) { /* cannot wait for it: the rest is dropped, and said so */
    s->queued -= rest;
    s->file_out_len -= rest;
    c[DV8_COUNTER_ERRORS]++;
    return err;
  }
  c[DV8_COUNTER_WRITES]++;
  c[DV8_COUNTER_WRITES_QUEUED]++;
  return WRITE_QUEUED;
}

void net__file_writable(stream *s) {
  uint64_t *c = dv8->counters(&s->base);
  ssize_t n = write_some(s->fd, s->file_out, s->file_out_len);
  if (n == UV_EAGAIN)
    return;
  if (n < 0) { /* what waited is lost: the writer hears it */
    c[DV8_COUNTER_ERRORS]++;
    s->queued -= s->file_out_len;
    s->file_out_len = 0;
    net__emit_drain(s, (int)n);
    return;
  }
  size_t done = (size_t)n;
  c[DV8_COUNTER_BYTES_WRITTEN] += done;
  memmove(s->file_out, s->file_out + done, s->file_out_len - done);
  s->file_out_len -= done;
  s->queued -= done;
  if (s->file_out_len == 0)
    net__emit_drain(s, 0);
}

/* Queued bytes of 2 MiB and more get memory of their own, at a 2 MiB
 * boundary and offered for transparent huge pages: the copy fills it at
 * once, and fresh memory taken a 4 KiB page at a time costs a fault per
 * page (on the VM measured, 64 MiB took 300-500 ms to fill that way, 12-40
 * ms on huge pages). Smaller ones come from malloc. */
#define HUGE_BYTES ((size_t)2 << 20)

static size_t req_size(size_t len) {
  return (sizeof(write_req) + len + 4095) & ~(size_t)4095;
}

static write_req *new_write_req(size_t len) {
  if (sizeof(write_req) + len < HUGE_BYTES)
    return malloc(sizeof(write_req) + len);
  size_t size = req_size(len);
  size_t span = size + HUGE_BYTES - 4096;
  char *p = mmap(NULL, span, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  uintptr_t start = (uintptr_t)p;
  uintptr_t aligned = (start + HUGE_BYTES - 1) & ~(uintptr_t)(HUGE_BYTES - 1);
  if (aligned > start)
    munmap(p, aligned - start);
  if (aligned + size < start + span)
    munmap((char *)aligned + size, start + span - (aligned + size));
  madvise((char *)aligned, size, MADV_HUGEPAGE); /* advice: refused is fine */
  return (write_req *)aligned;
}

static void free_write_req(write_req *w) {
  if (sizeof(write_req) + w->len < HUGE_BYTES)
    free(w);
  else
    munmap(w, req_size(w->len));
}

/* Queues what the kernel did not take. The bytes are copied: JS may reuse
 * its buffer as soon as write() returns. */
static int queue_write(stream *s, const char *data, size_t len) {
  write_req *w = new_write_req(len);
  if (w == NULL)
    return UV_ENOMEM;
  memcpy(w->data, data, len);
  w->s = s;
  w->len = len;
  /* A uv_buf_t holds an unsigned int length: larger writes (a view over
   * more than 4 GiB) go as several buffers of one request. libuv copies
   * the array, so it can live on the stack. */
  uv_buf_t bufs[16];
  unsigned int nbufs = 0;
  for (size_t off = 0; off < len && nbufs < 16; nbufs++) {
    size_t n = len - off < BUF_MAX ? len - off : BUF_MAX;
    bufs[nbufs] = uv_buf_init(w->data + off, (unsigned int)n);
    off += n;
  }
  int err = uv_write(&w->req, &s->uv.stream, bufs, nbufs, on_write);
  if (err) {
    free_write_req(w);
    return err;
  }
  dv8->counters(&s->base)[DV8_COUNTER_BUFFERS_ALLOCATED]++;
  s->queued += len;
  return 0;
}

/* Adds len bytes to a growing buffer: 0 or UV_ENOMEM (nothing changed). */
static int append(char **buf, size_t *buf_len, const char *data, size_t len) {
  char *p = realloc(*buf, *buf_len + len);
  if (p == NULL)
    return UV_ENOMEM;
  memcpy(p + *buf_len, data, len);
  *buf = p;
  *buf_len += len;
  return 0;
}

/* Keeps a write in order behind what the process before still sends. */
static int hold_write(stream *s, const char *data, size_t len) {
  uint64_t *c = dv8->counters(&s->base);
  if (s->queued > 0 && s->queued + len > s->queue_limit) {
    c[DV8_COUNTER_WRITES_FULL]++;
    return DV8_EFULL;
  }
  if (append(&s->held, &s->held_len, data, len) != 0)
    return UV_ENOMEM;
  s->queued += len;
  c[DV8_COUNTER_WRITES]++;
  c[DV8_COUNTER_WRITES_QUEUED]++;
  return WRITE_QUEUED;
}

/* Every call counts once: in writes (accepted, done now or queued), in
 * writes_full (refused, nothing written), or in errors. writes_queued counts
 * the accepted writes the kernel did not finish at once; writes_eagain
 * those of them it took nothing of. */
static int write_through(stream *s, const char *data, size_t len, int bounded) {
  struct dv8_net_link *top = net__top(s);
  if (top == NULL)
    return net__write_below(s, data, len, bounded);
  if (s->flags & (SHUTTING | LISTENING))
    return UV_EPIPE;
  /* The bound applies to what JS gives the layer, as to a plain stream. */
  if (bounded && s->queued > 0 && s->queued + len > s->queue_limit) {
    dv8->counters(&s->base)[DV8_COUNTER_WRITES_FULL]++;
    return DV8_EFULL;
  }
  return top->ops->write(top->data, data, len);
}

int net__write(stream *s, const char *data, size_t len) {
  return write_through(s, data, len, 1);
}

int net__write_below(stream *s, const char *data, size_t len, int bounded) {
  uint64_t *c = dv8->counters(&s->base);
  if (s->flags & (SHUTTING | LISTENING)) {
    c[DV8_COUNTER_ERRORS]++;
    return UV_EPIPE;
  }
  if (s->kind == KIND_FILE)
    return write_file(s, data, len);
  if (s->flags & HOLDING)
    return hold_write(s, data, len);
  size_t done = 0;
  if (s->queued > 0) {
    /* Behind queued bytes, to keep order. One write may exceed the limit
     * when the queue is empty, so any size can get through. */
    if (bounded && s->queued + len > s->queue_limit) {
      c[DV8_COUNTER_WRITES_FULL]++;
      return DV8_EFULL;
    }
  } else if (len > 0) {
    uv_buf_t buf = uv_buf_init((char *)data,
                               (unsigned int)(len < BUF_MAX ? len : BUF_MAX));
    int n = uv_try_write(&s->uv.stream, &buf, 1);
    if (n == UV_EAGAIN) {
      c[DV8_COUNTER_WRITES_EAGAIN]++;
      n = 0;
    } else if (n < 0) {
      c[DV8_COUNTER_ERRORS]++;
      return n;
    }
    done = (size_t)n;
    c[DV8_COUNTER_BYTES_WRITTEN] += done;
  }
  if (done == len) {
    c[DV8_COUNTER_WRITES]++;
    return WRITE_DONE;
  }
  int err = queue_write(s, data + done, len - done);
  if (err) {
    c[DV8_COUNTER_ERRORS]++;
    return err;
  }
  c[DV8_COUNTER_WRITES]++;
  c[DV8_COUNTER_WRITES_QUEUED]++;
  return WRITE_QUEUED;
}

void net__prep_drop(stream *s) {
  free(s->prep);
  s->prep = NULL;
  s->prep_len = 0;
  s->prep_env = NULL;
  s->flags &= ~SHUTDOWN_PREP;
}

/* Code a reload is loading writes: its bytes wait, as they came (before
 * any layer: TLS must not seal records for code that may never run),
 * until its commit sends them after everything the old code wrote; a
 * failed reload drops them with that code. A newer attempt's replace an
 * older one's. */
static int prep_for(stream *s, dv8_env_t *env) {
  if (s->prep_env != env)
    net__prep_drop(s);
  s->prep_env = env;
  return (s->flags & (SHUTTING | SHUTDOWN_PREP | LISTENING)) ? UV_EPIPE : 0;
}

static int prep_write(stream *s, dv8_env_t *env, const char *data, size_t len) {
  int err = prep_for(s, env);
  if (err)
    return err;
  if (len == 0)
    return WRITE_DONE;
  return append(&s->prep, &s->prep_len, data, len) ? UV_ENOMEM : WRITE_DONE;
}

static int start_shutdown(stream *s);

void net__prep_settle(stream *s) {
  if (s->prep_env != dv8->handle_env(&s->base)) {
    net__prep_drop(s);
    return;
  }
  char *data = s->prep;
  size_t len = s->prep_len;
  int shut = (s->flags & SHUTDOWN_PREP) != 0;
  s->prep = NULL;
  s->prep_len = 0;
  s->prep_env = NULL;
  s->flags &= ~SHUTDOWN_PREP;
  /* Past the bound: the code was told they went. */
  int err = len > 0 ? write_through(s, data, len, 0) : 0;
  free(data);
  if (err == 0 && shut)
    err = start_shutdown(s);
  if (err < 0) /* the code was told its writes went: it hears at drain */
    net__emit_drain(s, err);
}

/* write(id, buffer, length = buffer.byteLength) -> 0 (done), 1 (queued:
 * wait for drain before writing much more), EFULL (refused) or a code. */
dv8_value_t net__js_write(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  void *data;
  size_t len;
  int err = net__arg_stream(env, call, 0, &s);
  if (err)
    return net__reply(env, err);
  if (dv8->arg_buffer(env, call, 1, &data, &len))
    return NULL;
  if (dv8->type_of(env, dv8->arg(call, 2)) != DV8_TYPE_UNDEFINED) {
    int64_t n;
    if (dv8->arg_integer(env, call, 2, 0, (int64_t)len, &n))
      return NULL;
    len = (size_t)n;
  }
  if (len > WRITE_MAX)
    return dv8->throw_range_error(env, "write: at most 16 GiB per call");
  if (net__preparing(env, s))
    return dv8->number(env, prep_write(s, env, data, len));
  /* Low latency: a request sent, its answer likely soon. */
  if (s->spin != NULL)
    net__keep_polling(s);
  return dv8->number(env, net__write(s, data, len));
}

/* queued(id) -> bytes waiting for the kernel. */
dv8_value_t net__js_queued(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  int err = net__arg_stream(env, call, 0, &s);
  return err ? net__reply(env, err) : dv8->number(env, (double)s->queued);
}

/* setQueueLimit(id, bytes) -> 0 | code */
dv8_value_t net__js_set_queue_limit(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  int64_t n;
  int err = net__arg_stream(env, call, 0, &s);
  if (err)
    return net__reply(env, err);
  if (dv8->arg_integer(env, call, 1, 1, INT64_MAX, &n))
    return NULL;
  s->queue_limit = (size_t)n;
  return dv8->number(env, 0);
}

void net__on_shutdown(uv_shutdown_t *req, int status) {
  stream *s = req->data;
  if (status < 0 && status != UV_ECANCELED)
    dv8->counters(&s->base)[DV8_COUNTER_ERRORS]++;
  net__emit_once(s, SLOT_ON_SHUTDOWN, status);
}

/* shutdown(id, cb(status)) -> 0 | code: half-close once queued writes are
 * done; the peer reads EOF, and can still send. */
dv8_value_t net__js_shutdown(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  dv8_value_t cb = NULL;
  int err = net__arg_stream(env, call, 0, &s);
  if (err == 0 && net__arg_callback(env, call, 1, &cb))
    err = DV8_ETYPE;
  if (err)
    return net__reply(env, err);
  if (s->kind == KIND_FILE || (s->flags & (SHUTTING | LISTENING)))
    return net__reply(env, s->kind == KIND_FILE ? UV_ENOTSUP : UV_EINVAL);
  if (net__preparing(env, s)) { /* after its writes, at its commit */
    if ((err = prep_for(s, env)) != 0)
      return net__reply(env, UV_EINVAL);
    s->flags |= SHUTDOWN_PREP;
  } else if ((err = start_shutdown(s)) != 0) {
    return net__reply(env, err);
  }
  return net__reply(env, net__bind(env, s, SLOT_ON_SHUTDOWN, cb));
}

static int start_shutdown(stream *s) {
  if (s->flags & (SHUTTING | LISTENING))
    return UV_EINVAL;
  for (int i = s->layers - 1; i >= 0; i--) /* theirs first: close_notify */
    s->link[i].ops->end(s->link[i].data);
  s->shutdown_req.data = s;
  int err = s->flags & HOLDING ? 0 /* after the held writes: at release */
                               : uv_shutdown(&s->shutdown_req, &s->uv.stream,
                                             net__on_shutdown);
  if (err == 0)
    s->flags |= SHUTTING | (s->flags & HOLDING ? SHUTDOWN_HELD : 0);
  return err;
}

/* The hold op: while on, writes wait in order (they count as queued); off
 * sends them, then a shutdown asked meanwhile. An upgrade's new process
 * holds a connection's writes until the process before has flushed its
 * own (host/upgrade.c). */
int net__hold(dv8_handle_t *h, int on) {
  stream *s = (stream *)h;
  if (on) {
    s->flags |= HOLDING;
    return 0;
  }
  if (!(s->flags & HOLDING))
    return 0;
  s->flags &= ~HOLDING;
  int err = 0;
  if (s->held_len > 0) {
    s->queued -= s->held_len; /* queue_write counts them again */
    err = queue_write(s, s->held, s->held_len);
    free(s->held);
    s->held = NULL;
    s->held_len = 0;
    if (err && s->queued == 0) /* the code waits for a drain: it fails */
      net__emit_drain(s, err);
  }
  if (err == 0 && (s->flags & SHUTDOWN_HELD)) {
    s->flags &= ~SHUTDOWN_HELD;
    err = uv_shutdown(&s->shutdown_req, &s->uv.stream, net__on_shutdown);
  }
  return err;
}
