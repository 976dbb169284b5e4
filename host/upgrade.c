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
 * The old process times the new one itself (one uv timer), so that a new
 * process stuck anywhere, in JS or in C, cannot leave it waiting: START_MS
 * from the spawn until it says it begins evaluating the code ('S'), the
 * reload deadline from there until 'R' (the new code's top level, as a
 * reload's prepare; this process is not paused meanwhile), and the reload
 * deadline and HANDOFF_MS after the handoff until 'K' (its load() has the
 * reload deadline under its own watchdog, which answers 'F'; the rest is
 * for reopening the handles, and for a hang no watchdog stops). Past one,
 * the new process is stopped (SIGTERM, SIGKILL after KILL_GRACE_MS) and
 * only once it has exited does the upgrade fail and this process resume:
 * until then its end of the socket stays open, so that a new process
 * which got as far as 'K' waits for what follows ('E') instead of serving.
 * A new process that failed is reaped: its handle stays open until it has
 * exited (a closed one would leave a zombie).
 *
 * Only the V8 steps (loading the code, capturing the state) are
 * contexts/'s. Threads: main thread only; one upgrade at a time (and any
 * number of failed ones waiting for their new process to exit).
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
int dv8__upgrade_handed_over;

/* The new process's ids start this far past the old one's next id. */
#define ID_GAP ((uint64_t)1 << 32)

/* The new process's time to start (exec, libraries, V8: dv8's own work,
 * whatever the program, so not the reload deadline) until it says 'S'. */
#define START_MS 10000
/* After the handoff, past the reload deadline its load() has. */
#define HANDOFF_MS 2000
/* A new process being stopped has this long after SIGTERM before SIGKILL;
 * one that failed by itself, ENDING_MS to exit. */
#define KILL_GRACE_MS 1000
#define ENDING_MS 5000

/* Where the new process is: what the deadline timer waits for. */
enum { STARTING, LOADING, HANDING_OFF };

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
  uv_timer_t deadline; /* the new process's: see the top of this file */
  int handles_open;    /* poll, child, drain, deadline: freed once closed */
  int phase;           /* STARTING, LOADING, HANDING_OFF */
  int sent;            /* the descriptors went: wait for 'K' or 'F' */
  int took_over;       /* 'K' came: only flushing is left */
  int finished;
  int exited;   /* the new process has exited: its handle may close */
  int stopping; /* past a deadline: failing (why in late) once it exits */
  char late[256];
  struct upgrade *next_ending; /* failed, its new process not yet exited */
  int paused;
  handles cleared;      /* stay behind, paused (the old code's timers) */
  handles moving;       /* go to the new process */
  handles unflushed;    /* moving, with writes of ours still queued */
  handles staying;      /* cannot go, stay served here (type's stays op) */
  uint64_t *stayed_ids; /* theirs, to tell apart those that have closed */
  char why_stay[256];   /* what a staying one's type said */
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
static upgrade *ending;  /* failed ones, until their new process exits */

static void free_upgrade(upgrade *u) {
  free(u->cleared.items);
  free(u->moving.items);
  free(u->unflushed.items);
  free(u->staying.items);
  free(u->stayed_ids);
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

static void on_deadline(uv_timer_t *t);

static void close_child(upgrade *u) {
  uv_close((uv_handle_t *)&u->child, on_closed);
  uv_close((uv_handle_t *)&u->deadline, on_closed);
}

/* Closes what the upgrade itself holds (its socket, its timers, copies of
 * pending connections, the new process's handle); u is freed once libuv
 * is done with them. A failed new process not yet exited keeps its handle
 * (and the timer, to SIGKILL it should it linger) until it exits, unless
 * this process is ending (force). */
static void close_upgrade(upgrade *u, int force) {
  uv_close((uv_handle_t *)&u->poll, on_closed);
  uv_close((uv_handle_t *)&u->drain, on_closed);
  close(u->fd);
  for (size_t i = 0; i < u->n_copies; i++)
    close(u->copies[i]);
  u->n_copies = 0;
  if (u->exited || u->took_over || force)
    return close_child(u);
  u->next_ending = ending;
  ending = u;
  uv_timer_start(&u->deadline, on_deadline, ENDING_MS, 0);
}

/* u's new process has exited: it leaves the list of those waited for. */
static void unlist_ending(upgrade *u) {
  for (upgrade **l = &ending; *l != NULL; l = &(*l)->next_ending)
    if (*l == u) {
      *l = u->next_ending;
      return;
    }
}

static void resume_all(upgrade *u) {
  for (size_t i = 0; i < u->cleared.len; i++)
    type_of(u->cleared.items[i])->resume(u->cleared.items[i]);
  for (size_t i = 0; i < u->moving.len; i++)
    type_of(u->moving.items[i])->resume(u->moving.items[i]);
  for (size_t i = 0; i < u->staying.len; i++)
    type_of(u->staying.items[i])->resume(u->staying.items[i]);
}

/* The end, either way: the caller hears; on failure the old code resumes. */
static void finish(upgrade *u, int status, const char *text) {
  if (u->finished)
    return;
  u->finished = 1;
  current = NULL;
  uv_timer_stop(&u->deadline);
  if (u->paused && status != 0)
    resume_all(u);
  if (status != 0)
    fprintf(stderr, "dv8: upgrade failed, this process goes on: %s\n", text);
  if (u->done != NULL)
    u->done(u->done_arg, status, text);
  close_upgrade(u, 0);
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
  if (!u->sent && !u->exited) /* it waits for what will not come */
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
    size_t (*carry_out)(dv8_handle_t *, uint8_t *, size_t) =
        DV8_TYPE_OP(type, carry_out);
    uint8_t carry[DV8_HANDOFF_CARRY];
    size_t carried = carry_out != NULL ? carry_out(h, carry, sizeof(carry)) : 0;
    if (carried > 0)
      flags |= 2;
    dv8__wire_put64(&body, DV8_HEAD(h)->id);
    dv8__wire_put_name(&body, module);
    dv8__wire_put_name(&body, type->name);
    dv8__wire_put(&body, &flags, 1);
    if (carried > 0) {
      uint8_t len =
          (uint8_t)(carried < sizeof(carry) ? carried : sizeof(carry));
      dv8__wire_put(&body, &len, 1);
      dv8__wire_put(&body, carry, len);
    }
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
  /* What stays here: the new code's references to it revive as such. */
  for (size_t i = 0; i < u->staying.len; i++)
    dv8__wire_put64(&body, DV8_HEAD(u->staying.items[i])->id);
  dv8__wire_put(&body, u->state.data, u->state.len);
  dv8__wire_put(&body, u->version.data, u->version.len);
  dv8__wire_put32(&head, DV8_HANDOFF_MAGIC);
  dv8__wire_put32(&head, (uint32_t)u->moving.len);
  dv8__wire_put32(&head, (uint32_t)pending);
  dv8__wire_put32(&head, (uint32_t)u->staying.len);
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

/* The connections that stayed here and have not closed (a closed one has
 * left the table: its id finds nothing, and ids are never reused). */
static size_t stayed_open(upgrade *u) {
  size_t open = 0;
  for (size_t i = 0; i < u->staying.len; i++)
    if (dv8__handles_find(&u->rt->handles, u->stayed_ids[i]) != NULL)
      open++;
  return open;
}

static void on_flush_tick(uv_timer_t *t);

/* While connections that stayed are open, the old code serves them (its
 * events run as before the upgrade): 1, the tick comes again. At the flush
 * deadline those left are closed: 0, the process ends. */
static int serve_stayed(upgrade *u, int late) {
  if (u->staying.len == 0)
    return 0;
  size_t open = stayed_open(u);
  if (open > 0 && !late) {
    uv_timer_start(&u->drain, on_flush_tick, 100, 0);
    return 1;
  }
  if (open > 0) {
    fprintf(stderr,
            "dv8: upgraded: %zu connections that stayed here were still open "
            "at the flush deadline (%u ms, --flush-deadline): they are "
            "closed\n",
            open, dv8__flush_deadline_ms);
    for (size_t i = 0; i < u->staying.len; i++) {
      dv8_handle_t *h = dv8__handles_find(&u->rt->handles, u->stayed_ids[i]);
      if (h != NULL)
        dv8__handle_close(h);
    }
  } else {
    fprintf(stderr,
            "dv8: upgraded: the %zu connections that stayed here "
            "have ended\n",
            u->staying.len);
  }
  u->staying.len = 0;
  return 0;
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
  if (serve_stayed(u, late))
    return;
  finish(u, 0, "");
}

/* Connections that could not go stay served here, by the old code, until
 * they end or the flush deadline passes; the rest of the old code's
 * handles (its timers) stay paused, closed with the process. 0, or
 * UV_ENOMEM. */
static int stay_here(upgrade *u) {
  u->stayed_ids = malloc(u->staying.len * sizeof(uint64_t));
  if (u->stayed_ids == NULL)
    return UV_ENOMEM;
  for (size_t i = 0; i < u->staying.len; i++) {
    dv8_handle_t *h = u->staying.items[i];
    u->stayed_ids[i] = DV8_HEAD(h)->id;
    type_of(h)->resume(h);
  }
  /* The old code may need its timers to finish what it serves them (an
   * HTTP answer streamed on a timer): they go on too. (The process ends
   * when the connections that stayed have, whatever timers are left.) */
  for (size_t i = 0; i < u->cleared.len; i++)
    type_of(u->cleared.items[i])->resume(u->cleared.items[i]);
  fprintf(stderr,
          "dv8: upgraded: %zu connections stay with this process (pid %d) "
          "until they end or the flush deadline (%u ms) passes: %s\n",
          u->staying.len, (int)getpid(), dv8__flush_deadline_ms, u->why_stay);
  return 0;
}

/* 'K': the new process has taken over, and the caller hears so now. No JS
 * runs here again (stopping), unless connections stayed: then the old code
 * runs for them alone (a reload or upgrade is refused: current stays set
 * until the end). What went and has nothing queued closes at once, the
 * rest once flushed. */
static void taken_over(upgrade *u) {
  uv_timer_stop(&u->deadline);
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
  /* systemd (or dv8 --init) follows the program to its new process: this
   * one's exit is not the service's. */
  dv8__notify("MAINPID=%d", u->child.pid);
  dv8__upgrade_handed_over = 1;
  /* What went is the new process's: the old code no longer finds it by
   * its id, nor hears of it, and it closes here at once or once flushed. */
  size_t kept = 0;
  for (size_t i = 0; i < u->moving.len; i++) {
    dv8_handle_t *h = u->moving.items[i];
    DV8_HEAD(h)->flags |= DV8_HANDLE_AWAY;
    if (has(&u->unflushed, h))
      u->moving.items[kept++] = h;
    else
      dv8__handle_close(h);
  }
  if (u->staying.len > 0 && stay_here(u))
    u->staying.len = 0; /* no memory to track them: they end with it */
  if (u->staying.len == 0)
    u->rt->stopping = 1;
  u->moving.len = kept;
  u->drain_until = uv_now(&u->rt->loop) + dv8__flush_deadline_ms;
  on_flush_tick(&u->drain);
}

/* The handles that go (moving) or stay behind paused (cleared), as they
 * are now: taken again when the new process is ready, as handles come and
 * go meanwhile. 0, or why not (in why) if one cannot go. */
static int collect(upgrade *u, char *why, size_t cap) {
  u->cleared.len = u->moving.len = u->staying.len = 0;
  dv8_handle_table_t *t = &u->rt->handles;
  for (dv8_handle_t *h = dv8__handles_next(t, NULL); h != NULL;
       h = dv8__handles_next(t, h)) {
    dv8_head_t *hh = DV8_HEAD(h);
    if (hh->flags & DV8_HANDLE_CLOSING)
      continue;
    int err = 0;
    const char *(*stays)(dv8_handle_t *) = DV8_TYPE_OP(hh->type, stays);
    const char *stay = NULL;
    if (hh->type->on_upgrade == DV8_CROSS_KEEP && stays != NULL &&
        (stay = stays(h)) != NULL) {
      err = push(&u->staying, h);
      snprintf(u->why_stay, sizeof(u->why_stay), "%s", stay);
    } else if (hh->type->on_upgrade == DV8_CROSS_KEEP)
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
  for (size_t i = 0; i < u->staying.len; i++)
    type_of(u->staying.items[i])->pause(u->staying.items[i]);
  u->paused = 1;
  char *error = NULL;
  /* unload() has the reload deadline, as in a reload. */
  dv8_deadline_t deadline;
  dv8__deadline_arm(&deadline, u->rt, dv8__reload_deadline_ms);
  dv8_reload_state_t *state = dv8__reload_capture(
      u->rt, u->rt->env, u->moving.items, u->moving.len, 0, &error);
  int late = dv8__deadline_disarm(&deadline);
  if (state == NULL) {
    char text[128];
    snprintf(text, sizeof(text),
             "unload() ran past the reload deadline of %u ms "
             "(--reload-deadline MS)",
             dv8__reload_deadline_ms);
    fail(u, late            ? text
            : error != NULL ? error
                            : "the state could not be captured");
    free(error);
    return;
  }
  dv8__reload_state_bytes(state, &u->state, &u->version);
  dv8__reload_state_free(state);
  if (u->state.data == NULL || u->version.data == NULL)
    return failf(u, "the state", UV_ENOMEM);
  send_handoff(u);
}

/* The new process has loaded the code ('R'): no deadline while this one
 * captures and sends (its own JS has the watchdog's), then the handoff's. */
static void loaded(upgrade *u) {
  uv_timer_stop(&u->deadline);
  begin(u);
  if (u->finished)
    return;
  u->phase = HANDING_OFF;
  uv_timer_start(&u->deadline, on_deadline,
                 (uint64_t)dv8__reload_deadline_ms + HANDOFF_MS, 0);
}

static void on_readable(uv_poll_t *p, int status, int events) {
  (void)events;
  upgrade *u = p->data;
  if (u->finished || u->took_over || u->stopping)
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
    } else if (buf[i] == 'S' && u->phase == STARTING) {
      /* It evaluates the code now: the reload deadline, as for a reload's
       * prepare. (A dv8 that does not say 'S' has START_MS for all.) */
      u->phase = LOADING;
      uv_timer_start(&u->deadline, on_deadline, dv8__reload_deadline_ms, 0);
    } else if (buf[i] == 'R' && u->phase != HANDING_OFF) {
      loaded(u);
      if (u->finished)
        return;
    } else if (buf[i] == 'K' && u->sent) {
      return taken_over(u);
    } else if (buf[i] == 'F') {
      u->reply[u->reply_len++] = 'F';
    }
  }
}

/* Past the deadline of the phase the new process is in: it is stopped,
 * and the upgrade fails once it has exited (on_child_exit). Past the grace
 * after that, or past ENDING_MS for a failed one: SIGKILL. */
static void on_deadline(uv_timer_t *t) {
  upgrade *u = t->data;
  if (u->finished || u->stopping) {
    uv_process_kill(&u->child, SIGKILL);
    return;
  }
  /* What came meanwhile first ('R', 'K', 'F', or the end). */
  int phase = u->phase;
  on_readable(&u->poll, 0, UV_READABLE);
  if (u->finished || u->took_over || u->phase != phase)
    return;
  if (u->reply_len > 0) { /* it is failing by itself: its reason so far */
    u->reply[u->reply_len] = '\0';
    return fail(u, u->reply + 1);
  }
  if (phase == STARTING)
    snprintf(u->late, sizeof(u->late),
             "the new process did not start within %d ms", START_MS);
  else if (phase == LOADING)
    snprintf(u->late, sizeof(u->late),
             "the new process did not load within %u ms (--reload-deadline)",
             dv8__reload_deadline_ms);
  else
    snprintf(u->late, sizeof(u->late),
             "the new process did not take over within %u ms (its load() "
             "has the --reload-deadline of %u ms, the handoff %d ms more)",
             dv8__reload_deadline_ms + HANDOFF_MS, dv8__reload_deadline_ms,
             HANDOFF_MS);
  u->stopping = 1;
  uv_poll_stop(&u->poll);
  uv_process_kill(&u->child, SIGTERM);
  uv_timer_start(&u->deadline, on_deadline, KILL_GRACE_MS, 0);
}

static void on_child_exit(uv_process_t *p, int64_t status, int signal) {
  upgrade *u = p->data;
  u->exited = 1;
  if (u->finished && !u->took_over) { /* a failed one: reaped now */
    unlist_ending(u);
    close_child(u);
    return;
  }
  if (u->finished || u->took_over)
    return;
  if (u->stopping)
    return finish(u, 1, u->late);
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
  char **argv = calloc((size_t)rt->argc + 10, sizeof(char *));
  if (argv == NULL)
    return NULL;
  static char reload_ms[16], flush_ms[16], heap_mb[24];
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
  if (rt->heap_limit_mb > 0) {
    snprintf(heap_mb, sizeof(heap_mb), "%zu", rt->heap_limit_mb);
    argv[n++] = "--heap-limit";
    argv[n++] = heap_mb;
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

int dv8__upgrade_busy(void) {
  return current == NULL ? 0 : current->took_over ? 2 : 1;
}

/* Why rt cannot upgrade now (in why), or NULL if it can. */
static const char *refusal(dv8_runtime_t *rt, char *why, size_t cap) {
  if (current != NULL && current->took_over)
    return "this process has handed its program to a new one (an upgrade) "
           "and only serves the connections that stayed: upgrade the new one";
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
  dv8__metrics_count(rt, DV8_METRIC_UPGRADES);
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
  u->deadline.data = u;
  uv_poll_init(&rt->loop, &u->poll, u->fd);
  uv_timer_init(&rt->loop, &u->drain);
  uv_timer_init(&rt->loop, &u->deadline);
  u->handles_open = 4; /* with the child's: uv_spawn made it, even failing */
  current = u;
  if (err) {
    u->exited = 1; /* it never ran */
    snprintf(why, sizeof(why), "cannot start the new process: %s",
             uv_strerror(err));
    finish(u, 1, why);
    return DV8_EEXCEPTION;
  }
  uv_poll_start(&u->poll, UV_READABLE, on_readable);
  uv_timer_start(&u->deadline, on_deadline, START_MS, 0);
  return 0;
}

void dv8__upgrade_stop(void) {
  dv8__takeover_stop();
  /* Failed new processes not yet gone: not waited for any longer (their
   * handles close; one that lingers is killed). */
  while (ending != NULL) {
    upgrade *u = ending;
    ending = u->next_ending;
    uv_process_kill(&u->child, SIGKILL);
    close_child(u);
  }
  upgrade *u = current;
  if (u == NULL)
    return;
  /* Ending mid-upgrade (SIGTERM before the new process took over): the
   * caller hears, the new process is stopped, and nothing resumes. */
  current = NULL;
  u->finished = 1;
  if (!u->took_over && !u->exited) /* SIGKILL if it ignored SIGTERM */
    uv_process_kill(&u->child, u->stopping ? SIGKILL : SIGTERM);
  if (u->done != NULL)
    u->done(u->done_arg, 1, "this process is ending");
  close_upgrade(u, 1);
}
