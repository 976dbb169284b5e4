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
 * when the handle closes first). A stdio stream over a regular file reads
 * with uv_fs_read requests; a read in flight when it closes finishes first,
 * and the struct is freed after both.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "dv8.h"

/* Bytes a stream may hold queued for the kernel before writes are refused.
 * A fast peer never reaches it; a slow one makes the writer wait. */
#define DEFAULT_QUEUE_LIMIT (1024 * 1024)

enum { KIND_TCP, KIND_PIPE, KIND_TTY, KIND_FILE };

enum {
  READING = 1,    /* JS wants data (readStart and not paused) */
  LISTENING = 2,  /* a server */
  ENDED = 4,      /* EOF seen */
  SHUTTING = 8,   /* shutdown requested */
  FS_BUSY = 16,   /* a file read is in flight */
  FREED = 32,     /* closed while FS_BUSY: free when the read returns */
  CONNECTING = 64 /* connect in flight */
};

/* write() results for JS, besides negative error codes. */
enum { WRITE_DONE = 0, WRITE_QUEUED = 1 };

typedef struct stream {
  dv8_handle_t base;
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
    uv_tty_t tty;
    uv_idle_t idle; /* KIND_FILE: a placeholder handle for the table */
  } uv;
  int kind;
  int fd; /* KIND_FILE: the descriptor read and written */
  unsigned flags;
  char *rbuf; /* JS's read buffer (borrowed; kept alive by read_buffer) */
  size_t rlen;
  size_t queued; /* bytes in uv_write requests not yet completed */
  size_t queue_limit;
  dv8_ref_t *read_buffer;
  dv8_ref_t *on_read;       /* (n) */
  dv8_ref_t *on_drain;      /* (status) */
  dv8_ref_t *on_connect;    /* (status) */
  dv8_ref_t *on_connection; /* (id or error) */
  dv8_ref_t *on_shutdown;   /* (status) */
  dv8_ref_t *on_close;      /* (final counters) */
  uv_connect_t connect_req;
  uv_shutdown_t shutdown_req;
  uv_fs_t fs;
} stream;

typedef struct write_req {
  uv_write_t req;
  stream *s;
  size_t len;
  char data[];
} write_req;

/* ---- calling JS ---- */

/* Calls the callback held by ref with one number (or none when argc is 0),
 * from a libuv callback. */
static void emit(stream *s, dv8_ref_t *ref, int argc, double value) {
  if (ref == NULL)
    return;
  dv8_env_t *env = s->base.env;
  dv8_scope_t scope;
  dv8->scope_open(env, &scope);
  dv8_value_t arg = dv8->number(env, value);
  dv8->call(env, dv8->ref_get(env, ref), NULL, argc, &arg, NULL);
  dv8->scope_close(env, &scope);
}

static void set_ref(dv8_env_t *env, dv8_ref_t **slot, dv8_value_t value) {
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

static void free_stream(dv8_handle_t *h) {
  stream *s = (stream *)h;
  dv8_ref_t *on_close = s->on_close;
  s->on_close = NULL;
  if (!(s->flags & FS_BUSY))
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
  /* A file read in flight writes into JS's buffer: it stays referenced
   * until the read returns (the runtime runs the loop before it disposes
   * the context, so that happens while the isolate lives). */
  dv8_ref_t **refs[] = {&s->on_read, &s->on_drain, &s->on_connect,
                        &s->on_connection, &s->on_shutdown};
  for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
    dv8->ref_free(*refs[i]);
    *refs[i] = NULL;
  }
  if (s->flags & FS_BUSY)
    s->flags |= FREED;
  else
    free(s);
}

static dv8_value_t wrap_stream(dv8_env_t *env, dv8_handle_t *h) {
  return dv8->number(env, h->id);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void on_read(uv_stream_t *uv, ssize_t n, const uv_buf_t *buf);
static void start_file_read(stream *s);

static int stop_reading(stream *s) {
  if (s->kind == KIND_FILE || (s->flags & LISTENING))
    return 0;
  return uv_read_stop(&s->uv.stream);
}

static int start_reading(stream *s) {
  if (s->kind == KIND_FILE) {
    start_file_read(s);
    return 0;
  }
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

static int resume_stream(dv8_handle_t *h) {
  stream *s = (stream *)h;
  if ((s->flags & READING) || s->on_read == NULL || (s->flags & ENDED))
    return 0;
  s->flags |= READING;
  h->counters[DV8_COUNTER_RESUMES]++;
  return start_reading(s);
}

static int export_stream_fd(dv8_handle_t *h, int *fd) {
  stream *s = (stream *)h;
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

static const dv8_handle_type_t stream_type = {
    "stream",    wrap_stream,      pause_stream, resume_stream,
    free_stream, export_stream_fd, NULL, /* import: see open() */
};

/* ---- creating streams ---- */

static void on_unregistered_close(uv_handle_t *h) { free(h->data); }

/* Registers a stream whose uv handle is initialised; on failure closes it
 * and returns the error (the struct is freed once libuv is done). */
static int add_stream(dv8_env_t *env, stream *s) {
  s->queue_limit = DEFAULT_QUEUE_LIMIT;
  int err = dv8->handle_register(env, &s->base, &stream_type, &s->uv.handle);
  if (err) {
    s->uv.handle.data = s;
    uv_close(&s->uv.handle, on_unregistered_close);
  }
  return err;
}

static stream *new_stream(int kind) {
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
  emit(s, s->on_read, 1, (double)n);
}

static void on_read(uv_stream_t *uv, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  if (n != 0) /* 0 is EAGAIN: nothing to report */
    deliver((stream *)uv->data, n);
}

static void on_file_read(uv_fs_t *req) {
  stream *s = req->data;
  ssize_t n = req->result;
  uv_fs_req_cleanup(req);
  s->flags &= ~FS_BUSY;
  if (s->flags & FREED) {
    release_read_buffer(s);
    free(s);
    return;
  }
  deliver(s, n == 0 ? UV_EOF : n);
  if ((s->flags & READING) && n > 0)
    start_file_read(s);
}

static void start_file_read(stream *s) {
  if (s->flags & FS_BUSY)
    return;
  uv_buf_t buf = uv_buf_init(s->rbuf, (unsigned int)s->rlen);
  s->fs.data = s;
  if (uv_fs_read(dv8->loop(s->base.env), &s->fs, s->fd, &buf, 1, -1,
                 on_file_read) == 0)
    s->flags |= FS_BUSY;
}

/* ---- writing ---- */

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
      emit(s, s->on_drain, 1, status);
    return;
  }
  s->base.counters[DV8_COUNTER_BYTES_WRITTEN] += len;
  if (s->queued == 0)
    emit(s, s->on_drain, 1, 0);
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
  uv_buf_t buf = uv_buf_init(w->data, (unsigned int)len);
  int err = uv_write(&w->req, &s->uv.stream, &buf, 1, on_write);
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
  size_t done = 0;
  if (s->queued > 0) {
    /* Behind queued bytes, to keep order. One write may exceed the limit
     * when the queue is empty, so any size can get through. */
    if (s->queued + len > s->queue_limit) {
      c[DV8_COUNTER_WRITES_FULL]++;
      return DV8_EFULL;
    }
  } else if (len > 0) {
    uv_buf_t buf = uv_buf_init((char *)data, (unsigned int)len);
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
static dv8_value_t reply(dv8_env_t *env, int err) {
  if (err == DV8_ETYPE || err == DV8_EEXCEPTION)
    return NULL;
  return dv8->number(env, err);
}

/* Argument i as a live stream: 0, DV8_ETYPE (thrown) or DV8_ECLOSED. */
static int arg_stream(dv8_env_t *env, dv8_call_t *call, int i, stream **out) {
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
static int arg_callback(dv8_env_t *env, dv8_call_t *call, int i,
                        dv8_value_t *out) {
  dv8_type_t t = dv8->type_of(env, dv8->arg(call, i));
  if (t == DV8_TYPE_UNDEFINED || t == DV8_TYPE_NULL) {
    *out = NULL;
    return 0;
  }
  return dv8->arg_function(env, call, i, out);
}

/* "localhost" and numeric IPv4/IPv6 addresses; other names go through the
 * system resolver (synchronously: see README). */
static int parse_address(const char *host, int port,
                         struct sockaddr_storage *addr) {
  if (strcmp(host, "localhost") == 0)
    host = "127.0.0.1";
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)addr) == 0)
    return 0;
  if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)addr) == 0)
    return 0;
  uv_getaddrinfo_t req;
  struct addrinfo hints;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  uv_loop_t loop;
  int err = uv_loop_init(&loop);
  if (err)
    return err;
  err = uv_getaddrinfo(&loop, &req, NULL, host, NULL, &hints);
  if (err == 0) {
    memcpy(addr, req.addrinfo->ai_addr, req.addrinfo->ai_addrlen);
    ((struct sockaddr_in *)addr)->sin_port = htons((uint16_t)port);
    uv_freeaddrinfo(req.addrinfo);
  }
  uv_loop_close(&loop);
  return err;
}

/* Arguments (host, port) at i, i + 1. */
static int arg_host_port(dv8_env_t *env, dv8_call_t *call, int i,
                         struct sockaddr_storage *addr) {
  char *host;
  double port;
  if (dv8->arg_string(env, call, i, &host, NULL))
    return DV8_ETYPE;
  if (dv8->arg_number(env, call, i + 1, &port)) {
    free(host);
    return DV8_ETYPE;
  }
  if (port < 0 || port > 65535 || port != (int)port) {
    free(host);
    dv8->throw_range_error(env, "port must be an integer from 0 to 65535");
    return DV8_EEXCEPTION;
  }
  int err = parse_address(host, (int)port, addr);
  free(host);
  return err;
}

/* ---- servers ---- */

static int accept_one(stream *server) {
  stream *c = new_stream(server->kind);
  if (c == NULL)
    return UV_ENOMEM;
  uv_loop_t *loop = dv8->loop(server->base.env);
  int err = server->kind == KIND_TCP ? uv_tcp_init(loop, &c->uv.tcp)
                                     : uv_pipe_init(loop, &c->uv.pipe, 0);
  if (err) {
    free(c);
    return err;
  }
  err = add_stream(server->base.env, c);
  if (err)
    return err;
  err = uv_accept(&server->uv.stream, &c->uv.stream);
  if (err) {
    dv8->handle_close(&c->base);
    return err;
  }
  return (int)c->base.id;
}

static void on_connection(uv_stream_t *uv, int status) {
  stream *server = (stream *)uv->data;
  server->base.counters[DV8_COUNTER_EVENTS]++;
  if (status < 0) {
    server->base.counters[DV8_COUNTER_ERRORS]++;
    emit(server, server->on_connection, 1, status);
    return;
  }
  int id = accept_one(server);
  emit(server, server->on_connection, 1, id);
}

static dv8_value_t listen_on(dv8_env_t *env, dv8_call_t *call, int kind,
                             const struct sockaddr *addr, const char *path,
                             int arg) {
  double backlog;
  dv8_value_t cb;
  if (dv8->arg_number(env, call, arg, &backlog) ||
      dv8->arg_function(env, call, arg + 1, &cb))
    return NULL;
  stream *s = new_stream(kind);
  if (s == NULL)
    return reply(env, UV_ENOMEM);
  uv_loop_t *loop = dv8->loop(env);
  int err = kind == KIND_TCP ? uv_tcp_init(loop, &s->uv.tcp)
                             : uv_pipe_init(loop, &s->uv.pipe, 0);
  if (err) {
    free(s);
    return reply(env, err);
  }
  if ((err = add_stream(env, s)))
    return reply(env, err);
  s->flags |= LISTENING | READING;
  err = kind == KIND_TCP ? uv_tcp_bind(&s->uv.tcp, addr, 0)
                         : uv_pipe_bind(&s->uv.pipe, path);
  if (err == 0)
    err = uv_listen(&s->uv.stream, backlog > 0 ? (int)backlog : 511,
                    on_connection);
  if (err) {
    dv8->handle_close(&s->base);
    return reply(env, err);
  }
  set_ref(env, &s->on_connection, cb);
  return dv8->number(env, s->base.id);
}

/* listen(host, port, backlog, onConnection(idOrError)) -> server id | code */
static dv8_value_t js_listen(dv8_env_t *env, dv8_call_t *call) {
  struct sockaddr_storage addr;
  int err = arg_host_port(env, call, 0, &addr);
  if (err)
    return reply(env, err);
  return listen_on(env, call, KIND_TCP, (struct sockaddr *)&addr, NULL, 2);
}

/* listenUnix(path, backlog, onConnection) -> server id | code */
static dv8_value_t js_listen_unix(dv8_env_t *env, dv8_call_t *call) {
  char *path;
  if (dv8->arg_string(env, call, 0, &path, NULL))
    return NULL;
  dv8_value_t r = listen_on(env, call, KIND_PIPE, NULL, path, 1);
  free(path);
  return r;
}

/* ---- clients ---- */

static void on_connect(uv_connect_t *req, int status) {
  stream *s = req->data;
  s->flags &= ~CONNECTING;
  if (status < 0)
    s->base.counters[DV8_COUNTER_ERRORS]++;
  dv8_ref_t *cb = s->on_connect;
  s->on_connect = NULL;
  if (status != UV_ECANCELED)
    emit(s, cb, 1, status);
  dv8->ref_free(cb);
}

static dv8_value_t connect_to(dv8_env_t *env, dv8_call_t *call, int kind,
                              const struct sockaddr *addr, const char *path,
                              int arg) {
  dv8_value_t cb;
  if (dv8->arg_function(env, call, arg, &cb))
    return NULL;
  stream *s = new_stream(kind);
  if (s == NULL)
    return reply(env, UV_ENOMEM);
  uv_loop_t *loop = dv8->loop(env);
  int err = kind == KIND_TCP ? uv_tcp_init(loop, &s->uv.tcp)
                             : uv_pipe_init(loop, &s->uv.pipe, 0);
  if (err) {
    free(s);
    return reply(env, err);
  }
  if ((err = add_stream(env, s)))
    return reply(env, err);
  s->connect_req.data = s;
  if (kind == KIND_TCP) {
    err = uv_tcp_connect(&s->connect_req, &s->uv.tcp, addr, on_connect);
  } else {
    uv_pipe_connect(&s->connect_req, &s->uv.pipe, path, on_connect);
  }
  if (err) {
    dv8->handle_close(&s->base);
    return reply(env, err);
  }
  s->flags |= CONNECTING;
  set_ref(env, &s->on_connect, cb);
  return dv8->number(env, s->base.id);
}

/* connect(host, port, onConnect(status)) -> id | code */
static dv8_value_t js_connect(dv8_env_t *env, dv8_call_t *call) {
  struct sockaddr_storage addr;
  int err = arg_host_port(env, call, 0, &addr);
  if (err)
    return reply(env, err);
  return connect_to(env, call, KIND_TCP, (struct sockaddr *)&addr, NULL, 2);
}

/* connectUnix(path, onConnect(status)) -> id | code */
static dv8_value_t js_connect_unix(dv8_env_t *env, dv8_call_t *call) {
  char *path;
  if (dv8->arg_string(env, call, 0, &path, NULL))
    return NULL;
  dv8_value_t r = connect_to(env, call, KIND_PIPE, NULL, path, 1);
  free(path);
  return r;
}

/* open(fd) -> id | code: stdin, stdout, stderr or any descriptor, whatever
 * it is (terminal, pipe, socket, file). Closing the stream closes fd. */
static dv8_value_t js_open(dv8_env_t *env, dv8_call_t *call) {
  double fd;
  if (dv8->arg_number(env, call, 0, &fd))
    return NULL;
  if (fd < 0 || fd != (int)fd)
    return dv8->throw_range_error(env, "open: fd must be an integer >= 0");
  uv_loop_t *loop = dv8->loop(env);
  stream *s;
  int err;
  switch (uv_guess_handle((int)fd)) {
  case UV_TTY:
    s = new_stream(KIND_TTY);
    err = s ? uv_tty_init(loop, &s->uv.tty, (int)fd, fd == 0) : UV_ENOMEM;
    break;
  case UV_NAMED_PIPE:
    s = new_stream(KIND_PIPE);
    err = s ? uv_pipe_init(loop, &s->uv.pipe, 0) : UV_ENOMEM;
    if (err == 0 && (err = uv_pipe_open(&s->uv.pipe, (int)fd))) {
      s->uv.handle.data = s;
      uv_close(&s->uv.handle, on_unregistered_close);
      return reply(env, err);
    }
    break;
  case UV_TCP:
    s = new_stream(KIND_TCP);
    err = s ? uv_tcp_init(loop, &s->uv.tcp) : UV_ENOMEM;
    if (err == 0 && (err = uv_tcp_open(&s->uv.tcp, (int)fd))) {
      s->uv.handle.data = s;
      uv_close(&s->uv.handle, on_unregistered_close);
      return reply(env, err);
    }
    break;
  case UV_FILE:
    s = new_stream(KIND_FILE);
    err = s ? uv_idle_init(loop, &s->uv.idle) : UV_ENOMEM;
    break;
  default:
    return reply(env, UV_EINVAL);
  }
  if (err) {
    free(s);
    return reply(env, err);
  }
  s->fd = (int)fd;
  if ((err = add_stream(env, s)))
    return reply(env, err);
  return dv8->number(env, s->base.id);
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
  int err = arg_stream(env, call, 0, &s);
  if (err)
    return reply(env, err);
  if (dv8->arg_buffer(env, call, 1, &data, &len) ||
      dv8->arg_function(env, call, 2, &cb))
    return NULL;
  if (len == 0 || len > UINT32_MAX)
    return dv8->throw_range_error(
        env, "readStart: buffer must hold 1 byte to 4 GiB");
  if (s->flags & LISTENING)
    return reply(env, UV_EINVAL);
  release_read_buffer(s);
  s->read_buffer = dv8->ref_new(env, dv8->arg(call, 1));
  s->base.counters[DV8_COUNTER_BUFFERS_ALLOCATED]++;
  s->rbuf = data;
  s->rlen = len;
  set_ref(env, &s->on_read, cb);
  if (s->flags & READING) {
    /* A new buffer while reading: libuv asks on_alloc for it next time. */
    return dv8->number(env, 0);
  }
  return reply(env, resume_stream(&s->base));
}

/* write(id, buffer, length = buffer.byteLength) -> 0 (done), 1 (queued:
 * wait for drain before writing much more), EFULL (refused) or a code. */
static dv8_value_t js_write(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  void *data;
  size_t len;
  int err = arg_stream(env, call, 0, &s);
  if (err)
    return reply(env, err);
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
  return dv8->number(env, stream_write(s, data, len));
}

/* pause(id) / resume(id) -> 0 | code: reads stop at the libuv level; the
 * kernel keeps the bytes. */
static dv8_value_t js_pause(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  int err = arg_stream(env, call, 0, &s);
  return reply(env, err ? err : pause_stream(&s->base));
}

static dv8_value_t js_resume(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  int err = arg_stream(env, call, 0, &s);
  return reply(env, err ? err : resume_stream(&s->base));
}

/* onDrain(id, cb(status)): called when the write queue empties (0) or a
 * queued write failed (a code). */
static dv8_value_t js_on_drain(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  dv8_value_t cb;
  int err = arg_stream(env, call, 0, &s);
  if (err)
    return reply(env, err);
  if (arg_callback(env, call, 1, &cb))
    return NULL;
  set_ref(env, &s->on_drain, cb);
  return dv8->number(env, 0);
}

/* queued(id) -> bytes waiting for the kernel. */
static dv8_value_t js_queued(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  int err = arg_stream(env, call, 0, &s);
  return err ? reply(env, err) : dv8->number(env, (double)s->queued);
}

/* setQueueLimit(id, bytes) -> 0 | code */
static dv8_value_t js_set_queue_limit(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  double n;
  int err = arg_stream(env, call, 0, &s);
  if (err)
    return reply(env, err);
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
  dv8_ref_t *cb = s->on_shutdown;
  s->on_shutdown = NULL;
  if (status != UV_ECANCELED)
    emit(s, cb, 1, status);
  dv8->ref_free(cb);
}

/* shutdown(id, cb(status)) -> 0 | code: half-close once queued writes are
 * done; the peer reads EOF, and can still send. */
static dv8_value_t js_shutdown(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  dv8_value_t cb;
  int err = arg_stream(env, call, 0, &s);
  if (err)
    return reply(env, err);
  if (arg_callback(env, call, 1, &cb))
    return NULL;
  if (s->kind == KIND_FILE || (s->flags & (SHUTTING | LISTENING)))
    return reply(env, s->kind == KIND_FILE ? UV_ENOTSUP : UV_EINVAL);
  s->shutdown_req.data = s;
  err = uv_shutdown(&s->shutdown_req, &s->uv.stream, on_shutdown);
  if (err)
    return reply(env, err);
  s->flags |= SHUTTING;
  set_ref(env, &s->on_shutdown, cb);
  return dv8->number(env, 0);
}

/* close(id, cb(counters)) -> 0 | code. Queued writes are dropped
 * (cancelled); cb gets the stream's final counters. */
static dv8_value_t js_close(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  dv8_value_t cb;
  int err = arg_stream(env, call, 0, &s);
  if (err)
    return reply(env, err);
  if (arg_callback(env, call, 1, &cb))
    return NULL;
  set_ref(env, &s->on_close, cb);
  /* Not a pause (the counters keep pauses for back-pressure). */
  if (s->flags & READING) {
    s->flags &= ~READING;
    stop_reading(s);
  }
  if (!(s->flags & FS_BUSY))
    release_read_buffer(s);
  dv8->handle_close(&s->base);
  return dv8->number(env, 0);
}

/* ---- options and addresses ---- */

/* setNoDelay(id, on) -> 0 | code (TCP only: Nagle's algorithm off). */
static dv8_value_t js_set_no_delay(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  int err = arg_stream(env, call, 0, &s);
  if (err)
    return reply(env, err);
  if (s->kind != KIND_TCP)
    return reply(env, UV_ENOTSUP);
  return reply(
      env, uv_tcp_nodelay(&s->uv.tcp, dv8->to_bool(env, dv8->arg(call, 1))));
}

/* setKeepAlive(id, on, delaySeconds = 60) -> 0 | code (TCP only). */
static dv8_value_t js_set_keep_alive(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  int err = arg_stream(env, call, 0, &s);
  if (err)
    return reply(env, err);
  if (s->kind != KIND_TCP)
    return reply(env, UV_ENOTSUP);
  double delay = 60;
  if (dv8->type_of(env, dv8->arg(call, 2)) != DV8_TYPE_UNDEFINED &&
      dv8->arg_number(env, call, 2, &delay))
    return NULL;
  return reply(env, uv_tcp_keepalive(&s->uv.tcp,
                                     dv8->to_bool(env, dv8->arg(call, 1)),
                                     delay < 1 ? 1 : (unsigned int)delay));
}

static dv8_value_t address_object(dv8_env_t *env,
                                  const struct sockaddr_storage *ss) {
  char ip[64];
  int port;
  const char *family;
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    uv_ip6_name(a, ip, sizeof(ip));
    port = ntohs(a->sin6_port);
    family = "IPv6";
  } else {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    uv_ip4_name(a, ip, sizeof(ip));
    port = ntohs(a->sin_port);
    family = "IPv4";
  }
  dv8_value_t obj = dv8->object(env);
  dv8->set_string(env, obj, "family", family);
  dv8->set_string(env, obj, "address", ip);
  dv8->set_number(env, obj, "port", port);
  return obj;
}

/* The local (peer = 0) or remote (peer = 1) address of a stream. */
static dv8_value_t stream_address(dv8_env_t *env, dv8_call_t *call, int peer) {
  stream *s;
  int err = arg_stream(env, call, 0, &s);
  if (err)
    return reply(env, err);
  if (s->kind == KIND_TCP) {
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    err = peer ? uv_tcp_getpeername(&s->uv.tcp, (struct sockaddr *)&ss, &len)
               : uv_tcp_getsockname(&s->uv.tcp, (struct sockaddr *)&ss, &len);
    return err ? reply(env, err) : address_object(env, &ss);
  }
  if (s->kind == KIND_PIPE) {
    char path[4096];
    size_t len = sizeof(path);
    err = peer ? uv_pipe_getpeername(&s->uv.pipe, path, &len)
               : uv_pipe_getsockname(&s->uv.pipe, path, &len);
    if (err)
      return reply(env, err);
    dv8_value_t obj = dv8->object(env);
    dv8->set(env, obj, "path", dv8->string(env, path, len));
    return obj;
  }
  return reply(env, UV_ENOTSUP);
}

/* address(id) -> { family, address, port } | { path } | code */
static dv8_value_t js_address(dv8_env_t *env, dv8_call_t *call) {
  return stream_address(env, call, 0);
}

/* peer(id) -> the remote address, same shapes. */
static dv8_value_t js_peer(dv8_env_t *env, dv8_call_t *call) {
  return stream_address(env, call, 1);
}

/* counters(id) -> { bytes_read, bytes_written, reads, writes, ... } */
static dv8_value_t js_counters(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  int err = arg_stream(env, call, 0, &s);
  return err ? reply(env, err) : dv8->handle_counters(env, &s->base);
}

/* kind(id) -> 'tcp' | 'pipe' | 'tty' | 'file' */
static dv8_value_t js_kind(dv8_env_t *env, dv8_call_t *call) {
  static const char *const kinds[] = {"tcp", "pipe", "tty", "file"};
  stream *s;
  int err = arg_stream(env, call, 0, &s);
  return err ? reply(env, err) : dv8->string(env, kinds[s->kind], SIZE_MAX);
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
      {"listen", js_listen},
      {"listenUnix", js_listen_unix},
      {"connect", js_connect},
      {"connectUnix", js_connect_unix},
      {"open", js_open},
      {"readStart", js_read_start},
      {"write", js_write},
      {"pause", js_pause},
      {"resume", js_resume},
      {"onDrain", js_on_drain},
      {"queued", js_queued},
      {"setQueueLimit", js_set_queue_limit},
      {"shutdown", js_shutdown},
      {"close", js_close},
      {"setNoDelay", js_set_no_delay},
      {"setKeepAlive", js_set_keep_alive},
      {"address", js_address},
      {"peer", js_peer},
      {"counters", js_counters},
      {"kind", js_kind},
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
