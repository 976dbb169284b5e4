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
 * connection until then, so no byte goes out of order. The new side is
 * takeover.c.
 *
 * Only the V8 steps (loading the code, capturing the state) are
 * contexts/'s. Threads: main thread only; one upgrade at a time.
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

/* The new process's ids start this far past the old one's next id. */
#define ID_GAP ((uint64_t)1 << 32)

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

/* A connection h took in ahead and has not delivered (a paused server's:
 * libuv holds one until asked for it): 0 and *fd, or UV_ENOENT. */
static int take_pending(dv8_handle_t *h, int *fd) {
  int (*take)(dv8_handle_t *, int *) = DV8_TYPE_OP(type_of(h), take_pending);
  return take != NULL ? take(h, fd) : UV_ENOENT;
}

/* Header, descriptors, then each handle's id, module and type, which have
 * writes queued here, the pending connections' servers, and the state. */
static void send_handoff(upgrade *u) {
  dv8_wire_t head = {0}, body = {0};
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
    dv8__wire_put64(&body, DV8_HEAD(h)->id);
    dv8__wire_put_name(&body, module);
    dv8__wire_put_name(&body, type->name);
    dv8__wire_put(&body, &flags, 1);
  }
  /* Connections a paused server took in ahead (libuv holds one until asked
   * for it, and would close it with this process) go too. */
  u->copies = calloc(u->moving.len + 1, sizeof(int));
  if (u->copies == NULL)
    body.failed = 1;
  size_t pending = 0;
  for (size_t i = 0; u->copies != NULL && i < u->moving.len; i++) {
    int fd;
    if (take_pending(u->moving.items[i], &fd) != 0)
      continue;
    u->copies[u->n_copies++] = fd;
    fds[n_fds++] = fd;
    dv8__wire_put32(&body, (uint32_t)i);
    pending++;
  }
  dv8__wire_put(&body, u->state.data, u->state.len);
  dv8__wire_put(&body, u->version.data, u->version.len);
  dv8__wire_put32(&head, DV8_HANDOFF_MAGIC);
  dv8__wire_put32(&head, (uint32_t)u->moving.len);
  dv8__wire_put32(&head, (uint32_t)pending);
  dv8__wire_put32(&head, (uint32_t)u->state.len);
  dv8__wire_put32(&head, (uint32_t)u->version.len);
  dv8__wire_put32(&head, (uint32_t)body.len);
  int ok = !head.failed && !body.failed;
  ok = ok && dv8__send_all(u->fd, head.data, head.len);
  for (size_t i = 0; ok && i < n_fds; i += DV8_HANDOFF_FDS)
    ok = dv8__send_fds(u->fd, fds + i,
                       n_fds - i < DV8_HANDOFF_FDS ? n_fds - i
                                                   : DV8_HANDOFF_FDS);
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
    int fd;
    if (take_pending(u->moving.items[i], &fd) != 0)
      continue;
    dv8_wire_t rec = {0};
    dv8__wire_put(&rec, "L", 1);
    dv8__wire_put32(&rec, (uint32_t)i);
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
    dv8_wire_t rec = {0};
    dv8__wire_put(&rec, "W", 1);
    dv8__wire_put64(&rec, DV8_HEAD(h)->id);
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

/* Why rt cannot upgrade now (in why), or NULL if it can. */
static const char *refusal(dv8_runtime_t *rt, char *why, size_t cap) {
  if (current != NULL)
    return "an upgrade is already under way";
  if (dv8__reload_busy(rt))
    return "a reload is under way (its new code's top level still awaits)";
  size_t flushing = dv8__takeover_flushing();
  if (flushing > 0) {
    snprintf(why, cap,
             "the process this one took over from is still sending what it "
             "had queued (%zu connections): upgrade again once it has ended",
             flushing);
    return why;
  }
  if (rt->stopping || rt->thread != NULL ||
      dv8__context_main_path(rt->env) == NULL)
    return "only a program run from a file upgrades";
  if (!dv8__context_has_export(rt->env, "load"))
    return "the program exports no load(): its new process would start "
           "afresh, taking nothing over (docs/reload.md)";
  return NULL;
}

/* Starts the same program, as it was started, with sock on its fd 3: 0,
 * or an error; *tried: uv_spawn ran (its handle is then to be closed, even
 * when it failed). */
static int spawn_new(upgrade *u, int sock, int *tried) {
  dv8_runtime_t *rt = u->rt;
  char exe[4096];
  size_t exe_len = sizeof(exe);
  char first_id[64];
  char **argv = uv_exepath(exe, &exe_len) == 0
                    ? new_argv(rt, exe, dv8__context_main_path(rt->env))
                    : NULL;
  char **envp = argv != NULL ? new_env(rt, first_id, sizeof(first_id)) : NULL;
  *tried = envp != NULL;
  if (envp == NULL) {
    free(argv);
    return UV_ENOMEM;
  }
  uv_stdio_container_t stdio[4];
  for (int i = 0; i < 3; i++) {
    stdio[i].flags = UV_INHERIT_FD;
    stdio[i].data.fd = i;
  }
  stdio[3].flags = UV_INHERIT_FD;
  stdio[3].data.fd = sock;
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
  return err;
}

int dv8__upgrade(dv8_runtime_t *rt, void (*done)(void *, int, const char *),
                 void *arg) {
  char why[512];
  const char *no = refusal(rt, why, sizeof(why));
  if (no != NULL)
    return refuse(no, done, arg);
  upgrade *u = calloc(1, sizeof(*u));
  if (u == NULL)
    return refuse("out of memory", done, arg);
  u->rt = rt;
  u->done = done;
  u->done_arg = arg;
  int sv[2];
  if (collect(u, why, sizeof(why))) {
    free_upgrade(u);
    return refuse(why, done, arg);
  }
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    snprintf(why, sizeof(why), "socketpair: %s", strerror(errno));
    free_upgrade(u);
    return refuse(why, done, arg);
  }
  int tried;
  int err = spawn_new(u, sv[1], &tried);
  close(sv[1]);
  if (!tried) {
    close(sv[0]);
    free_upgrade(u);
    return refuse("cannot start this program's binary again", done, arg);
  }
  u->fd = sv[0];
  u->poll.data = u;
  u->drain.data = u;
  uv_poll_init(&rt->loop, &u->poll, u->fd);
  uv_timer_init(&rt->loop, &u->drain);
  u->handles_open = 3; /* with the child's: uv_spawn made it, even failing */
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
  dv8__takeover_stop();
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
