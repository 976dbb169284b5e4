/*
 * net: TCP (IPv4/IPv6), unix domain sockets, pipes, terminals and stdio as
 * one kind of host handle, a "stream", so that every one of them can later
 * be paused, re-wrapped in a new context, or moved to another thread or
 * process (DESIGN.md, Handles).
 *
 * The data path allocates nothing on the JS heap: JS hands a stream its
 * read buffer once; each read calls back with the number of bytes placed at
 * its start. write(id, buffer, length) tries the kernel first and copies
 * only what the kernel did not take into a native buffer queued behind it.
 * The queue is bounded: past its limit a write is refused (DV8_EFULL) and
 * the caller waits for the drain callback.
 *
 * Lifetime: a stream lives from listen/connect/accept/open until its handle
 * is closed (close(), or the runtime's end); its callbacks and read buffer
 * are references released in free_stream. Queued write buffers are freed
 * when their write completes or fails (libuv fails them with UV_ECANCELED
 * when the handle closes first). A stream over a file reads synchronously
 * from its idle handle, so no request outlives it.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "dv8.h"
#include "net.h"

/* Bytes a stream may hold queued for the kernel before writes are refused.
 * A fast peer never reaches it; a slow one makes the writer wait. */
#define DEFAULT_QUEUE_LIMIT (1024 * 1024)

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

/* ---- calling JS ---- */

/* Calls the callback held by ref with one number (or none when argc is 0),
 * from a libuv callback. */
void net__emit(stream *s, dv8_ref_t *ref, int argc, double value) {
  if (ref == NULL)
    return;
  dv8_env_t *env = s->base.env;
  dv8_scope_t scope;
  dv8->scope_open(env, &scope);
  dv8_value_t arg = dv8->number(env, value);
  dv8->call(env, dv8->ref_get(env, ref), NULL, argc, &arg, NULL);
  dv8->scope_close(env, &scope);
}

void net__emit_once(stream *s, dv8_ref_t **slot, int status) {
  dv8_ref_t *ref = *slot;
  *slot = NULL;
  if (status != UV_ECANCELED) /* closing: nobody is waiting any more */
    net__emit(s, ref, 1, status);
  dv8->ref_free(ref);
}

void net__set_ref(dv8_env_t *env, dv8_ref_t **slot, dv8_value_t value) {
  dv8->ref_free(*slot);
  *slot = value ? dv8->ref_new(env, value) : NULL;
}

/* ---- the handle type ---- */

/* The stream no longer uses JS's read buffer (EOF, error, close): counted
 * as freed, so that after a run buffers_allocated == buffers_freed. */
static void release_read_buffer(stream *s) {
  if (s->read_buffer == NULL)
    return;
  dv8->ref_free(s->read_buffer);
  s->read_buffer = NULL;
  s->rbuf = NULL;
  s->rlen = 0;
  s->base.counters[DV8_COUNTER_BUFFERS_FREED]++;
}

static void drop_pending(stream *s) {
  dv8_ref_t **refs[] = {&s->pending.read_buffer, &s->pending.on_read,
                        &s->pending.on_drain, &s->pending.on_connection};
  for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
    dv8->ref_free(*refs[i]);
    *refs[i] = NULL;
  }
  s->pending.env = NULL;
}

static void free_stream(dv8_handle_t *h) {
  stream *s = (stream *)h;
  if (s->spin != NULL)
    uv_close((uv_handle_t *)s->spin, (uv_close_cb)free);
  dv8_ref_t *on_close = s->on_close;
  s->on_close = NULL;
  release_read_buffer(s);
  if (on_close != NULL) {
    /* The final counters, since the handle is gone once this returns. */
    dv8_env_t *env = h->env;
    dv8_scope_t scope;
    dv8->scope_open(env, &scope);
    dv8_value_t counters = dv8->handle_counters(env, h);
    dv8->call(env, dv8->ref_get(env, on_close), NULL, 1, &counters, NULL);
    dv8->scope_close(env, &scope);
    dv8->ref_free(on_close);
  }
  free(s->held);
  drop_pending(s);
  dv8_ref_t **refs[] = {&s->on_read, &s->on_drain, &s->on_connect,
                        &s->on_connection, &s->on_shutdown};
  for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++)
    dv8->ref_free(*refs[i]);
  free(s);
}

static dv8_value_t wrap_stream(dv8_env_t *env, dv8_handle_t *h) {
  return dv8->number(env, h->id);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void on_read(uv_stream_t *uv, ssize_t n, const uv_buf_t *buf);
static void on_file_idle(uv_idle_t *uv);

static int stop_reading(stream *s) {
  if (s->flags & LISTENING)
    return 0;
  if (s->kind == KIND_FILE)
    return uv_idle_stop(&s->uv.idle);
  return uv_read_stop(&s->uv.stream);
}

static int start_reading(stream *s) {
  if (s->kind == KIND_FILE)
    return uv_idle_start(&s->uv.idle, on_file_idle);
  return uv_read_start(&s->uv.stream, on_alloc, on_read);
}

static int pause_stream(dv8_handle_t *h) {
  stream *s = (stream *)h;
  if (!(s->flags & READING))
    return 0;
  s->flags &= ~READING;
  h->counters[DV8_COUNTER_PAUSES]++;
  return stop_reading(s);
}

/* Whether env is the code a reload is loading (not the stream's context
 * yet); if so, s's pending slot is made ready for env's bindings. */
static int preparing(stream *s, dv8_env_t *env) {
  if (env == s->base.env)
    return 0;
  if (s->pending.env != env)
    drop_pending(s);
  s->pending.env = env;
  return 1;
}

/* After a reload's commit the host has moved the stream to the new context
 * (h->env) and resumes it: the old code's callbacks go, the new code's take
 * their place (or, if it bound none, the stream stays paused: the kernel
 * keeps the bytes until it calls readStart). After an abort h->env did not
 * change: what the discarded code asked for goes. Returns whether reading
 * may resume. */
static int switch_slots(stream *s) {
  dv8_env_t *env = s->base.env;
  if (s->slot_env == env) {
    if (s->pending.env != NULL)
      drop_pending(s); /* an aborted reload's */
    return 1;
  }
  release_read_buffer(s);
  dv8_ref_t **live[] = {&s->on_read,    &s->on_drain,    &s->on_connection,
                        &s->on_connect, &s->on_shutdown, &s->on_close};
  for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
    dv8->ref_free(*live[i]);
    *live[i] = NULL;
  }
  s->slot_env = env;
  if (s->pending.env != env) {
    drop_pending(s);
    s->flags &= ~READING;
    return 0;
  }
  s->read_buffer = s->pending.read_buffer;
  s->rbuf = s->pending.rbuf;
  s->rlen = s->pending.rlen;
  s->on_read = s->pending.on_read;
  s->on_drain = s->pending.on_drain;
  s->on_connection = s->pending.on_connection;
  if (s->read_buffer != NULL)
    s->base.counters[DV8_COUNTER_BUFFERS_ALLOCATED]++;
  s->pending.read_buffer = s->pending.on_read = s->pending.on_drain =
      s->pending.on_connection = NULL;
  s->pending.env = NULL;
  s->flags &= ~READING;
  return s->on_read != NULL || s->on_connection != NULL;
}

static int resume_stream(dv8_handle_t *h) {
  stream *s = (stream *)h;
  if (!switch_slots(s))
    return 0;
  if ((s->flags & LISTENING) && !(s->flags & READING)) {
    s->flags |= READING;
    h->counters[DV8_COUNTER_RESUMES]++;
    net__accept_pending(s);
    return 0;
  }
  if ((s->flags & READING) || s->on_read == NULL || (s->flags & ENDED))
    return 0;
  int err = start_reading(s);
  if (err) /* e.g. ENOTCONN before a connect completes: nothing changed */
    return err;
  s->flags |= READING;
  h->counters[DV8_COUNTER_RESUMES]++;
  return 0;
}

/* The host's pause and resume, around a reload: a stream that was reading
 * is paused and then resumes under the code driving it after (what it
 * bound, see switch_slots); one the code had paused itself (back-pressure:
 * a write queued) stays paused, for that code to resume on its drain; one
 * that never read starts reading if the new code asked it to. */
static int host_pause(dv8_handle_t *h) {
  stream *s = (stream *)h;
  if (s->flags & READING)
    s->flags |= HOST_PAUSED;
  s->flags |= FROZEN;
  return pause_stream(h);
}

static int host_resume(dv8_handle_t *h) {
  stream *s = (stream *)h;
  int by_host = (s->flags & HOST_PAUSED) != 0;
  int bound = s->on_read != NULL || s->on_connection != NULL;
  s->flags &= ~(HOST_PAUSED | FROZEN);
  int err = 0;
  if (!by_host && bound)
    switch_slots(s);
  else
    err = resume_stream(h);
  if (s->flags & DRAIN_DUE) {
    s->flags &= ~DRAIN_DUE;
    net__emit(s, s->on_drain, 1, s->drain_status);
  }
  return err;
}

static int export_stream_fd(dv8_handle_t *h, int *fd) {
  stream *s = (stream *)h;
  /* A listening socket reopened elsewhere would need its accept callback
   * there too: not yet (see docs/threads.md, Limits). */
  if (s->flags & LISTENING)
    return UV_ENOTSUP;
  if (s->flags & HOLDING) /* its held writes would stay behind */
    return UV_EBUSY;
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

static int import_stream_fd(dv8_env_t *env, int fd, dv8_handle_t **out);

static const dv8_handle_type_t stream_type = {
    "stream",    wrap_stream,      host_pause,       host_resume,
    free_stream, export_stream_fd, import_stream_fd,
};

/* ---- creating streams ---- */

void net__on_unregistered_close(uv_handle_t *h) { free(h->data); }

/* Registers a stream whose uv handle is initialised; on failure closes it
 * and returns the error (the struct is freed once libuv is done). */
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
  *buf = uv_buf_init(s->rbuf, (unsigned int)s->rlen);
}

/* Delivers n (> 0 bytes, UV_EOF, or an error) to onRead. */
static void deliver(stream *s, ssize_t n) {
  if (n > 0) {
    s->base.counters[DV8_COUNTER_READS]++;
    s->base.counters[DV8_COUNTER_BYTES_READ] += (uint64_t)n;
  } else {
    s->base.counters[n == UV_EOF ? DV8_COUNTER_ENDS : DV8_COUNTER_ERRORS]++;
    s->flags |= ENDED;
    s->flags &= ~READING;
    stop_reading(s);
    /* Nothing more lands in the buffer (no read is in flight here), and
     * JS still holds it: the stream's use of it ends now. */
    release_read_buffer(s);
  }
  net__emit(s, s->on_read, 1, (double)n);
}

/* Low latency (setLowLatency): after data arrives the loop keeps polling
 * (an active idle handle makes libuv's poll not block) for a while
 * instead of sleeping in epoll, because on a request/response channel the
 * next message often comes within microseconds and a process woken from
 * sleep costs tens of them. The window adapts as threads' ports do: it
 * doubles (to SPIN_MAX_NS) while data keeps coming within it, halves (to
 * SPIN_MIN_NS) when it runs out, so sparse traffic pays little. */
#define SPIN_MIN_NS 25000
#define SPIN_MAX_NS 400000

static void on_spin(uv_idle_t *idle) {
  stream *s = (stream *)idle->data;
  if (uv_hrtime() > s->spin_until) {
    if (s->spin_ns > SPIN_MIN_NS)
      s->spin_ns /= 2;
    uv_idle_stop(idle);
  }
}

/* Data came in or went out: poll for the window before sleeping. */
static void keep_polling(stream *s) {
  uint64_t now = uv_hrtime();
  if (uv_is_active((uv_handle_t *)s->spin)) {
    if (now <= s->spin_until && s->spin_ns < SPIN_MAX_NS)
      s->spin_ns *= 2;
  } else {
    uv_idle_start(s->spin, on_spin);
  }
  s->spin_until = now + s->spin_ns;
}

static void on_read(uv_stream_t *uv, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  stream *s = (stream *)uv->data;
  if (n > 0 && s->spin != NULL)
    keep_polling(s);
  if (n != 0) /* 0 is EAGAIN: nothing to report */
    deliver(s, n);
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
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
      return; /* try again next iteration */
    deliver(s, n == 0 ? UV_EOF : n < 0 ? -errno : n);
  }
}

/* ---- writing ---- */

/* onDrain, or, while the host has the stream frozen, later (host_resume):
 * the code is not to run then. */
static void emit_drain(stream *s, int status) {
  if (s->flags & FROZEN) {
    s->flags |= DRAIN_DUE;
    s->drain_status = status;
    return;
  }
  net__emit(s, s->on_drain, 1, status);
}

static void on_write(uv_write_t *req, int status) {
  write_req *w = (write_req *)req;
  stream *s = w->s;
  size_t len = w->len;
  free(w);
  s->queued -= len;
  s->base.counters[DV8_COUNTER_BUFFERS_FREED]++;
  if (status < 0) {
    s->base.counters[DV8_COUNTER_ERRORS]++;
    if (status != UV_ECANCELED) /* closing: nobody is waiting */
      emit_drain(s, status);
    return;
  }
  s->base.counters[DV8_COUNTER_BYTES_WRITTEN] += len;
  if (s->queued == 0)
    emit_drain(s, 0);
}

/* Writes to a regular file (stdout redirected to one): synchronous, as the
 * kernel never makes a file write wait for a reader. */
static int write_file(stream *s, const char *data, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(s->fd, data + done, len - done);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN) {
        struct pollfd p = {s->fd, POLLOUT, 0};
        poll(&p, 1, -1);
        continue;
      }
      return -errno;
    }
    done += (size_t)n;
  }
  return 0;
}

/* Queues what the kernel did not take. The bytes are copied: JS may reuse
 * its buffer as soon as write() returns. */
static int queue_write(stream *s, const char *data, size_t len) {
  write_req *w = malloc(sizeof(*w) + len);
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
    free(w);
    return err;
  }
  s->base.counters[DV8_COUNTER_BUFFERS_ALLOCATED]++;
  s->queued += len;
  return 0;
}

/* Every call counts once: in writes (accepted, done now or queued), in
 * writes_full (refused, nothing written), or in errors. writes_queued counts
 * the accepted writes the kernel did not finish at once; writes_eagain
 * those of them it took nothing of. */
static int stream_write(stream *s, const char *data, size_t len) {
  uint64_t *c = s->base.counters;
  if (s->flags & (SHUTTING | LISTENING)) {
    c[DV8_COUNTER_ERRORS]++;
    return UV_EPIPE;
  }
  if (s->kind == KIND_FILE) {
    int err = write_file(s, data, len);
    if (err) {
      c[DV8_COUNTER_ERRORS]++;
      return err;
    }
    c[DV8_COUNTER_WRITES]++;
    c[DV8_COUNTER_BYTES_WRITTEN] += len;
    return WRITE_DONE;
  }
  if (s->flags & HOLDING) { /* after what the process before still sends */
    if (s->queued > 0 && s->queued + len > s->queue_limit) {
      c[DV8_COUNTER_WRITES_FULL]++;
      return DV8_EFULL;
    }
    char *p = realloc(s->held, s->held_len + len);
    if (p == NULL)
      return UV_ENOMEM;
    memcpy(p + s->held_len, data, len);
    s->held = p;
    s->held_len += len;
    s->queued += len;
    c[DV8_COUNTER_WRITES]++;
    c[DV8_COUNTER_WRITES_QUEUED]++;
    return WRITE_QUEUED;
  }
  size_t done = 0;
  if (s->queued > 0) {
    /* Behind queued bytes, to keep order. One write may exceed the limit
     * when the queue is empty, so any size can get through. */
    if (s->queued + len > s->queue_limit) {
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

/* ---- arguments ---- */

/* What a function returns after a failed step: nothing when an exception is
 * pending (an argument check threw), else the code as a number. */
dv8_value_t net__reply(dv8_env_t *env, int err) {
  if (err == DV8_ETYPE || err == DV8_EEXCEPTION)
    return NULL;
  return dv8->number(env, err);
}

/* Argument i as a live stream: 0, DV8_ETYPE (thrown) or DV8_ECLOSED. */
int net__arg_stream(dv8_env_t *env, dv8_call_t *call, int i, stream **out) {
  double id;
  if (dv8->arg_number(env, call, i, &id))
    return DV8_ETYPE;
  dv8_handle_t *h = dv8->handle_find(env, (uint32_t)id);
  if (h == NULL || h->type != &stream_type)
    return DV8_ECLOSED;
  *out = (stream *)h;
  return 0;
}

/* Argument i as a callback, or NULL for undefined/null. */
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
  double fd;
  if (dv8->arg_number(env, call, 0, &fd))
    return NULL;
  if (fd < 0 || fd != (int)fd)
    return dv8->throw_range_error(env, "open: fd must be an integer >= 0");
  stream *s;
  int err = open_fd(env, (int)fd, &s);
  if (err)
    return net__reply(env, err);
  return dv8->number(env, s->base.id);
}

/* A stream moved here from another thread: its descriptor, reopened in
 * this thread's loop (the host dup'ed it and closed the original). */
static int import_stream_fd(dv8_env_t *env, int fd, dv8_handle_t **out) {
  stream *s;
  int err = open_fd(env, fd, &s);
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
  if (preparing(s, env)) {
    net__set_ref(env, &s->pending.read_buffer, dv8->arg(call, 1));
    net__set_ref(env, &s->pending.on_read, cb);
    s->pending.rbuf = data;
    s->pending.rlen = len;
    return dv8->number(env, 0);
  }
  release_read_buffer(s);
  s->read_buffer = dv8->ref_new(env, dv8->arg(call, 1));
  s->base.counters[DV8_COUNTER_BUFFERS_ALLOCATED]++;
  s->rbuf = data;
  s->rlen = len;
  net__set_ref(env, &s->on_read, cb);
  if (s->flags & READING) {
    /* A new buffer while reading: libuv asks on_alloc for it next time. */
    return dv8->number(env, 0);
  }
  return net__reply(env, resume_stream(&s->base));
}

/* write(id, buffer, length = buffer.byteLength) -> 0 (done), 1 (queued:
 * wait for drain before writing much more), EFULL (refused) or a code. */
static dv8_value_t js_write(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  void *data;
  size_t len;
  int err = net__arg_stream(env, call, 0, &s);
  if (err)
    return net__reply(env, err);
  if (dv8->arg_buffer(env, call, 1, &data, &len))
    return NULL;
  if (dv8->type_of(env, dv8->arg(call, 2)) != DV8_TYPE_UNDEFINED) {
    double n;
    if (dv8->arg_number(env, call, 2, &n))
      return NULL;
    if (n < 0 || n > (double)len || n != (double)(size_t)n)
      return dv8->throw_range_error(
          env, "write: length %.0f is outside the buffer (%zu bytes)", n, len);
    len = (size_t)n;
  }
  if (len > WRITE_MAX)
    return dv8->throw_range_error(env, "write: at most 16 GiB per call");
  /* Low latency: a request sent, its answer likely soon (on_spin). */
  if (s->spin != NULL)
    keep_polling(s);
  return dv8->number(env, stream_write(s, data, len));
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
  if (err)
    return net__reply(env, err);
  if (preparing(s, env)) {
    net__set_ref(env, &s->pending.on_drain, cb);
    return dv8->number(env, 0);
  }
  net__set_ref(env, &s->on_drain, cb);
  return dv8->number(env, 0);
}

/* onConnection(server, cb(id)): a server's callback, replaced; the way the
 * code a reload loads takes a server over (docs/reload.md). */
static dv8_value_t js_on_connection(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  dv8_value_t cb;
  int err = net__arg_stream(env, call, 0, &s);
  if (err)
    return net__reply(env, err);
  if (dv8->arg_function(env, call, 1, &cb))
    return NULL;
  if (!(s->flags & LISTENING))
    return net__reply(env, UV_EINVAL);
  if (preparing(s, env)) {
    net__set_ref(env, &s->pending.on_connection, cb);
    return dv8->number(env, 0);
  }
  net__set_ref(env, &s->on_connection, cb);
  return dv8->number(env, 0);
}

/* queued(id) -> bytes waiting for the kernel. */
static dv8_value_t js_queued(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  int err = net__arg_stream(env, call, 0, &s);
  return err ? net__reply(env, err) : dv8->number(env, (double)s->queued);
}

/* setQueueLimit(id, bytes) -> 0 | code */
static dv8_value_t js_set_queue_limit(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  double n;
  int err = net__arg_stream(env, call, 0, &s);
  if (err)
    return net__reply(env, err);
  if (dv8->arg_number(env, call, 1, &n))
    return NULL;
  if (n < 1)
    return dv8->throw_range_error(env, "setQueueLimit: bytes must be >= 1");
  s->queue_limit = (size_t)n;
  return dv8->number(env, 0);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  stream *s = req->data;
  if (status < 0 && status != UV_ECANCELED)
    s->base.counters[DV8_COUNTER_ERRORS]++;
  net__emit_once(s, &s->on_shutdown, status);
}

/* shutdown(id, cb(status)) -> 0 | code: half-close once queued writes are
 * done; the peer reads EOF, and can still send. */
static dv8_value_t js_shutdown(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  dv8_value_t cb;
  int err = arg_stream_and_callback(env, call, &s, &cb);
  if (err)
    return net__reply(env, err);
  if (s->kind == KIND_FILE || (s->flags & (SHUTTING | LISTENING)))
    return net__reply(env, s->kind == KIND_FILE ? UV_ENOTSUP : UV_EINVAL);
  s->shutdown_req.data = s;
  err = s->flags & HOLDING
            ? 0 /* after the held writes: at release */
            : uv_shutdown(&s->shutdown_req, &s->uv.stream, on_shutdown);
  if (err)
    return net__reply(env, err);
  s->flags |= SHUTTING | (s->flags & HOLDING ? SHUTDOWN_HELD : 0);
  net__set_ref(env, &s->on_shutdown, cb);
  return dv8->number(env, 0);
}

/* holdWrites(id, on): while on, writes wait in order (they count as
 * queued); off sends them, then a shutdown asked meanwhile. An upgrade's
 * new process holds a connection's writes until the process before has
 * flushed its own (contexts/upgrade.cc). */
static dv8_value_t js_hold_writes(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  int err = net__arg_stream(env, call, 0, &s);
  if (err)
    return net__reply(env, err);
  if (dv8->to_bool(env, dv8->arg(call, 1))) {
    s->flags |= HOLDING;
    return dv8->number(env, 0);
  }
  if (!(s->flags & HOLDING))
    return dv8->number(env, 0);
  s->flags &= ~HOLDING;
  if (s->held_len > 0) {
    s->queued -= s->held_len; /* queue_write counts them again */
    err = queue_write(s, s->held, s->held_len);
    free(s->held);
    s->held = NULL;
    s->held_len = 0;
    if (err && s->queued == 0) /* the code waits for a drain: it fails */
      emit_drain(s, err);
  }
  if (err == 0 && (s->flags & SHUTDOWN_HELD)) {
    s->flags &= ~SHUTDOWN_HELD;
    err = uv_shutdown(&s->shutdown_req, &s->uv.stream, on_shutdown);
  }
  return net__reply(env, err);
}

/* close(id, cb(counters)) -> 0 | code. Queued writes are dropped
 * (cancelled); cb gets the stream's final counters. */
static dv8_value_t js_close(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  dv8_value_t cb;
  int err = arg_stream_and_callback(env, call, &s, &cb);
  if (err)
    return net__reply(env, err);
  net__set_ref(env, &s->on_close, cb);
  /* Not a pause (the counters keep pauses for back-pressure). */
  if (s->flags & READING) {
    s->flags &= ~READING;
    stop_reading(s);
  }
  release_read_buffer(s);
  dv8->handle_close(&s->base);
  return dv8->number(env, 0);
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

/* errname(code) / strerror(code) */
static dv8_value_t js_errname(dv8_env_t *env, dv8_call_t *call) {
  double code;
  if (dv8->arg_number(env, call, 0, &code))
    return NULL;
  const char *text = dv8->call_data(call) ? dv8->strerror((int)code)
                                          : dv8->err_name((int)code);
  return dv8->string(env, text, SIZE_MAX);
}

static int net_init(dv8_env_t *env, dv8_value_t exports) {
  static const struct {
    const char *name;
    dv8_function_cb fn;
  } functions[] = {
      {"listen", net__js_listen},
      {"listenUnix", net__js_listen_unix},
      {"listenFd", net__js_listen_fd},
      {"acceptFd", net__js_accept_fd},
      {"holdWrites", js_hold_writes},
      {"connect", net__js_connect},
      {"connectUnix", net__js_connect_unix},
      {"open", js_open},
      {"readStart", js_read_start},
      {"write", js_write},
      {"pause", js_pause},
      {"resume", js_resume},
      {"onDrain", js_on_drain},
      {"onConnection", js_on_connection},
      {"queued", js_queued},
      {"setQueueLimit", js_set_queue_limit},
      {"shutdown", js_shutdown},
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

DV8_MODULE(net, net_init);
