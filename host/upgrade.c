/*
 * upgrade.c — process-level handoff (docs/processes.md, "Upgrade"): a
 * running dv8 starts a new dv8 process of the same program, hands it every
 * handle whose type says it can go (their descriptors, with SCM_RIGHTS) and
 * its state (serdes bytes); once the new process has taken over, the old
 * one only sends what it had queued, and exits. If the new process fails to
 * start or to load, the old one goes on.
 *
 * The old side, in order: start the new process with a unix socket on its
 * fd 3 (DV8_UPGRADE_FD) and the first handle id it may make
 * (DV8_UPGRADE_FIRST_ID: far past this process's, so that its own handles
 * never take an id of the ones coming); wait for it to say it has loaded the
 * code ('R'); pause every handle (reads stop, servers stop accepting: the
 * kernel keeps what comes); capture the state (unload()); send the header,
 * the descriptors, each handle's id, module, type and whether writes of
 * ours to it are still queued, then the state; wait for 'K' (taken over)
 * or 'F' (failed, with why). After 'K' each connection's queue goes out and
 * is reported ('W'); the new process holds its own writes to such a
 * connection until then, so no byte goes out of order. The new side
 * (dv8__run_upgraded) does the reverse before its loop starts: each handle
 * is reopened by its type's import_fd under the id it had, so the ids in
 * the state mean the same in the new code.
 *
 * Only the V8 steps (loading the code, capturing and loading the state)
 * are contexts/'s. Threads: main thread only; one upgrade at a time.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "contexts/contexts.h"
#include "host/host.h"

extern char **environ;

unsigned dv8__flush_deadline_ms = 60000;

#define MAGIC 0x32387664u   /* "dv82": the handoff's format */
#define FDS_PER_MESSAGE 250 /* under the kernel's SCM_MAX_FD */
/* The new process's ids start this far past the old one's next id. */
#define ID_GAP ((uint64_t)1 << 32)

/* ---- byte buffers ---- */

typedef struct bytes {
  uint8_t *data;
  size_t len, cap;
  int failed; /* out of memory: the message is not sent */
} bytes;

static void put(bytes *b, const void *p, size_t n) {
  if (b->failed)
    return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->len + n)
      cap *= 2;
    uint8_t *data = realloc(b->data, cap);
    if (data == NULL) {
      b->failed = 1;
      return;
    }
    b->data = data;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

static void put32(bytes *b, uint32_t v) {
  uint8_t p[4];
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
  put(b, p, 4);
}

static void put64(bytes *b, uint64_t v) {
  put32(b, (uint32_t)v);
  put32(b, (uint32_t)(v >> 32));
}

/* A name of at most 255 bytes, length first. */
static void put_name(bytes *b, const char *s) {
  size_t n = strlen(s);
  uint8_t len = (uint8_t)(n > 255 ? 255 : n);
  put(b, &len, 1);
  put(b, s, len);
}

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p) {
  return get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* Reads from a received body without running past its end. */
typedef struct reader {
  const uint8_t *p, *end;
  int bad;
} reader;

static const uint8_t *take(reader *r, size_t n) {
  if (r->bad || (size_t)(r->end - r->p) < n) {
    r->bad = 1;
    return NULL;
  }
  const uint8_t *at = r->p;
  r->p += n;
  return at;
}

static uint32_t take32(reader *r) {
  const uint8_t *p = take(r, 4);
  return p ? get32(p) : 0;
}

static uint64_t take64(reader *r) {
  const uint8_t *p = take(r, 8);
  return p ? get64(p) : 0;
}

/* A name into out (NUL-terminated, at most 255 bytes). */
static void take_name(reader *r, char out[256]) {
  const uint8_t *len = take(r, 1);
  const uint8_t *p = len ? take(r, *len) : NULL;
  size_t n = p ? *len : 0;
  if (n > 0)
    memcpy(out, p, n);
  out[n] = '\0';
}

/* ---- handle lists ---- */

typedef struct handles {
  dv8_handle_t **items;
  size_t len, cap;
} handles;

static int push(handles *l, dv8_handle_t *h) {
  if (l->len == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    dv8_handle_t **items = realloc(l->items, cap * sizeof(*items));
    if (items == NULL)
      return UV_ENOMEM;
    l->items = items;
    l->cap = cap;
  }
  l->items[l->len++] = h;
  return 0;
}

static int has(const handles *l, dv8_handle_t *h) {
  for (size_t i = 0; i < l->len; i++)
    if (l->items[i] == h)
      return 1;
  return 0;
}

static const dv8_handle_type_t *type_of(dv8_handle_t *h) {
  return DV8_HEAD(h)->type;
}

/* ---- the old process's side ---- */

typedef struct upgrade {
  dv8_runtime_t *rt;
  int fd; /* our end of the socket to the new process */
  uv_poll_t poll;
  uv_process_t child;
  uv_timer_t drain;
  int handles_open; /* poll, child, drain: freed once all are closed */
  int sent;         /* the descriptors went: wait for 'K' or 'F' */
  int took_over;    /* 'K' came: only flushing is left */
  int finished;
  int paused;
  handles cleared;   /* stay behind, paused (the old code's timers) */
  handles moving;    /* go to the new process */
  handles unflushed; /* moving, with writes of ours still queued */
  dv8_bytes_t state, version;
  int *copies; /* descriptors of connections taken in ahead, closed at end */
  size_t n_copies;
  char reply[1024]; /* 'F' and its reason, as it comes */
  size_t reply_len;
  uint64_t drain_until;
  void (*done)(void *, int, const char *);
  void *done_arg;
} upgrade;

static upgrade *current; /* one at a time, on the main thread */

static void free_upgrade(upgrade *u) {
  free(u->cleared.items);
  free(u->moving.items);
  free(u->unflushed.items);
  free(u->state.data);
  free(u->version.data);
  free(u->copies);
  free(u);
}

static void on_closed(uv_handle_t *h) {
  upgrade *u = h->data;
  if (--u->handles_open == 0)
    free_upgrade(u);
}

/* Closes what the upgrade itself holds (its socket, the new process's
 * handle, its timer, copies of pending connections); u is freed once
 * libuv is done with them. */
static void close_upgrade(upgrade *u) {
  uv_close((uv_handle_t *)&u->poll, on_closed);
  uv_close((uv_handle_t *)&u->drain, on_closed);
  uv_close((uv_handle_t *)&u->child, on_closed);
  close(u->fd);
  for (size_t i = 0; i < u->n_copies; i++)
    close(u->copies[i]);
  u->n_copies = 0;
}

static void resume_all(upgrade *u) {
  for (size_t i = 0; i < u->cleared.len; i++)
    type_of(u->cleared.items[i])->resume(u->cleared.items[i]);
  for (size_t i = 0; i < u->moving.len; i++)
    type_of(u->moving.items[i])->resume(u->moving.items[i]);
}

/* The end, either way: the caller hears; on failure the old code resumes. */
static void finish(upgrade *u, int status, const char *text) {
  if (u->finished)
    return;
  u->finished = 1;
  current = NULL;
  if (u->paused && status != 0)
    resume_all(u);
  if (status != 0)
    fprintf(stderr, "dv8: upgrade failed, this process goes on: %s\n", text);
  if (u->done != NULL)
    u->done(u->done_arg, status, text);
  close_upgrade(u);
  if (status == 0) {
    /* The new process has every descriptor and ours are flushed: they
     * close (the connections stay up, held by its descriptors); this
     * process ends. */
    for (size_t i = 0; i < u->moving.len; i++)
      dv8__handle_close(u->moving.items[i]);
    dv8__runtime_stop(u->rt, 0);
  }
}

static void fail(upgrade *u, const char *why) {
  if (!u->sent) /* the new process waits for what will not come */
    uv_process_kill(&u->child, SIGTERM);
  finish(u, 1, why);
}

static void failf(upgrade *u, const char *what, int err) {
  char text[256];
  snprintf(text, sizeof(text), "%s: %s", what, dv8_strerror(err));
  fail(u, text);
}

/* Header, descriptors, then each handle's id, module and type, which have
 * writes queued here, the pending connections' servers, and the state. */
static void send_handoff(upgrade *u) {
  bytes head = {0}, body = {0};
  int *fds = calloc(2 * u->moving.len + 1, sizeof(int));
  if (fds == NULL)
    return failf(u, "the handoff", UV_ENOMEM);
  size_t n_fds = 0;
  for (size_t i = 0; i < u->moving.len; i++) {
    dv8_handle_t *h = u->moving.items[i];
    const dv8_handle_type_t *type = type_of(h);
    const char *module = dv8__native_module_of(type);
    int (*export_fd)(dv8_handle_t *, dv8_export_to_t, int *) =
        DV8_TYPE_OP(type, export_fd);
    int err = module == NULL || export_fd == NULL
                  ? UV_ENOTSUP
                  : export_fd(h, DV8_TO_PROCESS, &fds[n_fds]);
    if (err) {
      char what[128];
      snprintf(what, sizeof(what), "a %s's descriptor", type->name);
      free(fds);
      free(body.data);
      return failf(u, what, err);
    }
    n_fds++;
    size_t (*queued)(dv8_handle_t *) = DV8_TYPE_OP(type, queued);
    uint8_t flags = queued != NULL && queued(h) > 0;
    if (flags && push(&u->unflushed, h) != 0)
      body.failed = 1;
    put64(&body, DV8_HEAD(h)->id);
    put_name(&body, module);
    put_name(&body, type->name);
    put(&body, &flags, 1);
  }
  /* Connections a paused server took in ahead (libuv holds one until asked
   * for it, and would close it with this process) go too. */
  u->copies = calloc(u->moving.len + 1, sizeof(int));
  if (u->copies == NULL)
    body.failed = 1;
  size_t pending = 0;
  for (size_t i = 0; u->copies != NULL && i < u->moving.len; i++) {
    dv8_handle_t *h = u->moving.items[i];
    int (*take_pending)(dv8_handle_t *, int *) =
        DV8_TYPE_OP(type_of(h), take_pending);
    int fd;
    if (take_pending == NULL || take_pending(h, &fd) != 0)
      continue;
    u->copies[u->n_copies++] = fd;
    fds[n_fds++] = fd;
    put32(&body, (uint32_t)i);
    pending++;
  }
  put(&body, u->state.data, u->state.len);
  put(&body, u->version.data, u->version.len);
  put32(&head, MAGIC);
  put32(&head, (uint32_t)u->moving.len);
  put32(&head, (uint32_t)pending);
  put32(&head, (uint32_t)u->state.len);
  put32(&head, (uint32_t)u->version.len);
  put32(&head, (uint32_t)body.len);
  int ok = !head.failed && !body.failed;
  ok = ok && dv8__send_all(u->fd, head.data, head.len);
  for (size_t i = 0; ok && i < n_fds; i += FDS_PER_MESSAGE)
    ok = dv8__send_fds(u->fd, fds + i,
                       n_fds - i < FDS_PER_MESSAGE ? n_fds - i
                                                   : FDS_PER_MESSAGE);
  ok = ok && dv8__send_all(u->fd, body.data, body.len);
  int oom = head.failed || body.failed;
  free(fds);
  free(head.data);
  free(body.data);
  if (!ok)
    return oom ? failf(u, "the handoff", UV_ENOMEM)
               : fail(u, "the new process went away");
  u->sent = 1;
}

/* Paused servers still let libuv take in one connection each (it holds it
 * until asked for it): one taken in while the new process loaded goes to
 * it now, before this process closes its server (which would reset it). */
static void send_late(upgrade *u) {
  for (size_t i = 0; i < u->moving.len; i++) {
    dv8_handle_t *h = u->moving.items[i];
    int (*take_pending)(dv8_handle_t *, int *) =
        DV8_TYPE_OP(type_of(h), take_pending);
    int fd;
    if (take_pending == NULL || take_pending(h, &fd) != 0)
      continue;
    bytes rec = {0};
    put(&rec, "L", 1);
    put32(&rec, (uint32_t)i);
    int ok = !rec.failed && dv8__send_all(u->fd, rec.data, rec.len) &&
             dv8__send_fds(u->fd, &fd, 1);
    free(rec.data);
    close(fd);
    if (!ok)
      return;
  }
}

static size_t queued_of(dv8_handle_t *h) {
  size_t (*queued)(dv8_handle_t *) = DV8_TYPE_OP(type_of(h), queued);
  return queued != NULL ? queued(h) : 0;
}

/* After the takeover this process only sends what it had queued. Each
 * connection whose queue has emptied is closed here and announced ('W',
 * its id): the new process then lets its own writes to it go. A peer that
 * has not taken it all by the flush deadline loses that connection: it is
 * shut down both ways (the socket is shared, so the new process sees the
 * end too) rather than go on with bytes missing in the middle. */
static void on_flush_tick(uv_timer_t *t) {
  upgrade *u = t->data;
  int late = uv_now(&u->rt->loop) > u->drain_until;
  size_t kept = 0;
  for (size_t i = 0; i < u->moving.len; i++) {
    dv8_handle_t *h = u->moving.items[i];
    size_t q = queued_of(h);
    if (q > 0 && !late) {
      u->moving.items[kept++] = h;
      continue;
    }
    int fd;
    if (q > 0 && type_of(h)->export_fd(h, DV8_TO_PROCESS, &fd) == 0) {
      shutdown(fd, SHUT_RDWR);
      fprintf(stderr,
              "dv8: upgraded: %zu bytes queued for handle %llu did not go "
              "out within %u ms (--flush-deadline): that connection is "
              "ended\n",
              q, (unsigned long long)DV8_HEAD(h)->id, dv8__flush_deadline_ms);
    }
    bytes rec = {0};
    put(&rec, "W", 1);
    put64(&rec, DV8_HEAD(h)->id);
    if (!rec.failed) /* the new process may be gone: nothing to tell */
      dv8__send_all(u->fd, rec.data, rec.len);
    free(rec.data);
    dv8__handle_close(h);
  }
  u->moving.len = kept;
  if (kept > 0) {
    uv_timer_start(&u->drain, on_flush_tick, 5, 0);
    return;
  }
  finish(u, 0, "");
}

/* 'K': the new process has taken over, and the caller hears so now. No JS
 * runs here again (nor a reload: stopping); what has nothing queued closes
 * at once, the rest once flushed. */
static void taken_over(upgrade *u) {
  send_late(u);
  dv8__send_all(u->fd, "E", 1);
  u->took_over = 1;
  char text[64];
  snprintf(text, sizeof(text), "pid %d took over", u->child.pid);
  fprintf(stderr, "dv8: upgraded: %s; %zu connections still to flush here\n",
          text, u->unflushed.len);
  if (u->done != NULL)
    u->done(u->done_arg, 0, text);
  u->done = NULL;
  uv_poll_stop(&u->poll);
  dv8__control_stop();
  u->rt->stopping = 1;
  size_t kept = 0;
  for (size_t i = 0; i < u->moving.len; i++) {
    dv8_handle_t *h = u->moving.items[i];
    if (has(&u->unflushed, h))
      u->moving.items[kept++] = h;
    else
      dv8__handle_close(h);
  }
  u->moving.len = kept;
  u->drain_until = uv_now(&u->rt->loop) + dv8__flush_deadline_ms;
  on_flush_tick(&u->drain);
}

/* The handles that go (moving) or stay behind paused (cleared), as they
 * are now: taken again when the new process is ready, as handles come and
 * go meanwhile. 0, or why not (in why) if one cannot go. */
static int collect(upgrade *u, char *why, size_t cap) {
  u->cleared.len = u->moving.len = 0;
  dv8_handle_table_t *t = &u->rt->handles;
  for (dv8_handle_t *h = dv8__handles_next(t, NULL); h != NULL;
       h = dv8__handles_next(t, h)) {
    dv8_head_t *hh = DV8_HEAD(h);
    if (hh->flags & DV8_HANDLE_CLOSING)
      continue;
    int err = 0;
    if (hh->type->on_upgrade == DV8_CROSS_KEEP)
      err = push(&u->moving, h);
    else if (hh->type->on_upgrade == DV8_CROSS_CLEAR)
      err = push(&u->cleared, h);
    else {
      snprintf(why, cap,
               "a %s (handle %llu) is open: it cannot move to another "
               "process (an upgrade carries streams and servers, and leaves "
               "timers behind)",
               hh->type->name, (unsigned long long)hh->id);
      return 1;
    }
    if (err) {
      snprintf(why, cap, "out of memory");
      return 1;
    }
  }
  return 0;
}

/* The new process has loaded the code: pause, capture, send. */
static void begin(upgrade *u) {
  char why[512];
  if (collect(u, why, sizeof(why)))
    return fail(u, why);
  for (size_t i = 0; i < u->cleared.len; i++)
    type_of(u->cleared.items[i])->pause(u->cleared.items[i]);
  for (size_t i = 0; i < u->moving.len; i++)
    type_of(u->moving.items[i])->pause(u->moving.items[i]);
  u->paused = 1;
  char *error = NULL;
  dv8_reload_state_t *state = dv8__reload_capture(
      u->rt, u->rt->env, u->moving.items, u->moving.len, 0, &error);
  if (state == NULL) {
    fail(u, error != NULL ? error : "the state could not be captured");
    free(error);
    return;
  }
  dv8__reload_state_bytes(state, &u->state, &u->version);
  dv8__reload_state_free(state);
  if (u->state.data == NULL || u->version.data == NULL)
    return failf(u, "the state", UV_ENOMEM);
  send_handoff(u);
}

static void on_readable(uv_poll_t *p, int status, int events) {
  (void)events;
  upgrade *u = p->data;
  if (u->finished || u->took_over)
    return;
  char buf[512];
  ssize_t n = status < 0 ? -1 : recv(u->fd, buf, sizeof(buf), MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0) {
    if (u->reply_len > 0) {
      u->reply[u->reply_len] = '\0';
      return fail(u, u->reply + 1);
    }
    return fail(u, "the new process went away before taking over");
  }
  for (ssize_t i = 0; i < n; i++) {
    if (u->reply_len > 0) { /* 'F' and its reason, to the end */
      if (u->reply_len < sizeof(u->reply) - 1)
        u->reply[u->reply_len++] = buf[i];
    } else if (buf[i] == 'R') {
      begin(u);
      if (u->finished)
        return;
    } else if (buf[i] == 'K' && u->sent) {
      return taken_over(u);
    } else if (buf[i] == 'F') {
      u->reply[u->reply_len++] = 'F';
    }
  }
}

static void on_child_exit(uv_process_t *p, int64_t status, int signal) {
  upgrade *u = p->data;
  if (u->finished || u->took_over)
    return;
  /* Its last words ('F' and why) may still be unread: read them first. */
  on_readable(&u->poll, 0, UV_READABLE);
  if (u->finished)
    return;
  char text[128];
  snprintf(text, sizeof(text),
           "the new process ended (status %lld, signal %d) before taking "
           "over",
           (long long)status, signal);
  fail(u, text);
}

/* The new process's side while the process before flushes: connections
 * whose writes are held, released as it reports each flushed ('W'). Should
 * it end first (killed), what it had queued is lost: those connections are
 * ended rather than continued with bytes missing. */
typedef struct flushing {
  dv8_runtime_t *rt;
  int fd;
  uv_poll_t poll;
  uint8_t buf[512];
  size_t len;
  uint64_t *held; /* handle ids */
  size_t n_held;
} flushing;

static flushing *flushing_now; /* at most one: a new upgrade waits for it */

static void on_flushing_closed(uv_handle_t *h) {
  flushing *f = h->data;
  close(f->fd);
  free(f->held);
  free(f);
}

/* Lets the writes to handle id go (it may have closed meanwhile). */
static void release_writes(dv8_runtime_t *rt, uint64_t id, int end) {
  dv8_handle_t *h = dv8__handles_find(&rt->handles, id);
  if (h == NULL)
    return;
  int fd;
  if (end && type_of(h)->export_fd(h, DV8_TO_PROCESS, &fd) == 0) {
    shutdown(fd, SHUT_RDWR);
    fprintf(stderr,
            "dv8: the process before ended with writes to handle %llu still "
            "queued: that connection is ended\n",
            (unsigned long long)id);
  }
  int (*hold)(dv8_handle_t *, int) = DV8_TYPE_OP(type_of(h), hold);
  if (hold != NULL)
    hold(h, 0);
}

static void on_flushed(uv_poll_t *p, int status, int events) {
  (void)events;
  flushing *f = p->data;
  ssize_t got = -1;
  if (status >= 0) {
    got = recv(f->fd, f->buf + f->len, sizeof(f->buf) - f->len, MSG_DONTWAIT);
    if (got < 0 && (errno == EAGAIN || errno == EINTR))
      return;
  }
  if (got > 0)
    f->len += (size_t)got;
  size_t used = 0;
  for (; f->len - used >= 9 && f->buf[used] == 'W'; used += 9) {
    uint64_t id = get64(f->buf + used + 1);
    for (size_t i = 0; i < f->n_held; i++)
      if (f->held[i] == id) {
        f->held[i] = f->held[--f->n_held];
        release_writes(f->rt, id, 0);
        break;
      }
  }
  memmove(f->buf, f->buf + used, f->len - used);
  f->len -= used;
  if (got > 0 && f->n_held > 0)
    return;
  for (size_t i = 0; i < f->n_held; i++)
    release_writes(f->rt, f->held[i], 1);
  f->n_held = 0;
  flushing_now = NULL;
  uv_close((uv_handle_t *)&f->poll, on_flushing_closed);
}

/* ---- starting the new process ---- */

/* argv for the new process: this binary, the options that carry over, the
 * program and its arguments. */
static char **new_argv(dv8_runtime_t *rt, const char *exe, const char *main) {
  char **argv = calloc((size_t)rt->argc + 8, sizeof(char *));
  if (argv == NULL)
    return NULL;
  static char reload_ms[16], flush_ms[16];
  int n = 0;
  argv[n++] = (char *)exe;
  if (dv8__reload_deadline_ms != 1000) {
    snprintf(reload_ms, sizeof(reload_ms), "%u", dv8__reload_deadline_ms);
    argv[n++] = "--reload-deadline";
    argv[n++] = reload_ms;
  }
  if (dv8__flush_deadline_ms != 60000) {
    snprintf(flush_ms, sizeof(flush_ms), "%u", dv8__flush_deadline_ms);
    argv[n++] = "--flush-deadline";
    argv[n++] = flush_ms;
  }
  argv[n++] = (char *)main;
  for (int i = 1; i < rt->argc; i++)
    argv[n++] = rt->argv[i];
  return argv;
}

/* This process's environment, with the upgrade's variables set. */
static char **new_env(dv8_runtime_t *rt, char *first_id, size_t cap) {
  size_t n = 0;
  while (environ[n] != NULL)
    n++;
  char **envp = calloc(n + 3, sizeof(char *));
  if (envp == NULL)
    return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "DV8_UPGRADE_", 12) != 0)
      envp[k++] = environ[i];
  envp[k++] = "DV8_UPGRADE_FD=3";
  snprintf(first_id, cap, "DV8_UPGRADE_FIRST_ID=%llu",
           (unsigned long long)(rt->handles.next_id + ID_GAP));
  envp[k++] = first_id;
  return envp;
}

static int refuse(const char *why, void (*done)(void *, int, const char *),
                  void *arg) {
  fprintf(stderr, "dv8: upgrade refused: %s\n", why);
  if (done != NULL)
    done(arg, 1, why);
  return DV8_EEXCEPTION;
}

int dv8__upgrade_busy(void) { return current != NULL; }

int dv8__upgrade(dv8_runtime_t *rt, void (*done)(void *, int, const char *),
                 void *arg) {
  char why[512];
  const char *main_path = dv8__context_main_path(rt->env);
  if (current != NULL)
    return refuse("an upgrade is already under way", done, arg);
  if (flushing_now != NULL) {
    snprintf(why, sizeof(why),
             "the process this one took over from is still sending what it "
             "had queued (%zu connections): upgrade again once it has ended",
             flushing_now->n_held);
    return refuse(why, done, arg);
  }
  if (rt->stopping || rt->thread != NULL || main_path == NULL)
    return refuse("only a program run from a file upgrades", done, arg);
  if (!dv8__context_has_export(rt->env, "load"))
    return refuse("the program exports no load(): its new process would "
                  "start afresh, taking nothing over (docs/reload.md)",
                  done, arg);
  upgrade *u = calloc(1, sizeof(*u));
  if (u == NULL)
    return refuse("out of memory", done, arg);
  u->rt = rt;
  u->done = done;
  u->done_arg = arg;
  if (collect(u, why, sizeof(why))) {
    free_upgrade(u);
    return refuse(why, done, arg);
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    snprintf(why, sizeof(why), "socketpair: %s", strerror(errno));
    free_upgrade(u);
    return refuse(why, done, arg);
  }
  /* The same program, as it was started, with the socket on fd 3. */
  char exe[4096];
  size_t exe_len = sizeof(exe);
  char first_id[64];
  char **argv =
      uv_exepath(exe, &exe_len) == 0 ? new_argv(rt, exe, main_path) : NULL;
  char **envp = argv != NULL ? new_env(rt, first_id, sizeof(first_id)) : NULL;
  if (envp == NULL) {
    free(argv);
    close(sv[0]);
    close(sv[1]);
    free_upgrade(u);
    return refuse("cannot start this program's binary again", done, arg);
  }
  uv_stdio_container_t stdio[4];
  for (int i = 0; i < 3; i++) {
    stdio[i].flags = UV_INHERIT_FD;
    stdio[i].data.fd = i;
  }
  stdio[3].flags = UV_INHERIT_FD;
  stdio[3].data.fd = sv[1];
  uv_process_options_t o;
  memset(&o, 0, sizeof(o));
  o.exit_cb = on_child_exit;
  o.file = exe;
  o.args = argv;
  o.env = envp;
  o.stdio_count = 4;
  o.stdio = stdio;
  u->child.data = u;
  int err = uv_spawn(&rt->loop, &u->child, &o);
  free(argv);
  free(envp);
  close(sv[1]);
  u->fd = sv[0];
  u->poll.data = u;
  u->drain.data = u;
  uv_poll_init(&rt->loop, &u->poll, u->fd);
  uv_timer_init(&rt->loop, &u->drain);
  u->handles_open = 3;
  current = u;
  if (err) {
    snprintf(why, sizeof(why), "cannot start the new process: %s",
             uv_strerror(err));
    finish(u, 1, why);
    return DV8_EEXCEPTION;
  }
  uv_poll_start(&u->poll, UV_READABLE, on_readable);
  return 0;
}

void dv8__upgrade_stop(void) {
  if (flushing_now != NULL) {
    uv_close((uv_handle_t *)&flushing_now->poll, on_flushing_closed);
    flushing_now = NULL;
  }
  upgrade *u = current;
  if (u == NULL)
    return;
  /* Ending mid-upgrade (SIGTERM before the new process took over): the
   * caller hears, the new process is stopped, and nothing resumes. */
  current = NULL;
  u->finished = 1;
  if (!u->took_over)
    uv_process_kill(&u->child, SIGTERM);
  if (u->done != NULL)
    u->done(u->done_arg, 1, "this process is ending");
  close_upgrade(u);
}

/* ---- the new process's side ---- */

typedef struct takeover {
  dv8_runtime_t *rt;
  int fd;
  int *fds;
  size_t n_fds;
  dv8_handle_t **opened;
  uint64_t *held;
  size_t n, n_held;
  uint8_t *body;
} takeover;

static int takeover_fail(takeover *t, const char *why) {
  size_t len = strlen(why);
  char *msg = malloc(len + 1);
  if (msg != NULL) {
    msg[0] = 'F';
    memcpy(msg + 1, why, len);
    dv8__send_all(t->fd, msg, len + 1);
    free(msg);
  }
  close(t->fd);
  fprintf(stderr, "dv8: taking over failed: %s\n", why);
  /* Descriptors not yet reopened as handles are closed here. */
  for (size_t i = 0; i < t->n_fds; i++)
    if (t->fds[i] >= 0)
      close(t->fds[i]);
  free(t->fds);
  free(t->opened);
  free(t->held);
  free(t->body);
  return 1;
}

/* Reopens each handle with its type's import_fd, under the id it had. */
static int reopen(takeover *t, reader *r, char *why, size_t cap) {
  for (size_t i = 0; i < t->n; i++) {
    uint64_t id = take64(r);
    char module[256], type_name[256];
    take_name(r, module);
    take_name(r, type_name);
    const uint8_t *flags = take(r, 1);
    if (r->bad) {
      snprintf(why, cap, "the handoff is cut short");
      return 1;
    }
    const dv8_handle_type_t *type = dv8__native_type(module, type_name);
    int (*import_fd)(dv8_env_t *, int, dv8_handle_t **) =
        type != NULL ? DV8_TYPE_OP(type, import_fd) : NULL;
    if (import_fd == NULL) {
      snprintf(why, cap, "no module here makes a '%.100s' handle of '%.100s'",
               type_name, module);
      return 1;
    }
    dv8_handle_t *h;
    int err = import_fd(t->rt->env, t->fds[i], &h);
    if (err) {
      snprintf(why, cap, "a %s could not be reopened: %s", type_name,
               dv8_strerror(err));
      return 1;
    }
    t->fds[i] = -1; /* the handle's now */
    t->opened[i] = h;
    if ((err = dv8__handles_rehome(&t->rt->handles, h, id)) != 0) {
      snprintf(why, cap, "handle %llu cannot keep its id here: %s",
               (unsigned long long)id, dv8_strerror(err));
      return 1;
    }
    int (*hold)(dv8_handle_t *, int) = DV8_TYPE_OP(type, hold);
    if ((*flags & 1) && hold != NULL) {
      if ((err = hold(h, 1)) != 0) {
        snprintf(why, cap, "writes to handle %llu cannot wait: %s",
                 (unsigned long long)id, dv8_strerror(err));
        return 1;
      }
      t->held[t->n_held++] = id;
    }
  }
  return 0;
}

/* A connection the old process took in, to server index's give_pending. */
static void give(takeover *t, uint32_t index, int fd) {
  dv8_handle_t *h = index < t->n ? t->opened[index] : NULL;
  int (*give_pending)(dv8_handle_t *, int) =
      h != NULL ? DV8_TYPE_OP(type_of(h), give_pending) : NULL;
  if (give_pending == NULL || give_pending(h, fd) != 0)
    close(fd);
}

/* The new code's load(state, fromVersion), under the reload deadline: 0,
 * or 1 and why. */
static int load_state(takeover *t, dv8_env_t *env, const uint8_t *state,
                      size_t state_len, const uint8_t *version,
                      size_t version_len, char *why, size_t cap) {
  dv8_reload_state_t *s =
      dv8__reload_state_from(state, state_len, version, version_len);
  char *error = NULL;
  dv8_deadline_t deadline;
  dv8__deadline_arm(&deadline, t->rt, dv8__reload_deadline_ms);
  int err = dv8__reload_load(t->rt, env, s, &error);
  if (dv8__deadline_disarm(&deadline) && err)
    snprintf(why, cap, "load() ran past the reload deadline of %u ms",
             dv8__reload_deadline_ms);
  else if (err)
    snprintf(why, cap, "%s", error != NULL ? error : "load() failed");
  free(error);
  dv8__reload_state_free(s);
  return err != 0;
}

int dv8__run_upgraded(dv8_env_t *env, const char *path, int fd) {
  takeover t = {0};
  t.rt = dv8__context_runtime(env);
  t.fd = fd;
  char why[512], abs[4096];
  if (realpath(path, abs) == NULL) {
    snprintf(why, sizeof(why), "%s: %s", path, strerror(errno));
    return takeover_fail(&t, why);
  }
  char *error = NULL;
  if (dv8__context_load(env, abs, &error) != 0) {
    snprintf(why, sizeof(why), "%s", error ? error : "the code failed to load");
    free(error);
    return takeover_fail(&t, why);
  }
  if (!dv8__send_all(fd, "R", 1))
    return takeover_fail(&t, "the old process went away");
  uint8_t head[24];
  if (!dv8__recv_all(fd, head, sizeof(head)) || get32(head) != MAGIC)
    return takeover_fail(&t, "no handoff came (or one of another dv8)");
  t.n = get32(head + 4);
  uint32_t pending = get32(head + 8), state_len = get32(head + 12),
           version_len = get32(head + 16), body_len = get32(head + 20);
  if (t.n > (1u << 24) || pending > t.n || body_len > (1u << 30) ||
      (uint64_t)state_len + version_len > body_len)
    return takeover_fail(&t, "the handoff's header is out of bounds");
  t.n_fds = t.n + pending;
  t.fds = malloc((t.n_fds + 1) * sizeof(int));
  t.opened = calloc(t.n + 1, sizeof(*t.opened));
  t.held = calloc(t.n + 1, sizeof(*t.held));
  t.body = malloc(body_len + 1);
  if (t.fds == NULL || t.opened == NULL || t.held == NULL || t.body == NULL) {
    t.n_fds = 0;
    return takeover_fail(&t, "out of memory");
  }
  for (size_t i = 0; i < t.n_fds; i++)
    t.fds[i] = -1;
  for (size_t i = 0; i < t.n_fds; i += FDS_PER_MESSAGE) {
    size_t k = t.n_fds - i < FDS_PER_MESSAGE ? t.n_fds - i : FDS_PER_MESSAGE;
    if (dv8__recv_fds(fd, k, t.fds + i) != 0)
      return takeover_fail(&t, "the descriptors did not come");
  }
  if (!dv8__recv_all(fd, t.body, body_len))
    return takeover_fail(&t, "the state did not come");
  reader r = {t.body, t.body + body_len, 0};
  if (reopen(&t, &r, why, sizeof(why)))
    return takeover_fail(&t, why);
  uint32_t *servers = calloc(pending + 1, sizeof(uint32_t));
  for (uint32_t k = 0; servers != NULL && k < pending; k++)
    servers[k] = take32(&r);
  const uint8_t *state = take(&r, state_len);
  const uint8_t *version = take(&r, version_len);
  if (servers == NULL || r.bad) {
    free(servers);
    return takeover_fail(&t, servers ? "the handoff is cut short"
                                     : "out of memory");
  }
  if (load_state(&t, env, state, state_len, version, version_len, why,
                 sizeof(why))) {
    free(servers);
    return takeover_fail(&t, why);
  }
  /* Connections the old process had taken in but not handed to its code:
   * to the new code's servers now. */
  for (uint32_t k = 0; k < pending; k++) {
    give(&t, servers[k], t.fds[t.n + k]);
    t.fds[t.n + k] = -1;
  }
  free(servers);
  dv8__run_microtasks(env);
  dv8__send_all(fd, "K", 1);
  /* Connections the old process took in meanwhile come last ('L', the
   * server's index, the descriptor); then 'E'. */
  char tag = 0;
  while (dv8__recv_all(fd, &tag, 1) && tag == 'L') {
    uint8_t index[4];
    int late;
    if (!dv8__recv_all(fd, index, 4) || dv8__recv_fds(fd, 1, &late) != 0)
      break;
    give(&t, get32(index), late);
  }
  dv8__run_microtasks(env);
  free(t.fds);
  free(t.opened);
  free(t.body);
  if (t.n_held == 0) {
    free(t.held);
    close(fd);
    return 0;
  }
  /* Then, after 'E', as the old process's queues empty: 'W' and an id
   * (on_flushed). Its end of the socket closes when it is done. */
  flushing *f = calloc(1, sizeof(*f));
  if (f == NULL) { /* cannot wait for its reports: end those connections */
    for (size_t i = 0; i < t.n_held; i++)
      release_writes(t.rt, t.held[i], 1);
    free(t.held);
    close(fd);
    return 0;
  }
  f->rt = t.rt;
  f->fd = fd;
  f->held = t.held;
  f->n_held = t.n_held;
  f->poll.data = f;
  flushing_now = f;
  uv_poll_init(&t.rt->loop, &f->poll, fd);
  uv_poll_start(&f->poll, UV_READABLE, on_flushed);
  if (tag != 'E') /* it went away (killed) after 'K': what it held is lost */
    on_flushed(&f->poll, UV_EOF, 0);
  return 0;
}
