/*
 * tty: stdio for JS: synchronous writes to a descriptor, and reads of stdin
 * (or any readable descriptor) into a buffer JS hands over once.
 *
 * A reader is a host handle whatever the descriptor is: a uv_tty_t for a
 * terminal, a uv_pipe_t for a pipe or socket, and for a regular file a
 * chain of uv_fs_read requests (the handle is then an idle handle that is
 * never started, kept so that the host can see and close the reader).
 *
 * Lifetime: a reader lives from readStart() until close() or the runtime's
 * end. Its JS buffer and callback are its handle's slots (kept by the
 * host) so that GC cannot take them while libuv writes into the buffer. A
 * file read in flight when the reader closes finishes first; the struct is
 * freed after both.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "dv8.h"

enum { KIND_TTY, KIND_PIPE, KIND_FILE };
enum { SLOT_ONREAD, SLOT_BUFFER };

typedef struct reader {
  dv8_handle_t base;
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tty_t tty;
    uv_pipe_t pipe;
    uv_idle_t idle;
  } uv;
  int kind;
  int fd;
  int reading;
  int fs_busy; /* a uv_fs_read is in flight */
  int freed;   /* the handle closed while fs_busy: free when it returns */
  uv_fs_t fs;
  char *data;
  size_t len;
} reader;

static void free_reader(dv8_handle_t *h) {
  reader *r = (reader *)h;
  if (r->fs_busy)
    r->freed = 1;
  else
    free(r);
}

static void on_stream_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void on_stream_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void start_file_read(reader *r);

static int pause_reader(dv8_handle_t *h) {
  reader *r = (reader *)h;
  if (!r->reading)
    return 0;
  r->reading = 0;
  dv8->counters(h)[DV8_COUNTER_PAUSES]++;
  return r->kind == KIND_FILE ? 0 : uv_read_stop(&r->uv.stream);
}

static int resume_reader(dv8_handle_t *h) {
  reader *r = (reader *)h;
  if (r->reading)
    return 0;
  r->reading = 1;
  dv8->counters(h)[DV8_COUNTER_RESUMES]++;
  if (r->kind == KIND_FILE) {
    start_file_read(r);
    return 0;
  }
  return uv_read_start(&r->uv.stream, on_stream_alloc, on_stream_read);
}

/* Readers neither cross a reload nor move: a reload is refused while one
 * is open (the new code would open its own). */
static const dv8_handle_type_t reader_type = {
    DV8_HANDLE_TYPE_INIT,          .name = "stdio",
    .on_reload = DV8_CROSS_REFUSE, .on_upgrade = DV8_CROSS_REFUSE,
    .pause = pause_reader,         .resume = resume_reader,
    .free = free_reader,
};

/* Calls onread(n): n > 0 bytes are in the buffer, n < 0 is UV_EOF or an
 * error code. */
static void deliver(reader *r, ssize_t n) {
  uint64_t *c = dv8->counters(&r->base);
  if (n > 0) {
    c[DV8_COUNTER_READS]++;
    c[DV8_COUNTER_BYTES_READ] += (uint64_t)n;
  } else if (n == UV_EOF) {
    c[DV8_COUNTER_ENDS]++;
  } else {
    c[DV8_COUNTER_ERRORS]++;
  }
  if (n < 0)
    pause_reader(&r->base);
  double arg = (double)n;
  dv8->slot_emit(&r->base, SLOT_ONREAD, 1, &arg);
}

static void on_stream_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  reader *r = (reader *)h->data;
  *buf = uv_buf_init(r->data, (unsigned int)r->len);
}

static void on_stream_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  if (n == 0)
    return; /* EAGAIN: nothing to report */
  deliver((reader *)s->data, n);
}

static void on_file_read(uv_fs_t *req) {
  reader *r = req->data;
  ssize_t n = req->result;
  uv_fs_req_cleanup(req);
  r->fs_busy = 0;
  if (r->freed) {
    free(r);
    return;
  }
  deliver(r, n == 0 ? UV_EOF : n);
  if (r->reading && n > 0)
    start_file_read(r);
}

static void start_file_read(reader *r) {
  if (r->fs_busy)
    return;
  uv_buf_t buf = uv_buf_init(r->data, (unsigned int)r->len);
  r->fs.data = r;
  int err = uv_fs_read(dv8->loop(dv8->handle_env(&r->base)), &r->fs, r->fd,
                       &buf, 1, -1, on_file_read);
  if (err == 0)
    r->fs_busy = 1;
}

/* Argument 0 as a descriptor: TypeError for a non-number, RangeError for
 * NaN, fractions and numbers outside 0 .. INT32_MAX. */
static int arg_fd(dv8_env_t *env, dv8_call_t *call, int *fd) {
  int64_t n;
  if (dv8->arg_integer(env, call, 0, 0, INT32_MAX, &n))
    return DV8_ETYPE;
  *fd = (int)n;
  return 0;
}

/* isatty(fd) -> boolean */
static dv8_value_t js_isatty(dv8_env_t *env, dv8_call_t *call) {
  int fd;
  if (arg_fd(env, call, &fd))
    return NULL;
  return dv8->boolean(env, uv_guess_handle(fd) == UV_TTY);
}

/* write(fd, stringOrBuffer) -> bytes written, or a negative error code.
 * Synchronous: waits while a non-blocking descriptor is full. */
static dv8_value_t js_write(dv8_env_t *env, dv8_call_t *call) {
  int fd;
  if (arg_fd(env, call, &fd))
    return NULL;
  char *owned = NULL;
  void *data;
  size_t len;
  if (dv8->type_of(env, dv8->arg(call, 1)) == DV8_TYPE_STRING) {
    if (dv8->arg_string(env, call, 1, &owned, &len))
      return NULL;
    data = owned;
  } else if (dv8->arg_buffer(env, call, 1, &data, &len)) {
    return NULL;
  }
  size_t done = 0;
  int err = 0;
  while (done < len) {
    ssize_t n = write(fd, (char *)data + done, len - done);
    if (n >= 0) {
      done += (size_t)n;
    } else if (errno == EAGAIN) {
      struct pollfd p = {fd, POLLOUT, 0};
      poll(&p, 1, -1);
    } else if (errno != EINTR) {
      err = -errno;
      break;
    }
  }
  free(owned);
  return dv8->number(env, err ? err : (double)done);
}

static void on_unregistered_close(uv_handle_t *h) { free(h->data); }

/* A reader that never made it into the handle table: libuv must still
 * finish with its handle before it is freed. */
static void close_unregistered(reader *r) {
  r->uv.handle.data = r;
  uv_close(&r->uv.handle, on_unregistered_close);
}

/* readStart(fd, buffer, onread) -> reader id. onread(n) gets the number of
 * bytes placed at the start of buffer (valid until it returns), or UV_EOF /
 * an error code (< 0), after which reading has stopped. */
static dv8_value_t js_read_start(dv8_env_t *env, dv8_call_t *call) {
  int fd;
  void *data;
  size_t len;
  dv8_value_t fn;
  if (arg_fd(env, call, &fd) || dv8->arg_buffer(env, call, 1, &data, &len) ||
      dv8->arg_function(env, call, 2, &fn))
    return NULL;
  if (len == 0 || len > UINT32_MAX)
    return dv8->throw_type_error(env, "readStart: buffer must hold 1 byte to "
                                      "4 GiB");
  reader *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return dv8->throw_error(env, UV_ENOMEM, "readStart");
  uv_loop_t *loop = dv8->loop(env);
  int err;
  switch (uv_guess_handle(fd)) {
  case UV_TTY:
    r->kind = KIND_TTY;
    err = uv_tty_init(loop, &r->uv.tty, fd, 1);
    break;
  case UV_NAMED_PIPE:
  case UV_TCP:
    r->kind = KIND_PIPE;
    err = uv_pipe_init(loop, &r->uv.pipe, 0);
    if (err == 0) {
      err = uv_pipe_open(&r->uv.pipe, fd);
      if (err) {
        close_unregistered(r);
        return dv8->throw_error(env, err, "readStart");
      }
    }
    break;
  case UV_FILE:
    r->kind = KIND_FILE;
    err = uv_idle_init(loop, &r->uv.idle);
    break;
  default:
    err = UV_EINVAL;
  }
  if (err) {
    free(r);
    return dv8->throw_error(env, err, "readStart");
  }
  r->fd = fd;
  err = dv8->handle_register(env, &r->base, &reader_type, &r->uv.handle);
  if (err) {
    close_unregistered(r);
    return dv8->throw_error(env, err, "readStart");
  }
  r->data = data;
  r->len = len;
  dv8->counters(&r->base)[DV8_COUNTER_BUFFERS_ALLOCATED]++;
  if ((err = dv8->slot_set(env, &r->base, SLOT_ONREAD, fn)) != 0 ||
      (err = dv8->slot_set(env, &r->base, SLOT_BUFFER, dv8->arg(call, 1))) !=
          0 ||
      (err = resume_reader(&r->base)) != 0) {
    dv8->handle_close(&r->base);
    return dv8->throw_error(env, err, "readStart");
  }
  return dv8->number(env, (double)dv8->handle_id(&r->base));
}

/* Argument 0 as an open reader, or NULL (an exception is then pending if
 * it was not an id at all). */
static reader *find_reader(dv8_env_t *env, dv8_call_t *call) {
  dv8_handle_t *h;
  return dv8->arg_handle(env, call, 0, &reader_type, &h) ? NULL : (reader *)h;
}

/* readStop(id): pause; readResume(id) goes on. */
static dv8_value_t js_read_stop(dv8_env_t *env, dv8_call_t *call) {
  reader *r = find_reader(env, call);
  if (r == NULL && dv8->exception_pending(env))
    return NULL;
  return dv8->number(env, r ? pause_reader(&r->base) : DV8_ECLOSED);
}

static dv8_value_t js_read_resume(dv8_env_t *env, dv8_call_t *call) {
  reader *r = find_reader(env, call);
  if (r == NULL && dv8->exception_pending(env))
    return NULL;
  return dv8->number(env, r ? resume_reader(&r->base) : DV8_ECLOSED);
}

/* close(id): stops reading and releases the reader. */
static dv8_value_t js_close(dv8_env_t *env, dv8_call_t *call) {
  reader *r = find_reader(env, call);
  if (r != NULL) {
    pause_reader(&r->base);
    dv8->counters(&r->base)[DV8_COUNTER_BUFFERS_FREED]++;
    dv8->handle_close(&r->base);
  }
  return NULL;
}

/* counters(id) -> the reader's counters */
static dv8_value_t js_counters(dv8_env_t *env, dv8_call_t *call) {
  reader *r = find_reader(env, call);
  return r ? dv8->handle_counters(env, &r->base) : NULL;
}

static int tty_init(dv8_env_t *env, dv8_value_t exports) {
  dv8->set_function(env, exports, "isatty", js_isatty, NULL);
  dv8->set_function(env, exports, "write", js_write, NULL);
  dv8->set_function(env, exports, "readStart", js_read_start, NULL);
  dv8->set_function(env, exports, "readStop", js_read_stop, NULL);
  dv8->set_function(env, exports, "readResume", js_read_resume, NULL);
  dv8->set_function(env, exports, "close", js_close, NULL);
  dv8->set_function(env, exports, "counters", js_counters, NULL);
  dv8->set_number(env, exports, "EOF", UV_EOF);
  return 0;
}

static const dv8_handle_type_t *const tty_types[] = {&reader_type, NULL};

DV8_MODULE_TYPES(tty, tty_init, tty_types, NULL);
