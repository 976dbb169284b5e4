/*
 * takeover.c — the new process's side of an upgrade (upgrade.c is the old
 * one's; docs/processes.md, "Upgrade"). Before its loop starts it says
 * it begins ('S': the old process times the rest), loads the program's
 * code, says so ('R'), receives the handoff (a header, the
 * descriptors, each handle's id, module, type and whether the old process
 * still has writes queued to it, then the state), reopens each handle with
 * its type's import_fd under the id it had (so the ids in the state mean
 * the same in the new code), holds its own writes to the connections the
 * old process still flushes, calls load(state, fromVersion) and answers
 * 'K' (taken over) or 'F' and why. Then, while its loop runs, it lets each
 * held connection's writes go as the old process reports it flushed ('W').
 *
 * Threads: main thread only, once per process.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "contexts/contexts.h"
#include "host/host.h"

static const dv8_handle_type_t *type_of(dv8_handle_t *h) {
  return DV8_HEAD(h)->type;
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

size_t dv8__takeover_flushing(void) {
  return flushing_now != NULL ? flushing_now->n_held : 0;
}

void dv8__takeover_stop(void) {
  if (flushing_now != NULL) {
    uv_close((uv_handle_t *)&flushing_now->poll, on_flushing_closed);
    flushing_now = NULL;
  }
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
    uint64_t id = dv8__wire_get64(f->buf + used + 1);
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

/* ---- taking over ---- */

typedef struct takeover {
  dv8_runtime_t *rt;
  int fd;
  int *fds;
  size_t n_fds;
  dv8_handle_t **opened;
  uint64_t *held;
  size_t n, n_held;
  uint8_t *body;
  size_t body_len;
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
static int reopen(takeover *t, dv8_wire_reader_t *r, char *why, size_t cap) {
  for (size_t i = 0; i < t->n; i++) {
    uint64_t id = dv8__wire_take64(r);
    char module[256], type_name[256];
    dv8__wire_take_name(r, module);
    dv8__wire_take_name(r, type_name);
    const uint8_t *flags = dv8__wire_take(r, 1);
    const uint8_t *carry = NULL;
    size_t carried = 0;
    if (!r->bad && (*flags & 2)) {
      const uint8_t *len = dv8__wire_take(r, 1);
      carried = r->bad ? 0 : *len;
      carry = dv8__wire_take(r, carried);
    }
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
    int (*carry_in)(dv8_handle_t *, const uint8_t *, size_t) =
        DV8_TYPE_OP(type, carry_in);
    if (carried > 0 && (err = carry_in != NULL ? carry_in(h, carry, carried)
                                               : UV_ENOTSUP) != 0) {
      snprintf(why, cap, "a %s could not take what the old one carried: %s",
               type_name, dv8_strerror(err));
      return 1;
    }
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
                      size_t version_len, const uint64_t *stayed,
                      size_t n_stayed, char *why, size_t cap) {
  dv8_reload_state_t *s =
      dv8__reload_state_from(state, state_len, version, version_len);
  dv8__reload_state_stayed(s, stayed, n_stayed);
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

static void on_awaited_too_long(uv_timer_t *t) { *(int *)t->data = 1; }

/* A top-level await still pending (a timer, I/O): the loop runs (it has
 * not started yet: nothing else is in it but what the top level made)
 * until it settles, or until the reload deadline. 0, or 1 and *error. */
static int wait_for_top_level(takeover *t, dv8_env_t *env, char **error) {
  int late = 0, awaiting;
  uv_timer_t timer;
  uv_timer_init(&t->rt->loop, &timer);
  timer.data = &late;
  uv_timer_start(&timer, on_awaited_too_long, dv8__reload_deadline_ms, 0);
  while ((awaiting = dv8__context_awaiting(env, error)) == 1 && !late &&
         !t->rt->stopping)
    uv_run(&t->rt->loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&timer, NULL);
  uv_run(&t->rt->loop, UV_RUN_NOWAIT); /* the timer's close */
  if (awaiting == 1 && *error == NULL) {
    char text[160];
    snprintf(text, sizeof(text),
             "the code's top level did not finish within the reload deadline "
             "of %u ms (--reload-deadline MS)",
             dv8__reload_deadline_ms);
    *error = strdup(text);
  }
  return awaiting != 0;
}

/* The code loaded (its top level run, and settled), and the old process
 * told ('R'). It times this from 'S' (the reload deadline): top-level JS
 * that never returns is stopped there, by the old process. */
static int load_code(takeover *t, dv8_env_t *env, const char *path, char *why,
                     size_t cap) {
  char abs[4096];
  if (realpath(path, abs) == NULL) {
    snprintf(why, cap, "%s: %s", path, strerror(errno));
    return 1;
  }
  if (!dv8__send_all(t->fd, "S", 1)) {
    snprintf(why, cap, "the old process went away");
    return 1;
  }
  char *error = NULL;
  if (dv8__context_load(env, abs, &error) != 0 ||
      wait_for_top_level(t, env, &error) != 0) {
    snprintf(why, cap, "%s", error ? error : "the code failed to load");
    free(error);
    return 1;
  }
  if (!dv8__send_all(t->fd, "R", 1)) {
    snprintf(why, cap, "the old process went away");
    return 1;
  }
  return 0;
}

/* The handoff's header, descriptors and body (into t), and its sizes
 * (pending connections, state, version, connections that stayed). 0, or 1
 * and why. */
static int receive(takeover *t, uint32_t sizes[4], char *why, size_t cap) {
  uint8_t head[28];
  if (!dv8__recv_all(t->fd, head, sizeof(head)) ||
      dv8__wire_get32(head) != DV8_HANDOFF_MAGIC) {
    snprintf(why, cap, "no handoff came (or one of another dv8)");
    return 1;
  }
  t->n = dv8__wire_get32(head + 4);
  sizes[0] = dv8__wire_get32(head + 8);
  sizes[3] = dv8__wire_get32(head + 12);
  sizes[1] = dv8__wire_get32(head + 16);
  sizes[2] = dv8__wire_get32(head + 20);
  uint32_t body_len = dv8__wire_get32(head + 24);
  if (t->n > (1u << 24) || sizes[0] > t->n || body_len > (1u << 30) ||
      (uint64_t)sizes[1] + sizes[2] + 8 * (uint64_t)sizes[3] > body_len) {
    snprintf(why, cap, "the handoff's header is out of bounds");
    return 1;
  }
  t->n_fds = t->n + sizes[0];
  t->fds = malloc((t->n_fds + 1) * sizeof(int));
  t->opened = calloc(t->n + 1, sizeof(*t->opened));
  t->held = calloc(t->n + 1, sizeof(*t->held));
  t->body = malloc(body_len + 1);
  t->body_len = body_len;
  if (t->fds == NULL || t->opened == NULL || t->held == NULL ||
      t->body == NULL) {
    t->n_fds = 0;
    snprintf(why, cap, "out of memory");
    return 1;
  }
  for (size_t i = 0; i < t->n_fds; i++)
    t->fds[i] = -1;
  for (size_t i = 0; i < t->n_fds; i += DV8_HANDOFF_FDS) {
    size_t k = t->n_fds - i < DV8_HANDOFF_FDS ? t->n_fds - i : DV8_HANDOFF_FDS;
    if (dv8__recv_fds(t->fd, k, t->fds + i) != 0) {
      snprintf(why, cap, "the descriptors did not come");
      return 1;
    }
  }
  if (!dv8__recv_all(t->fd, t->body, body_len)) {
    snprintf(why, cap, "the state did not come");
    return 1;
  }
  return 0;
}

/* After 'K': connections the old process took in meanwhile ('L', the
 * server's index, the descriptor), then 'E'; the last tag read. */
static char take_late(takeover *t) {
  char tag = 0;
  while (dv8__recv_all(t->fd, &tag, 1) && tag == 'L') {
    uint8_t index[4];
    int late;
    if (!dv8__recv_all(t->fd, index, 4) || dv8__recv_fds(t->fd, 1, &late) != 0)
      break;
    give(t, dv8__wire_get32(index), late);
  }
  return tag;
}

/* As the old process's queues empty: 'W' and an id (on_flushed) for each
 * connection whose writes are held here. Its end of the socket closes
 * when it is done; tag is what came after 'K'. */
static void wait_for_flush(takeover *t, char tag) {
  flushing *f = calloc(1, sizeof(*f));
  if (f == NULL) { /* cannot wait for its reports: end those connections */
    for (size_t i = 0; i < t->n_held; i++)
      release_writes(t->rt, t->held[i], 1);
    free(t->held);
    close(t->fd);
    return;
  }
  f->rt = t->rt;
  f->fd = t->fd;
  f->held = t->held;
  f->n_held = t->n_held;
  f->poll.data = f;
  flushing_now = f;
  uv_poll_init(&t->rt->loop, &f->poll, t->fd);
  uv_poll_start(&f->poll, UV_READABLE, on_flushed);
  if (tag != 'E') /* it went away (killed) after 'K': what it held is lost */
    on_flushed(&f->poll, UV_EOF, 0);
}

int dv8__run_upgraded(dv8_env_t *env, const char *path, int fd) {
  takeover t = {0};
  t.rt = dv8__context_runtime(env);
  t.fd = fd;
  char why[512];
  uint32_t sizes[4]; /* pending connections, state, version, stayed */
  if (load_code(&t, env, path, why, sizeof(why)) ||
      receive(&t, sizes, why, sizeof(why)))
    return takeover_fail(&t, why);
  dv8_wire_reader_t r = {t.body, t.body + t.body_len, 0};
  if (reopen(&t, &r, why, sizeof(why)))
    return takeover_fail(&t, why);
  uint32_t pending = sizes[0];
  const uint8_t *servers = dv8__wire_take(&r, 4 * (size_t)pending);
  /* Connections that stayed with the old process (TLS): their references
   * in the state revive as such. */
  uint64_t *stayed = calloc((size_t)sizes[3] + 1, sizeof(uint64_t));
  if (stayed == NULL)
    return takeover_fail(&t, "out of memory");
  for (uint32_t k = 0; k < sizes[3]; k++)
    stayed[k] = dv8__wire_take64(&r);
  const uint8_t *state = dv8__wire_take(&r, sizes[1]);
  const uint8_t *version = dv8__wire_take(&r, sizes[2]);
  int failed = r.bad
                   ? (snprintf(why, sizeof(why), "the handoff is cut short"), 1)
                   : load_state(&t, env, state, sizes[1], version, sizes[2],
                                stayed, sizes[3], why, sizeof(why));
  free(stayed);
  if (failed)
    return takeover_fail(&t, why);
  /* Connections the old process had taken in but not handed to its code:
   * to the new code's servers now. */
  for (uint32_t k = 0; k < pending; k++) {
    give(&t, dv8__wire_get32(servers + 4 * k), t.fds[t.n + k]);
    t.fds[t.n + k] = -1;
  }
  dv8__run_microtasks(env);
  dv8__send_all(fd, "K", 1);
  char tag = take_late(&t);
  dv8__run_microtasks(env);
  free(t.fds);
  free(t.opened);
  free(t.body);
  if (t.n_held > 0) {
    wait_for_flush(&t, tag);
    return 0;
  }
  free(t.held);
  close(fd);
  return 0;
}
