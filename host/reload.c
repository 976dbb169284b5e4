/*
 * reload.c — the reload transaction (docs/reload.md): a thread's code is
 * replaced by a fresh context loaded from disk, its state carried across
 * as serdes bytes, its handles kept; a reload that fails at any step
 * changes nothing. Every trigger comes here: SIGHUP and the control socket
 * (signals.c, control.c), --watch (watch.c), dv8.reload() and a thread's
 * reload message (dv8__reload_request).
 *
 * The steps, in order: refuse what cannot reload (an upgrade under way, a
 * program run from no file or exporting no load(), a handle whose type
 * refuses); prepare (contexts/: a fresh context, the module graph read and
 * evaluated); pause every handle; capture (the old code's unload()); load
 * (the new code's load(state)); then commit (the handles move to the new
 * context with what it bound to their slots, the old code's timers close,
 * the old context retires) or abort (the new context's handles close, the
 * old code's resume as they were). A deadline (watchdog.c) bounds prepare,
 * unload() and load() together.
 *
 * Threads: runs on the runtime's own thread, outside any JS call (requests
 * made from JS wait for an idle callback).
 */
#include <stdlib.h>
#include <string.h>

#include "contexts/contexts.h"
#include "host/host.h"

/* The handles a reload takes, sorted by what their types say. */
typedef struct crossing {
  dv8_handle_t **keep; /* go on under the new code */
  size_t n_keep;
  dv8_handle_t **clear; /* closed when the new code takes over */
  size_t n_clear;
} crossing;

static void crossing_free(crossing *c) {
  free(c->keep);
  free(c->clear);
}

/* The handles of rt, sorted; 0, or 1 and why not (a handle refuses). */
static int collect(dv8_runtime_t *rt, crossing *c, char *why, size_t cap) {
  dv8_handle_table_t *t = &rt->handles;
  memset(c, 0, sizeof(*c));
  c->keep = malloc((t->live + 1) * sizeof(dv8_handle_t *));
  c->clear = malloc((t->live + 1) * sizeof(dv8_handle_t *));
  if (c->keep == NULL || c->clear == NULL) {
    snprintf(why, cap, "out of memory");
    return 1;
  }
  for (dv8_handle_t *h = dv8__handles_next(t, NULL); h != NULL;
       h = dv8__handles_next(t, h)) {
    dv8_head_t *hh = DV8_HEAD(h);
    if (hh->flags & DV8_HANDLE_CLOSING)
      continue;
    if (hh->type->on_reload == DV8_CROSS_KEEP)
      c->keep[c->n_keep++] = h;
    else if (hh->type->on_reload == DV8_CROSS_CLEAR)
      c->clear[c->n_clear++] = h;
    else {
      snprintf(why, cap,
               "a %s (handle %llu) is open, and it cannot cross a "
               "reload",
               hh->type->name, (unsigned long long)hh->id);
      return 1;
    }
  }
  return 0;
}

/* Closes every handle env's code made: the discarded new code's on abort,
 * the old code's cleared ones (and whatever unload() opened) on commit,
 * so that nothing fires into a disposed context. */
static void close_handles_of(dv8_runtime_t *rt, dv8_env_t *env) {
  dv8_handle_table_t *t = &rt->handles;
  for (dv8_handle_t *h = dv8__handles_next(t, NULL); h != NULL;
       h = dv8__handles_next(t, h))
    if (DV8_HEAD(h)->env == env)
      dv8__handle_close(h); /* a port's close op ends its thread first */
}

/* A discarded context's handles close and lose what its code bound: their
 * close callbacks would call into the context, disposed before they run. */
static void discard(dv8_runtime_t *rt, dv8_env_t *env) {
  dv8_handle_table_t *t = &rt->handles;
  for (dv8_handle_t *h = dv8__handles_next(t, NULL); h != NULL;
       h = dv8__handles_next(t, h))
    if (DV8_HEAD(h)->env == env)
      dv8__slots_clear(h);
  close_handles_of(rt, env);
  dv8__reload_discard(rt, env);
}

/* In a thread, the parent hears how each reload went (Thread.onReload). */
static int report(dv8_runtime_t *rt, int status) {
  if (rt->thread == NULL && !rt->stopping)
    dv8__notify("READY=1");
  if (rt->thread != NULL)
    dv8__thread_reloaded(rt, status == 0 ? NULL : rt->last_reload_error);
  return status;
}

/* refused: nothing was tried (the old code never paused). A reload whose
 * code called dv8.exit() did not fail: the program ends, as asked. */
static int failed(dv8_runtime_t *rt, int refused, const char *why) {
  const char *lead =
      refused ? "reload refused" : "reload failed, the old code goes on";
  if (rt->stopping && !refused) {
    fprintf(stderr, "dv8: reload: %s: the program ends with status %d\n", why,
            rt->exit_code);
    snprintf(rt->last_reload_error, sizeof(rt->last_reload_error), "%s", why);
    return report(rt, DV8_EEXCEPTION);
  }
  fprintf(stderr, "dv8: %s: %s\n", lead, why);
  snprintf(rt->last_reload_error, sizeof(rt->last_reload_error), "%s", why);
  rt->last_reload_refused = refused;
  rt->reload_failures++;
  dv8__metrics_count(rt, refused ? DV8_METRIC_RELOAD_REFUSED
                                 : DV8_METRIC_RELOAD_FAILS);
  return report(rt, DV8_EEXCEPTION);
}

/* Why rt cannot reload now, before anything is touched; NULL if it can. */
static const char *refusal(dv8_runtime_t *rt) {
  if (rt->env == NULL || rt->stopping)
    return "the program is ending";
  if (dv8__upgrade_busy() == 2)
    return "this process has handed its program to a new one (an upgrade) "
           "and only serves the connections that stayed: reload the new one";
  if (dv8__upgrade_busy())
    return "an upgrade is under way (it hands this program to a new "
           "process; reload that one once it has taken over)";
  if (dv8__context_main_path(rt->env) == NULL)
    return rt->thread != NULL
               ? "only a thread started from a module file reloads"
               : "only a program run from a file reloads";
  if (!dv8__context_has_export(rt->env, "load"))
    return "the program exports no load(): it is not reloadable (its new "
           "code would run its top level again with nothing carried over; "
           "see docs/reload.md)";
  return NULL;
}

static void pause_all(const crossing *c) {
  for (size_t i = 0; i < c->n_clear; i++)
    DV8_HEAD(c->clear[i])->type->pause(c->clear[i]);
  for (size_t i = 0; i < c->n_keep; i++)
    DV8_HEAD(c->keep[i])->type->pause(c->keep[i]); /* reads stop at libuv */
}

/* The old code goes on: what the discarded code bound goes, every handle
 * resumes as it was (a stream the old code had paused itself stays
 * paused: its type's resume knows), and the new context is disposed. */
static void abort_reload(dv8_runtime_t *rt, const crossing *c,
                         dv8_env_t *new_env) {
  for (size_t i = 0; i < c->n_clear; i++)
    DV8_HEAD(c->clear[i])->type->resume(c->clear[i]);
  for (size_t i = 0; i < c->n_keep; i++) {
    dv8__slots_abort(c->keep[i]);
    DV8_HEAD(c->keep[i])->type->resume(c->keep[i]);
  }
  if (new_env != NULL)
    discard(rt, new_env);
}

/* The new code takes over: the handles that cross move to its context
 * with what it bound to their slots (or nothing: a stream then stays
 * paused, its bytes waiting in the kernel, until the new code reads), the
 * old code's other handles close, and the old context retires. */
static void commit_reload(dv8_runtime_t *rt, const crossing *c,
                          dv8_env_t *old_env, dv8_env_t *new_env,
                          dv8_reload_state_t *state) {
  for (size_t i = 0; i < c->n_keep; i++) {
    dv8_handle_t *h = c->keep[i];
    DV8_HEAD(h)->env = new_env;
    dv8__slots_commit(h, new_env);
    DV8_HEAD(h)->type->resume(h);
  }
  close_handles_of(rt, old_env);
  dv8__reload_commit(rt, old_env, new_env, state);
}

/* A reload under way (one per thread at a time): prepared, its new code's
 * top level still awaiting (a timer, I/O), the rest to come once that has
 * settled; or about to go on (settled). */
struct dv8_reload_s {
  dv8_env_t *new_env;
  uint64_t t0;       /* uv_hrtime() when it began */
  uint64_t prepared; /* ... when the new code's top level was done */
  uint64_t seq;      /* which reload the settle callback is for */
  int settled;       /* 1: fulfilled, -1: rejected (why in error) */
  char error[1024];
  uv_timer_t timer; /* the deadline while the top level awaits */
  uv_idle_t idle;   /* the rest of the reload, outside any JS call */
  dv8_reload_done_cb done;
  void *arg;
  int busy;    /* one is under way */
  int threads; /* then the threads' reloads (dv8__reload_request) */
  uv_idle_t request;
  int closing; /* dv8__reload_stop: handles left to close */
  int waiting; /* for unfinished work of the old code (settle) */
  uint64_t wait_until;
};

static void finish(dv8_runtime_t *rt, int status) {
  struct dv8_reload_s *r = rt->reload;
  dv8_reload_done_cb done = r->done;
  void *arg = r->arg;
  r->done = NULL;
  r->arg = NULL;
  r->busy = 0;
  if (done != NULL)
    done(rt, status, arg);
}

/* The steps after prepare: pause, capture, load, then commit or abort,
 * within what is left of the deadline since t0 (t1: prepare's end). */
static int take_over(dv8_runtime_t *rt, dv8_env_t *new_env, uint64_t t0,
                     uint64_t t1) {
  char text[1024];
  crossing c;
  if (collect(rt, &c, text, sizeof(text))) {
    crossing_free(&c);
    discard(rt, new_env);
    return failed(rt, 1, text);
  }
  dv8_env_t *old_env = rt->env;
  dv8_reload_state_t *state = NULL;
  char *error = NULL;
  const char *step = "unload()";
  uint64_t spent_ms = (uv_hrtime() - t0) / 1000000;
  unsigned left = spent_ms < dv8__reload_deadline_ms
                      ? dv8__reload_deadline_ms - (unsigned)spent_ms
                      : 1;
  dv8_deadline_t deadline;
  dv8__deadline_arm(&deadline, rt, left);
  /* Nothing of the old code runs after unload() has captured the state. */
  pause_all(&c);
  state = dv8__reload_capture(rt, old_env, c.keep, c.n_keep, 1, &error);
  if (state != NULL) {
    step = "load()";
    if (dv8__reload_load(rt, new_env, state, &error) != 0) {
      dv8__reload_state_free(state);
      state = NULL;
    }
  }
  if (dv8__deadline_disarm(&deadline) && state == NULL)
    snprintf(text, sizeof(text),
             "%s ran past the reload deadline of %u ms (--reload-deadline MS)",
             step, dv8__reload_deadline_ms);
  else if (state == NULL)
    snprintf(text, sizeof(text), "%s",
             error != NULL ? error : "the new code failed to load");
  free(error);
  if (state == NULL) {
    abort_reload(rt, &c, new_env);
    crossing_free(&c);
    return failed(rt, 0, text);
  }
  commit_reload(rt, &c, old_env, new_env, state);
  crossing_free(&c);
  rt->reloads++;
  rt->last_reload_error[0] = '\0';
  rt->last_prepare_ns = t1 - t0;
  rt->last_pause_ns = uv_hrtime() - t1;
  dv8__metrics_count(rt, DV8_METRIC_RELOADS);
  dv8__metrics_observe(rt, DV8_HIST_RELOAD_PAUSE, rt->last_pause_ns);
  dv8__metrics_observe(rt, DV8_HIST_RELOAD,
                       rt->last_prepare_ns + rt->last_pause_ns);
  return report(rt, 0);
}

/* The prepared code is given up (its top level failed, or did not finish
 * in time): its handles close, its context goes, the old code never
 * paused. */
static void give_up(dv8_runtime_t *rt, const char *why) {
  struct dv8_reload_s *r = rt->reload;
  uv_timer_stop(&r->timer);
  uv_idle_stop(&r->idle);
  r->seq++; /* a settle callback still to come is for nobody */
  discard(rt, r->new_env);
  r->new_env = NULL;
  finish(rt, failed(rt, 0, why));
}

/* Whether a handle's code has begun work only it can finish (an HTTP
 * answer under way): the reload waits for it before pausing. */
static int any_unfinished(dv8_runtime_t *rt) {
  dv8_handle_table_t *t = &rt->handles;
  for (dv8_handle_t *h = dv8__handles_next(t, NULL); h != NULL;
       h = dv8__handles_next(t, h)) {
    dv8_head_t *hh = DV8_HEAD(h);
    int (*unfinished)(dv8_handle_t *) = DV8_TYPE_OP(hh->type, unfinished);
    if (!(hh->flags & DV8_HANDLE_CLOSING) && unfinished != NULL &&
        unfinished(h))
      return 1;
  }
  return 0;
}

static void settle_all(dv8_runtime_t *rt, int on) {
  dv8_handle_table_t *t = &rt->handles;
  for (dv8_handle_t *h = dv8__handles_next(t, NULL); h != NULL;
       h = dv8__handles_next(t, h)) {
    dv8_head_t *hh = DV8_HEAD(h);
    void (*settle)(dv8_handle_t *, int) = DV8_TYPE_OP(hh->type, settle);
    if (!(hh->flags & DV8_HANDLE_CLOSING) && settle != NULL)
      settle(h, on);
  }
}

static void on_wait_tick(uv_timer_t *t);

/* The prepared code (r->new_env) takes over, once the old code's
 * unfinished work is done: the reload waits for it (the old code goes on
 * meanwhile, given no new work) up to the reload deadline, then goes on
 * (what is still unfinished then is cut: an HTTP answer's connection
 * closes, never a mix of two codes' answers). */
static void take_over_settled(dv8_runtime_t *rt) {
  struct dv8_reload_s *r = rt->reload;
  if (rt->stopping || refusal(rt) != NULL) {
    if (r->waiting) {
      r->waiting = 0;
      uv_timer_stop(&r->timer);
      settle_all(rt, 0);
    }
    discard(rt, r->new_env);
    r->new_env = NULL;
    return finish(
        rt,
        failed(rt, 1, rt->stopping ? "the program is ending" : refusal(rt)));
  }
  if (!r->waiting && any_unfinished(rt)) {
    r->waiting = 1;
    r->wait_until = uv_hrtime() + (uint64_t)dv8__reload_deadline_ms * 1000000;
    settle_all(rt, 1);
    uv_timer_start(&r->timer, on_wait_tick, 1, 1);
    uv_ref((uv_handle_t *)&r->timer);
    return;
  }
  if (r->waiting) {
    if (any_unfinished(rt) && uv_hrtime() < r->wait_until)
      return;
    uv_timer_stop(&r->timer);
    uv_unref((uv_handle_t *)&r->timer);
  }
  dv8_env_t *env = r->new_env;
  r->new_env = NULL;
  int status = take_over(rt, env, r->t0, r->prepared);
  if (r->waiting) {
    r->waiting = 0;
    settle_all(rt, 0);
  }
  finish(rt, status);
}

static void on_wait_tick(uv_timer_t *t) { take_over_settled(t->loop->data); }

static void on_top_level_late(uv_timer_t *t) {
  dv8_runtime_t *rt = t->loop->data;
  char why[256];
  snprintf(why, sizeof(why),
           "the new code's top level did not finish within the reload "
           "deadline of %u ms (--reload-deadline MS): it awaits something "
           "that did not come",
           dv8__reload_deadline_ms);
  give_up(rt, why);
}

static void on_settled_idle(uv_idle_t *idle) {
  dv8_runtime_t *rt = idle->loop->data;
  struct dv8_reload_s *r = rt->reload;
  uv_idle_stop(idle);
  uv_timer_stop(&r->timer);
  if (r->settled < 0)
    return give_up(rt, r->error);
  take_over_settled(rt);
}

int dv8__reload_busy(dv8_runtime_t *rt) {
  return rt->reload != NULL && rt->reload->busy;
}

void dv8__reload_settled(dv8_runtime_t *rt, uint64_t seq, int ok,
                         const char *error) {
  struct dv8_reload_s *r = rt->reload;
  if (r == NULL || !r->busy || r->seq != seq || r->new_env == NULL)
    return;
  r->settled = ok ? 1 : -1;
  if (!ok)
    snprintf(r->error, sizeof(r->error), "%s",
             error != NULL ? error : "the new code's top level failed");
  r->prepared = uv_hrtime();
  /* On, outside the JS that settled it (a reload's commit disposes and
   * switches contexts). */
  uv_idle_start(&r->idle, on_settled_idle);
}

static struct dv8_reload_s *reload_of(dv8_runtime_t *rt) {
  if (rt->reload == NULL) {
    struct dv8_reload_s *r = calloc(1, sizeof(*r));
    if (r == NULL)
      return NULL;
    uv_timer_init(&rt->loop, &r->timer);
    uv_idle_init(&rt->loop, &r->idle);
    uv_idle_init(&rt->loop, &r->request);
    uv_unref((uv_handle_t *)&r->timer);
    rt->reload = r;
  }
  return rt->reload;
}

void dv8__reload(dv8_runtime_t *rt, dv8_reload_done_cb done, void *arg) {
  struct dv8_reload_s *r = reload_of(rt);
  const char *why = r == NULL ? "out of memory" : refusal(rt);
  if (why == NULL && r->busy)
    why = r->waiting ? "a reload is under way (it waits for the old code to "
                       "finish an answer it began)"
                     : "a reload is under way (its new code's top level "
                       "still awaits)";
  if (why != NULL) {
    int status = failed(rt, 1, why);
    if (done != NULL)
      done(rt, status, arg);
    return;
  }
  r->done = done;
  r->arg = arg;
  r->busy = 1;
  char *error = NULL;
  dv8_deadline_t deadline;
  if (rt->thread == NULL) /* systemd: "reloading", then ready again */
    dv8__notify("RELOADING=1");
  uint64_t t0 = uv_hrtime();
  dv8__deadline_arm(&deadline, rt, dv8__reload_deadline_ms);
  dv8_env_t *new_env = dv8__reload_prepare(rt, &error);
  if (dv8__deadline_disarm(&deadline) && new_env == NULL) {
    char text[256];
    snprintf(text, sizeof(text),
             "prepare ran past the reload deadline of %u ms "
             "(--reload-deadline MS)",
             dv8__reload_deadline_ms);
    free(error);
    return finish(rt, failed(rt, 0, text));
  }
  if (new_env == NULL) {
    int status = failed(rt, 0, error != NULL ? error : "prepare failed");
    free(error);
    return finish(rt, status);
  }
  uint64_t t1 = uv_hrtime();
  /* A top-level await still pending: load() runs once it has settled, as
   * on the first start; the old code serves meanwhile. */
  if (dv8__context_settle(new_env, ++r->seq) == 0) {
    r->new_env = new_env;
    r->t0 = t0;
    r->settled = 0;
    uint64_t spent = (t1 - t0) / 1000000;
    uv_timer_start(
        &r->timer, on_top_level_late,
        spent < dv8__reload_deadline_ms ? dv8__reload_deadline_ms - spent : 1,
        0);
    uv_ref((uv_handle_t *)&r->timer);
    return;
  }
  r->new_env = new_env;
  r->t0 = t0;
  r->prepared = t1;
  take_over_settled(rt);
}

void dv8__reload_report(dv8_runtime_t *rt, int status, char *buf, size_t cap) {
  if (status == 0)
    snprintf(buf, cap,
             "reloaded: %llu so far, %llu failed, prepare %.2f ms, "
             "pause %.2f ms\n",
             (unsigned long long)rt->reloads,
             (unsigned long long)rt->reload_failures,
             (double)rt->last_prepare_ns / 1e6,
             (double)rt->last_pause_ns / 1e6);
  else
    snprintf(buf, cap, "%s: %s\n",
             rt->last_reload_refused ? "reload refused"
                                     : "reload failed, the old code goes on",
             rt->last_reload_error);
}

/* ---- requests from JS: after the current callback ---- */

static void on_requested_done(dv8_runtime_t *rt, int status, void *arg) {
  (void)status;
  (void)arg;
  struct dv8_reload_s *r = rt->reload;
  int threads = r->threads;
  r->threads = 0;
  if (threads)
    dv8__threads_reload(rt);
}

static void on_reload_idle(uv_idle_t *idle) {
  uv_idle_stop(idle);
  dv8__reload(idle->loop->data, on_requested_done, NULL);
}

void dv8__reload_request(dv8_runtime_t *rt, int threads_too) {
  struct dv8_reload_s *r = reload_of(rt);
  if (r == NULL) {
    fprintf(stderr, "dv8: reload: out of memory\n");
    return;
  }
  r->threads = r->threads || threads_too;
  uv_idle_start(&r->request, on_reload_idle);
}

static void on_reload_closed(uv_handle_t *h) {
  struct dv8_reload_s *r = h->data;
  if (--r->closing == 0) /* freed after the last of its handles */
    free(r);
}

void dv8__reload_stop(dv8_runtime_t *rt) {
  dv8__watch_stop(rt);
  struct dv8_reload_s *r = rt->reload;
  if (r == NULL)
    return;
  rt->reload = NULL;
  if (r->waiting)
    settle_all(rt, 0);
  if (r->new_env != NULL) /* prepared, never taken over */
    discard(rt, r->new_env);
  r->closing = 3;
  r->timer.data = r->idle.data = r->request.data = r;
  uv_close((uv_handle_t *)&r->timer, on_reload_closed);
  uv_close((uv_handle_t *)&r->idle, on_reload_closed);
  uv_close((uv_handle_t *)&r->request, on_reload_closed);
}
