/*
 * net: TCP (IPv4/IPv6), unix domain sockets, pipes, terminals and stdio as
 * one kind of host handle, a "stream", so that every one of them can later
 * be paused, re-wrapped in a new context, or moved to another thread or
 * process (DESIGN.md, Handles). This file: the handle type, the read path
 * and the module's init; net_write.c writes, net_sockets.c makes sockets.
 *
 * The data path allocates nothing on the JS heap: JS hands a stream its
 * read buffer once; each read calls back with the number of bytes placed at
 * its start.
 *
 * Lifetime: a stream lives from listen/connect/accept/open until its handle
 * is closed (close(), or the runtime's end). Its callbacks and read buffer
 * are the handle's slots, kept by the host (a reload swaps them for the new
 * code's) and released after free_stream. A stream over a file reads
 * synchronously from its idle handle, so no request outlives it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "dv8.h"
#include "dv8_net.h"
#include "net.h"

/* Bytes a stream may hold queued for the kernel before writes are refused.
 * A fast peer never reaches it; a slow one makes the writer wait. */
#define DEFAULT_QUEUE_LIMIT (1024 * 1024)

/* ---- calling JS ---- */

void net__emit(stream *s, unsigned slot, int argc, double value) {
  dv8->slot_emit(&s->base, slot, argc, &value);
}

void net__emit_once(stream *s, unsigned slot, int status) {
  if (!dv8->slot_bound(&s->base, slot))
    return;
  /* Unbound first: the callback may start another (a connect retried). */
  dv8_env_t *env = dv8->handle_env(&s->base);
  dv8_scope_t scope;
  dv8->scope_open(env, &scope);
  dv8_value_t fn = dv8->slot_get(&s->base, slot);
  dv8->slot_set(env, &s->base, slot, NULL);
  if (status != UV_ECANCELED) { /* closing: nobody is waiting any more */
    dv8_value_t arg = dv8->number(env, status);
    dv8->call(env, fn, NULL, 1, &arg, NULL);
  }
  dv8->scope_close(env, &scope);
}

int net__bind(dv8_env_t *env, stream *s, unsigned slot, dv8_value_t value) {
  return dv8->slot_set(env, &s->base, slot, value);
}

int net__preparing(dv8_env_t *env, stream *s) {
  return env != dv8->handle_env(&s->base);
}

dv8_value_t net__id(dv8_env_t *env, stream *s) {
  return dv8->number(env, (double)dv8->handle_id(&s->base));
}

/* ---- the handle type ---- */

/* The stream no longer uses JS's read buffer (EOF, error, close): counted
 * as freed, so that after a run buffers_allocated == buffers_freed. */
static void release_read_buffer(stream *s) {
  if (s->rbuf == NULL)
    return;
  dv8->slot_set(dv8->handle_env(&s->base), &s->base, SLOT_READ_BUFFER, NULL);
  s->rbuf = NULL;
  s->rlen = 0;
  dv8->counters(&s->base)[DV8_COUNTER_BUFFERS_FREED]++;
}

static void free_stream(dv8_handle_t *h) {
  stream *s = (stream *)h;
  release_read_buffer(s);
  if (dv8->slot_bound(h, SLOT_ON_CLOSE)) {
    /* The final counters, since the handle is gone once this returns. */
    dv8_env_t *env = dv8->handle_env(h);
    dv8_scope_t scope;
    dv8->scope_open(env, &scope);
    dv8_value_t counters = dv8->handle_counters(env, h);
    dv8->call(env, dv8->slot_get(h, SLOT_ON_CLOSE), NULL, 1, &counters, NULL);
    dv8->scope_close(env, &scope);
  }
  free(s->held);
  free(s->file_out);
  net__prep_drop(s);
  free(s);
}

/* Close has begun: what the stream started on its own goes with it. */
static void close_stream(dv8_handle_t *h) {
  stream *s = (stream *)h;
  net__release_acceptor(s);
  net__layers_close(s);
  net__stop_connect_timer(s);
  net__stop_accept_guard(s);
  if (s->spin != NULL) {
    uv_close((uv_handle_t *)s->spin, (uv_close_cb)free);
    s->spin = NULL;
  }
  if (s->file_poll != NULL) {
    uv_close((uv_handle_t *)s->file_poll, (uv_close_cb)free);
    s->file_poll = NULL;
  }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void on_read(uv_stream_t *uv, ssize_t n, const uv_buf_t *buf);
static void on_file_idle(uv_idle_t *uv);

static int stop_reading(stream *s) {
  if (s->flags & LISTENING)
    return 0;
  if (s->kind == KIND_FILE) {
    s->flags &= ~FILE_WAITING;
    net__file_poll_update(s);
    return uv_idle_stop(&s->uv.idle);
  }
  return uv_read_stop(&s->uv.stream);
}

static int start_reading(stream *s) {
  if (s->stalled) /* a layer takes no input now: it says when it does */
    return 0;
  if (s->kind == KIND_FILE)
    return uv_idle_start(&s->uv.idle, on_file_idle);
  return uv_read_start(&s->uv.stream, on_alloc, on_read);
}

int net__start_socket(stream *s) { return start_reading(s); }
int net__stop_socket(stream *s) { return stop_reading(s); }

static int pause_stream(dv8_handle_t *h) {
  stream *s = (stream *)h;
  if (!(s->flags & READING))
    return 0;
  s->flags &= ~READING;
  dv8->counters(h)[DV8_COUNTER_PAUSES]++;
  return stop_reading(s);
}

/* After a reload's commit the host has moved the stream to the new code
 * (handle_env) with the slots that code bound: the read buffer is now
 * theirs. Returns whether that happened (an abort changes nothing). */
static int adopt_bindings(stream *s) {
  dv8_env_t *env = dv8->handle_env(&s->base);
  if (s->slot_env == env)
    return 0;
  s->slot_env = env;
  uint64_t *c = dv8->counters(&s->base);
  if (s->rbuf != NULL)
    c[DV8_COUNTER_BUFFERS_FREED]++;
  s->rbuf = NULL;
  s->rlen = 0;
  void *data;
  size_t len;
  if (dv8->slot_buffer(&s->base, SLOT_READ_BUFFER, &data, &len) == 0) {
    s->rbuf = data;
    s->rlen = len;
    c[DV8_COUNTER_BUFFERS_ALLOCATED]++;
  }
  return 1;
}

/* Reads again (or, for a server, accepts again) if the code driving the
 * stream has bound a callback for it. */
static int resume_stream(dv8_handle_t *h) {
  stream *s = (stream *)h;
  if (s->flags & LISTENING) {
    if (!(s->flags & READING) && dv8->slot_bound(h, SLOT_ON_CONNECTION)) {
      s->flags |= READING;
      dv8->counters(h)[DV8_COUNTER_RESUMES]++;
      net__accept_pending(s);
    }
    return 0;
  }
  if ((s->flags & (READING | ENDED)) || s->rbuf == NULL ||
      !dv8->slot_bound(h, SLOT_ON_READ))
    return 0;
  int err = start_reading(s);
  if (err) /* e.g. ENOTCONN before a connect completes: nothing changed */
    return err;
  s->flags |= READING;
  dv8->counters(h)[DV8_COUNTER_RESUMES]++;
  struct dv8_net_link *top = net__top(s);
  if (top != NULL) /* what it decoded before the pause comes first */
    top->ops->resume(top->data);
  return 0;
}

/* The host's pause and resume, around a reload or an upgrade: a stream
 * that was reading is paused and then resumes under the code driving it
 * after (what it bound); one the code had paused itself (back-pressure: a
 * write queued) stays paused, for that code to resume on its drain; one
 * that never read starts reading if the new code asked it to. */
static int host_pause(dv8_handle_t *h) {
  stream *s = (stream *)h;
  if (s->flags & READING)
    s->flags |= HOST_PAUSED;
  s->flags |= FROZEN;
  return pause_stream(h);
}

/* A connection a server accepted whose layer was not ready (TLS
 * mid-handshake) when a reload committed, and that the new code has not
 * bound: the old code never told its JS (open waits for the layer), so no
 * state could carry it. */
static int adrift(stream *s) {
  return s->server_id != 0 && s->layers > 0 && !net__layers_ready(s) &&
         !dv8->slot_bound(&s->base, SLOT_ON_READ);
}

static void close_now(stream *s);

/* A stream whose layer has no use without the code that made it (a
 * client's pooled connection), which the new code did not bind. */
static int orphaned(stream *s) {
  if (dv8->slot_bound(&s->base, SLOT_ON_READ))
    return 0;
  for (int i = 0; i < s->layers; i++)
    if (s->link[i].ops->orphan != NULL &&
        s->link[i].ops->orphan(s->link[i].data))
      return 1;
  return 0;
}

static int host_resume(dv8_handle_t *h) {
  stream *s = (stream *)h;
  int by_host = (s->flags & HOST_PAUSED) != 0;
  int was_reader = s->rbuf != NULL || (s->flags & LISTENING);
  s->flags &= ~(HOST_PAUSED | FROZEN);
  int switched = adopt_bindings(s);
  if (s->prep_env != NULL)
    net__prep_settle(s);
  if (switched && adrift(s))
    s->flags |= ADRIFT;
  if (switched && orphaned(s)) {
    close_now(s);
    return 0;
  }
  if (s->flags & ADRIFT) {
    /* Net reads for its layer until it is ready (net__adrift_ready) or
     * fails (closed: nobody is there to be told, of a drain either). */
    s->flags &= ~DRAIN_DUE;
    if (s->flags & FAIL_DUE) {
      s->flags &= ~FAIL_DUE;
      net__close_adrift(s);
      return 0;
    }
    if (s->flags & READING)
      return 0;
    int err = start_reading(s);
    if (err == 0)
      s->flags |= READING;
    return err;
  }
  if (s->flags & FAIL_DUE) { /* it failed meanwhile: that, not reads */
    s->flags &= ~FAIL_DUE;
    net__deliver(s, s->fail_status, 0);
    return 0;
  }
  int err = 0;
  if (by_host || (switched && !was_reader))
    err = resume_stream(h);
  if (s->flags & DRAIN_DUE) {
    s->flags &= ~DRAIN_DUE;
    net__emit(s, SLOT_ON_DRAIN, 1, s->drain_status);
  }
  return err;
}

/* Whether every layer holds nothing another process would lose (an idle
 * HTTP connection goes there plain; its new code puts a layer on it). */
static int shed_all(stream *s) {
  for (int i = 0; i < s->layers; i++)
    if (s->link[i].ops->shed == NULL || !s->link[i].ops->shed(s->link[i].data))
      return 0;
  return 1;
}

static int export_stream_fd(dv8_handle_t *h, dv8_export_to_t to, int *fd) {
  stream *s = (stream *)h;
  /* A layer's state is this process's memory: it goes to a thread with
   * the stream (move_out), never to a process, unless it holds nothing
   * (an idle HTTP connection goes plain). */
  if (s->layers > 0 &&
      (to == DV8_TO_PROCESS ? !shed_all(s)
                            : s->layers > 1 || s->link[0].ops->detach == NULL))
    return UV_ENOTSUP;
  /* A server whose connections get a layer would accept plain ones in a
   * thread: the layer's configuration is this process's memory. (The new
   * process of an upgrade is told, carry_out, and waits for its code to
   * give it an acceptor.) */
  if ((s->acceptor[0] != NULL || s->acceptor[1] != NULL) && to == DV8_TO_THREAD)
    return UV_ENOTSUP;
  if (to == DV8_TO_THREAD) {
    /* A listening socket listens again in the other thread (connections
     * wait in the kernel meanwhile), unless libuv holds one it accepted
     * ahead for it (paused, or backing off at the descriptor limit): that
     * one would be lost with the handle here (docs/threads.md). */
    if ((s->flags & LISTENING) && (s->flags & ACCEPT_PENDING))
      return UV_EBUSY;
    if (s->flags & HOLDING) /* its held writes would stay behind */
      return UV_EBUSY;
  }
  if (s->kind == KIND_FILE) {
    *fd = s->fd;
    return 0;
  }
  uv_os_fd_t os_fd;
  int err = uv_fileno(&s->uv.handle, &os_fd);
  if (err == 0)
    *fd = os_fd;
  return err;
}

static size_t queued_of(dv8_handle_t *h) { return ((stream *)h)->queued; }

/* Moving to a thread: the layer's state goes with the descriptor. */
typedef struct moved_layer {
  const dv8_net_layer_ops *ops;
  void *state;
} moved_layer;

static void *stream_move_out(dv8_handle_t *h, int *err) {
  stream *s = (stream *)h;
  *err = 0;
  if (s->layers == 0)
    return NULL;
  if (s->layers > 1) { /* export_fd refused it already */
    *err = UV_ENOTSUP;
    return NULL;
  }
  moved_layer *m = malloc(sizeof(*m));
  if (m == NULL) {
    *err = UV_ENOMEM;
    return NULL;
  }
  m->ops = s->link[0].ops;
  m->state = m->ops->detach(s->link[0].data, err);
  if (m->state == NULL) {
    free(m);
    return NULL;
  }
  s->layers = 0; /* this stream closes without it */
  s->link[0].ops = NULL;
  s->link[0].data = NULL;
  return m;
}

static void stream_move_drop(void *state) {
  moved_layer *m = state;
  m->ops->drop(m->state);
  free(m);
}

static int stream_move_in(dv8_handle_t *h, void *state) {
  stream *s = (stream *)h;
  moved_layer *m = state;
  struct dv8_net_link *link;
  int err = s->layers > 0 ? UV_EBUSY : net__layer_put(s, m->ops, NULL, &link);
  if (err) {
    stream_move_drop(m);
    return err;
  }
  link->data = m->ops->adopt(m->state, s->slot_env, link);
  free(m);
  if (link->data == NULL) {
    link->ops = NULL;
    s->layers = 0;
    return UV_ENOMEM;
  }
  return 0;
}

/* An upgrade leaves a layered stream here (its state is this process's
 * memory), served by the old code until it ends. */
static const char *stream_stays(dv8_handle_t *h) {
  stream *s = (stream *)h;
  if (shed_all(s))
    return NULL;
  for (int i = 0; i < s->layers; i++) {
    const char *why = s->link[i].ops->stays(s->link[i].data);
    if (why != NULL)
      return why;
  }
  return NULL;
}

/* What the new process's server must know: its connections had a layer
 * here ("L"), so that it accepts none plain. */
static size_t stream_carry_out(dv8_handle_t *h, uint8_t *buf, size_t cap) {
  stream *s = (stream *)h;
  if ((s->acceptor[0] == NULL && s->acceptor[1] == NULL) || cap < 1)
    return 0;
  buf[0] = 'L';
  return 1;
}

static int stream_carry_in(dv8_handle_t *h, const uint8_t *data, size_t len) {
  stream *s = (stream *)h;
  if (len == 1 && data[0] == 'L' && (s->flags & LISTENING)) {
    s->flags |= NEEDS_LAYER;
    return 0;
  }
  return UV_EINVAL; /* from a dv8 that knows more than this one */
}

/* A reload waits while a layer's JS has begun what only it can finish
 * (an HTTP answer under way). */
static int stream_unfinished(dv8_handle_t *h) {
  stream *s = (stream *)h;
  for (int i = 0; i < s->layers; i++)
    if (s->link[i].ops->unfinished != NULL &&
        s->link[i].ops->unfinished(s->link[i].data))
      return 1;
  return 0;
}

static void stream_settle(dv8_handle_t *h, int on) {
  stream *s = (stream *)h;
  for (int i = 0; i < s->layers; i++)
    if (s->link[i].ops->settle != NULL)
      s->link[i].ops->settle(s->link[i].data, on);
}

static int import_stream_fd(dv8_env_t *env, int fd, dv8_handle_t **out);

static const dv8_handle_type_t stream_type = {
    DV8_HANDLE_TYPE_INIT,
    .name = "stream",
    .on_reload = DV8_CROSS_KEEP,
    .on_upgrade = DV8_CROSS_KEEP,
    .pause = host_pause,
    .resume = host_resume,
    .close = close_stream,
    .free = free_stream,
    .export_fd = export_stream_fd,
    .import_fd = import_stream_fd,
    .queued = queued_of,
    .hold = net__hold,
    .take_pending = net__take_pending,
    .give_pending = net__give_pending,
    .stays = stream_stays,
    .carry_out = stream_carry_out,
    .carry_in = stream_carry_in,
    .move_out = stream_move_out,
    .move_in = stream_move_in,
    .move_drop = stream_move_drop,
    .unfinished = stream_unfinished,
    .settle = stream_settle,
};

/* ---- creating streams ---- */

void net__on_unregistered_close(uv_handle_t *h) { free(h->data); }

int net__add_stream(dv8_env_t *env, stream *s) {
  s->queue_limit = DEFAULT_QUEUE_LIMIT;
  s->slot_env = env;
  int err = dv8->handle_register(env, &s->base, &stream_type, &s->uv.handle);
  if (err) {
    s->uv.handle.data = s;
    uv_close(&s->uv.handle, net__on_unregistered_close);
  }
  return err;
}

stream *net__new_stream(int kind) {
  stream *s = calloc(1, sizeof(*s));
  if (s != NULL) {
    s->kind = kind;
    s->fd = -1;
  }
  return s;
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  stream *s = (stream *)h->data;
  /* A read posted for JS and not given to it yet still fills the buffer
   * (libuv polled again in the same phase, past 1024 ready descriptors):
   * nothing is read now (on_read is told UV_ENOBUFS), the kernel keeps
   * the bytes for the next iteration. */
  if (dv8->slot_posted(&s->base)) {
    *buf = uv_buf_init(NULL, 0);
    return;
  }
  if (s->layers > 0) {
    *buf = uv_buf_init(s->lbuf, NET_LAYER_BUF);
    return;
  }
  *buf = uv_buf_init(s->rbuf, (unsigned int)s->rlen);
}

/* Delivers n (> 0 bytes, UV_EOF, or an error) to onRead. A read that did
 * not fill the buffer is posted (may_post): libuv reads that socket no
 * more in this poll, and the reads of every socket the poll found ready
 * reach JS in one call at its end. A full buffer goes at once, since
 * libuv reads into it again straight away. */
static void deliver(stream *s, ssize_t n, int may_post) {
  /* A read posted before this one, or before its EOF (libuv reports a
   * hang-up right after a partial read), reaches JS first, with the
   * stream as it was. */
  int behind = 0;
  if (dv8->slot_posted(&s->base)) {
    dv8->posted_deliver(dv8->handle_env(&s->base));
    if (uv_is_closing(&s->uv.handle))
      return;
    /* Still waiting: JS called in (a layer decoding on its resume), and
     * the batch goes once that call returns. This one follows it there,
     * an end included, never ahead of the bytes before it. */
    behind = dv8->slot_posted(&s->base);
    /* Its handler paused the stream: the EOF waits for reading to resume,
     * when the kernel reports it again, as it would have without the
     * batch (libuv had stopped reading to report it). */
    if (!behind && n == UV_EOF && !(s->flags & READING))
      return;
  }
  uint64_t *c = dv8->counters(&s->base);
  if (n > 0) {
    c[DV8_COUNTER_READS]++;
    c[DV8_COUNTER_BYTES_READ] += (uint64_t)n;
  } else {
    c[n == UV_EOF ? DV8_COUNTER_ENDS : DV8_COUNTER_ERRORS]++;
    s->flags |= ENDED;
    s->flags &= ~READING;
    stop_reading(s);
    /* Nothing more lands in the buffer (no read is in flight here), and
     * JS still holds it: the stream's use of it ends now. */
    release_read_buffer(s);
  }
  if ((behind || (may_post && n > 0 && (size_t)n < s->rlen)) &&
      dv8->slot_post(&s->base, SLOT_ON_READ, (double)n) == 0)
    return;
  net__emit(s, SLOT_ON_READ, 1, (double)n);
}

void net__deliver(stream *s, ssize_t n, int may_post) {
  deliver(s, n, may_post);
}

/* Low latency (setLowLatency): after data arrives the loop keeps polling
 * (an active idle handle makes libuv's poll not block) for a while
 * instead of sleeping in epoll, because on a request/response channel the
 * next message often comes within microseconds and a process woken from
 * sleep costs tens of them. The window adapts as threads' ports do: it
 * doubles (to SPIN_MAX_NS) while data keeps coming within it, halves (to
 * SPIN_MIN_NS) when it runs out, so sparse traffic pays little. Only while
 * a CPU is spare (the host's cpu_spare): on a busy machine the polling
 * would take the CPU that the peer's reply needs. */
#define SPIN_MIN_NS 25000
#define SPIN_MAX_NS 400000

static void on_spin(uv_idle_t *idle) {
  stream *s = (stream *)idle->data;
  if (!dv8->cpu_spare(0)) { /* the machine got busy: sleep in epoll */
    uv_idle_stop(idle);
    return;
  }
  if (uv_hrtime() > s->spin_until) {
    if (s->spin_ns > SPIN_MIN_NS)
      s->spin_ns /= 2;
    uv_idle_stop(idle);
  }
}

void net__keep_polling(stream *s) {
  uint64_t now = uv_hrtime();
  if (uv_is_active((uv_handle_t *)s->spin)) {
    if (now <= s->spin_until && s->spin_ns < SPIN_MAX_NS)
      s->spin_ns *= 2;
  } else {
    if (!dv8->cpu_spare(1))
      return;
    uv_idle_start(s->spin, on_spin);
  }
  s->spin_until = now + s->spin_ns;
}

static void on_read(uv_stream_t *uv, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  stream *s = (stream *)uv->data;
  if (n > 0 && s->spin != NULL)
    net__keep_polling(s);
  if (n == UV_ENOBUFS && buf->len == 0) /* on_alloc held back: not an error */
    return;
  if (s->layers > 0) { /* bytes from below are the layers' */
    if (n != 0)
      s->link[0].ops->on_read(s->link[0].data, s->lbuf, n);
    return;
  }
  if (n != 0) /* 0 is EAGAIN: nothing to report */
    deliver(s, n, 1);
}

/* KIND_FILE: a device that said EAGAIN is waited for with a poll handle
 * (readable while a read waits, writable while writes wait) instead of
 * retrying it every loop iteration, which would spin a core. */
static void on_file_poll(uv_poll_t *p, int status, int events) {
  stream *s = (stream *)p->data;
  if (status < 0)
    events = UV_READABLE | UV_WRITABLE; /* let read and write see the error */
  if ((events & UV_READABLE) && (s->flags & FILE_WAITING)) {
    s->flags &= ~FILE_WAITING;
    if (s->flags & READING)
      uv_idle_start(&s->uv.idle, on_file_idle);
  }
  if ((events & UV_WRITABLE) && s->file_out_len > 0)
    net__file_writable(s);
  net__file_poll_update(s);
}

int net__file_poll_update(stream *s) {
  int events = ((s->flags & FILE_WAITING) ? UV_READABLE : 0) |
               (s->file_out_len > 0 ? UV_WRITABLE : 0);
  if (events == 0)
    return s->file_poll != NULL ? uv_poll_stop(s->file_poll) : 0;
  if (s->file_poll == NULL) {
    s->file_poll = malloc(sizeof(*s->file_poll));
    if (s->file_poll == NULL)
      return UV_ENOMEM;
    int err =
        uv_poll_init(dv8->loop(dv8->handle_env(&s->base)), s->file_poll, s->fd);
    if (err) { /* a regular file: epoll refuses it, and it never waits */
      free(s->file_poll);
      s->file_poll = NULL;
      return err;
    }
    s->file_poll->data = s;
  }
  return uv_poll_start(s->file_poll, events, on_file_poll);
}

/* Files (stdin redirected from one, or a device like /dev/zero) are read
 * synchronously, one read per loop iteration, from the idle handle: a read
 * of a file never waits for another process, and this costs neither a
 * thread-pool round trip nor a request that could outlive the stream. */
static void on_file_idle(uv_idle_t *uv) {
  stream *s = (stream *)uv->data;
  /* Several reads per loop iteration, as libuv does for sockets: fewer
   * iterations (each polls the kernel), other events still get their turn. */
  for (int i = 0; i < 32 && (s->flags & READING); i++) {
    ssize_t n = read(s->fd, s->rbuf, s->rlen);
    int code = n < 0 ? -errno : 0;
    if (code == UV_EINTR)
      return; /* again next iteration */
    if (code == UV_EAGAIN) {
      s->flags |= FILE_WAITING;
      code = net__file_poll_update(s);
      if (code == 0) {
        uv_idle_stop(uv);
        return;
      }
      s->flags &= ~FILE_WAITING; /* cannot wait for it: reading ends */
    }
    deliver(s, n == 0 ? UV_EOF : code != 0 ? code : n, 0);
  }
}

/* ---- arguments ---- */

dv8_value_t net__reply(dv8_env_t *env, int err) {
  if (err == DV8_ETYPE || err == DV8_EEXCEPTION)
    return NULL;
  return dv8->number(env, err);
}

int net__arg_stream(dv8_env_t *env, dv8_call_t *call, int i, stream **out) {
  return dv8->arg_handle(env, call, i, &stream_type, (dv8_handle_t **)out);
}

int net__arg_callback(dv8_env_t *env, dv8_call_t *call, int i,
                      dv8_value_t *out) {
  dv8_type_t t = dv8->type_of(env, dv8->arg(call, i));
  if (t == DV8_TYPE_UNDEFINED || t == DV8_TYPE_NULL) {
    *out = NULL;
    return 0;
  }
  return dv8->arg_function(env, call, i, out);
}

/* A stream over fd, whatever it is (terminal, pipe, socket, file),
 * registered in env's thread; 0 or a code (fd is then not taken). */
static int open_fd(dv8_env_t *env, int fd, stream **out) {
  int kind;
  switch (uv_guess_handle(fd)) {
  case UV_TTY:
    kind = KIND_TTY;
    break;
  case UV_NAMED_PIPE:
    kind = KIND_PIPE;
    break;
  case UV_TCP:
    kind = KIND_TCP;
    break;
  case UV_FILE:
    kind = KIND_FILE;
    break;
  default:
    return UV_EINVAL;
  }
  stream *s = net__new_stream(kind);
  if (s == NULL)
    return UV_ENOMEM;
  uv_loop_t *loop = dv8->loop(env);
  int err = kind == KIND_TTY    ? uv_tty_init(loop, &s->uv.tty, fd, fd == 0)
            : kind == KIND_PIPE ? uv_pipe_init(loop, &s->uv.pipe, 0)
            : kind == KIND_TCP  ? uv_tcp_init(loop, &s->uv.tcp)
                                : uv_idle_init(loop, &s->uv.idle);
  if (err) {
    free(s);
    return err;
  }
  if (kind == KIND_PIPE || kind == KIND_TCP) {
    err = kind == KIND_PIPE ? uv_pipe_open(&s->uv.pipe, fd)
                            : uv_tcp_open(&s->uv.tcp, fd);
    if (err) {
      s->uv.handle.data = s;
      uv_close(&s->uv.handle, net__on_unregistered_close);
      return err;
    }
  }
  s->fd = fd;
  if ((err = net__add_stream(env, s)))
    return err;
  *out = s;
  return 0;
}

/* open(fd) -> id | code: stdin, stdout, stderr or any descriptor, whatever
 * it is (terminal, pipe, socket, file). Closing the stream closes fd. */
static dv8_value_t js_open(dv8_env_t *env, dv8_call_t *call) {
  int64_t fd;
  if (dv8->arg_integer(env, call, 0, 0, INT32_MAX, &fd))
    return NULL;
  stream *s;
  int err = open_fd(env, (int)fd, &s);
  if (err)
    return net__reply(env, err);
  return net__id(env, s);
}

/* A stream moved here from another thread or process: its descriptor,
 * reopened in this thread's loop. A listening socket listens again (its
 * connections wait in the kernel until the code binds onConnection). */
static int import_stream_fd(dv8_env_t *env, int fd, dv8_handle_t **out) {
  int listening = 0;
  socklen_t len = sizeof(listening);
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0)
    listening = 0;
  stream *s;
  int err = open_fd(env, fd, &s);
  if (err == 0 && listening && (err = net__listen_imported(s)) != 0)
    dv8->handle_close(&s->base);
  if (err == 0)
    *out = &s->base;
  return err;
}

/* ---- the data path ---- */

/* readStart(id, buffer, onRead(n)) -> 0 | code. n > 0: bytes at the start
 * of buffer, valid until onRead returns; n < 0: EOF or an error, after
 * which reading has stopped. */
static dv8_value_t js_read_start(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  void *data;
  size_t len;
  dv8_value_t cb;
  int err = net__arg_stream(env, call, 0, &s);
  if (err)
    return net__reply(env, err);
  if (dv8->arg_buffer(env, call, 1, &data, &len) ||
      dv8->arg_function(env, call, 2, &cb))
    return NULL;
  if (len == 0 || len > UINT32_MAX)
    return dv8->throw_range_error(
        env, "readStart: buffer must hold 1 byte to 4 GiB");
  if (s->flags & LISTENING)
    return net__reply(env, UV_EINVAL);
  if ((err = net__bind(env, s, SLOT_READ_BUFFER, dv8->arg(call, 1))) ||
      (err = net__bind(env, s, SLOT_ON_READ, cb)))
    return net__reply(env, err);
  if (net__preparing(env, s)) /* the new code's, from its commit on */
    return dv8->number(env, 0);
  if (s->rbuf != NULL)
    dv8->counters(&s->base)[DV8_COUNTER_BUFFERS_FREED]++;
  dv8->counters(&s->base)[DV8_COUNTER_BUFFERS_ALLOCATED]++;
  s->rbuf = data;
  s->rlen = len;
  if (s->flags & READING) {
    /* A new buffer while reading: libuv asks on_alloc for it next time. */
    return dv8->number(env, 0);
  }
  return net__reply(env, resume_stream(&s->base));
}

/* pause(id) / resume(id) -> 0 | code: reads stop at the libuv level; the
 * kernel keeps the bytes. */
static dv8_value_t js_pause(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  int err = net__arg_stream(env, call, 0, &s);
  return net__reply(env, err ? err : pause_stream(&s->base));
}

static dv8_value_t js_resume(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  int err = net__arg_stream(env, call, 0, &s);
  return net__reply(env, err ? err : resume_stream(&s->base));
}

int net__arg_rebind(dv8_env_t *env, dv8_call_t *call, unsigned flag, stream **s,
                    dv8_value_t *cb) {
  int err = net__arg_stream(env, call, 0, s);
  if (err == 0 && dv8->arg_function(env, call, 1, cb))
    err = DV8_ETYPE;
  if (err == 0 && !((*s)->flags & flag))
    err = UV_EINVAL;
  return err;
}

/* Arguments (id, callback or undefined): 0, or DV8_ETYPE (thrown) or
 * DV8_ECLOSED. */
static int arg_stream_and_callback(dv8_env_t *env, dv8_call_t *call, stream **s,
                                   dv8_value_t *cb) {
  int err = net__arg_stream(env, call, 0, s);
  if (err == 0 && net__arg_callback(env, call, 1, cb))
    err = DV8_ETYPE;
  return err;
}

/* onDrain(id, cb(status)): called when the write queue empties (0) or a
 * queued write failed (a code). */
static dv8_value_t js_on_drain(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  dv8_value_t cb;
  int err = arg_stream_and_callback(env, call, &s, &cb);
  return net__reply(env, err ? err : net__bind(env, s, SLOT_ON_DRAIN, cb));
}

/* onLayer(id, cb(what, value)): the events of a layer over the stream
 * (tls: its handshake done, ...). */
static dv8_value_t js_on_layer(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  dv8_value_t cb;
  int err = arg_stream_and_callback(env, call, &s, &cb);
  return net__reply(env, err ? err : net__bind(env, s, SLOT_ON_LAYER, cb));
}

/* onConnection(server, cb(id)): a server's callback, replaced; the way the
 * code a reload loads takes a server over (docs/reload.md). */
static dv8_value_t js_on_connection(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  dv8_value_t cb;
  int err = net__arg_rebind(env, call, LISTENING, &s, &cb);
  if (err)
    return net__reply(env, err);
  int first = !dv8->slot_bound(&s->base, SLOT_ON_CONNECTION);
  if ((err = net__bind(env, s, SLOT_ON_CONNECTION, cb)))
    return net__reply(env, err);
  /* A server taken over from another process accepts from its first
   * binding on (one the code paused stays paused). */
  if (first && !net__preparing(env, s) && !(s->flags & FROZEN))
    err = resume_stream(&s->base);
  return net__reply(env, err);
}

/* Reading stops (not a pause: the counters keep pauses for back-pressure)
 * and the stream closes. */
static void close_now(stream *s) {
  if (s->flags & READING) {
    s->flags &= ~READING;
    stop_reading(s);
  }
  release_read_buffer(s);
  dv8->handle_close(&s->base);
}

/* close(id, cb(counters)) -> 0 | code. Queued writes are dropped
 * (cancelled); cb gets the stream's final counters. */
static dv8_value_t js_close(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  dv8_value_t cb;
  int err = arg_stream_and_callback(env, call, &s, &cb);
  if (err)
    return net__reply(env, err);
  if ((err = net__bind(env, s, SLOT_ON_CLOSE, cb)))
    return net__reply(env, err);
  close_now(s);
  return dv8->number(env, 0);
}

void net__close_adrift(stream *s) {
  s->flags &= ~ADRIFT;
  close_now(s);
}

void net__adrift_ready(stream *s) {
  s->flags &= ~ADRIFT;
  dv8_handle_t *h = dv8->handle_find(dv8->handle_env(&s->base), s->server_id);
  stream *server = (stream *)h;
  /* A frozen server (an upgrade handing it over) runs no JS: the
   * connection goes, as one refused. */
  if (h == NULL || dv8->handle_type(h) != &stream_type ||
      !(server->flags & LISTENING) || (server->flags & FROZEN) ||
      !dv8->slot_bound(h, SLOT_ON_CONNECTION)) {
    net__close_adrift(s);
    return;
  }
  dv8->counters(h)[DV8_COUNTER_EVENTS]++;
  net__emit(server, SLOT_ON_CONNECTION, 1, (double)dv8->handle_id(&s->base));
  /* Code that did not start reading it reads when it does: until then the
   * kernel keeps its bytes. */
  if (!uv_is_closing(&s->uv.handle) && !dv8->slot_bound(&s->base, SLOT_ON_READ))
    pause_stream(&s->base);
}

/* counters(id) -> { bytes_read, bytes_written, reads, writes, ... } */
static dv8_value_t js_counters(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  int err = net__arg_stream(env, call, 0, &s);
  return err ? net__reply(env, err) : dv8->handle_counters(env, &s->base);
}

/* kind(id) -> 'tcp' | 'pipe' | 'tty' | 'file' */
static dv8_value_t js_kind(dv8_env_t *env, dv8_call_t *call) {
  static const char *const kinds[] = {"tcp", "pipe", "tty", "file"};
  stream *s;
  int err = net__arg_stream(env, call, 0, &s);
  return err ? net__reply(env, err)
             : dv8->string(env, kinds[s->kind], SIZE_MAX);
}

/* setLowLatency(id, on): after data arrives, poll for up to 400 us before
 * sleeping (see on_spin): for request/response channels. */
static dv8_value_t js_set_low_latency(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  int err = net__arg_stream(env, call, 0, &s);
  if (err)
    return net__reply(env, err);
  int on = dv8->to_bool(env, dv8->arg(call, 1));
  if (on && s->spin == NULL) {
    s->spin = malloc(sizeof(*s->spin));
    if (s->spin == NULL)
      return net__reply(env, UV_ENOMEM);
    uv_idle_init(dv8->loop(env), s->spin);
    uv_unref((uv_handle_t *)s->spin); /* never keeps the loop alive */
    s->spin->data = s;
    s->spin_ns = 2 * SPIN_MIN_NS;
  } else if (!on && s->spin != NULL) {
    uv_close((uv_handle_t *)s->spin, (uv_close_cb)free);
    s->spin = NULL;
  }
  return dv8->number(env, 0);
}

/* isServer(id): whether a stream is a listening socket (a reload's new
 * code sorting state.handles into servers and connections). */
static dv8_value_t js_is_server(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  int err = net__arg_stream(env, call, 0, &s);
  return err ? net__reply(env, err)
             : dv8->boolean(env, (s->flags & LISTENING) != 0);
}

/* error(code, what?) -> an Error with .code (its name) and .errno (code),
 * made where every system error is (the object layer's errors). */
static dv8_value_t js_error(dv8_env_t *env, dv8_call_t *call) {
  int64_t code;
  if (dv8->arg_integer(env, call, 0, INT32_MIN, -1, &code))
    return NULL;
  char *what = NULL;
  if (dv8->argc(call) > 1 &&
      dv8->type_of(env, dv8->arg(call, 1)) != DV8_TYPE_UNDEFINED &&
      dv8->arg_string(env, call, 1, &what, NULL))
    return NULL;
  dv8_value_t err = dv8->error(env, (int)code, what);
  free(what);
  return err;
}

/* errname(code) / strerror(code) */
static dv8_value_t js_errname(dv8_env_t *env, dv8_call_t *call) {
  int64_t code;
  if (dv8->arg_integer(env, call, 0, INT32_MIN, INT32_MAX, &code))
    return NULL;
  const char *text = dv8->call_data(call) ? dv8->strerror((int)code)
                                          : dv8->err_name((int)code);
  return dv8->string(env, text, SIZE_MAX);
}

static int net_init(dv8_env_t *env, dv8_value_t exports) {
  net__layer_offer();
  static const struct {
    const char *name;
    dv8_function_cb fn;
  } functions[] = {
      {"listen", net__js_listen},
      {"listenUnix", net__js_listen_unix},
      {"listenFd", net__js_listen_fd},
      {"connect", net__js_connect},
      {"connectUnix", net__js_connect_unix},
      {"onConnect", net__js_on_connect},
      {"open", js_open},
      {"readStart", js_read_start},
      {"write", net__js_write},
      {"pause", js_pause},
      {"resume", js_resume},
      {"onDrain", js_on_drain},
      {"onLayer", js_on_layer},
      {"layered", net__js_layered},
      {"layerReason", net__js_layer_reason},
      {"onConnection", js_on_connection},
      {"queued", net__js_queued},
      {"setQueueLimit", net__js_set_queue_limit},
      {"shutdown", net__js_shutdown},
      {"close", js_close},
      {"setNoDelay", net__js_set_no_delay},
      {"setKeepAlive", net__js_set_keep_alive},
      {"address", net__js_address},
      {"peer", net__js_peer},
      {"counters", js_counters},
      {"kind", js_kind},
      {"isServer", js_is_server},
      {"setLowLatency", js_set_low_latency},
      {"errname", js_errname},
      {"error", js_error},
  };
  for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
    int err = dv8->set_function(env, exports, functions[i].name,
                                functions[i].fn, NULL);
    if (err)
      return err;
  }
  int err = dv8->set_function(env, exports, "strerror", js_errname, "");
  static const struct {
    const char *name;
    int value;
  } constants[] = {
      {"EOF", UV_EOF},
      {"DONE", WRITE_DONE},
      {"QUEUED", WRITE_QUEUED},
      {"EFULL", DV8_EFULL},
      {"ECLOSED", DV8_ECLOSED},
      {"EPIPE", UV_EPIPE},
      {"ECONNRESET", UV_ECONNRESET},
      {"ECONNREFUSED", UV_ECONNREFUSED},
      {"EADDRINUSE", UV_EADDRINUSE},
      {"ETIMEDOUT", UV_ETIMEDOUT},
  };
  for (size_t i = 0; !err && i < sizeof(constants) / sizeof(constants[0]); i++)
    err = dv8->set_number(env, exports, constants[i].name, constants[i].value);
  return err;
}

static const dv8_handle_type_t *const net_types[] = {&stream_type, NULL};

DV8_MODULE_TYPES(net, net_init, net_types, NULL);
/* The object layer (Server, Socket) over the functions above. */
DV8_MODULE_JS("modules/net/net.js");
