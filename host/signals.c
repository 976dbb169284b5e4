/*
 * signals.c — what signals do to a dv8 program run from a file, on the main
 * thread, unless a JS handler (process.onSignal: a handle whose type says
 * it stands for that signal) takes the signal over while it is open:
 *   SIGTERM  ends the program the way it ends when nothing is left to do
 *            (every handle closed, the control socket removed, status 143)
 *            instead of dying mid-write; a second one while ending kills.
 *   SIGHUP   reloads it (dv8__reload), unless SIGHUP was ignored when dv8
 *            started (nohup, a supervisor): that choice is kept.
 *   SIGUSR2  upgrades it to a new process (dv8__upgrade).
 * None of them keeps the loop alive.
 */
#include <signal.h>
#include <string.h>

#include "host/host.h"

static uv_signal_t sigterm, sighup, sigusr2;

typedef struct {
  int signum;
  int found;
} lookup;

/* A handle stands for a signal when its type says so (a JS handler). */
static void find_handler(dv8_handle_t *h, void *arg) {
  lookup *l = arg;
  int (*signal_of)(dv8_handle_t *) = DV8_TYPE_OP(DV8_HEAD(h)->type, signal);
  if (signal_of != NULL && !(DV8_HEAD(h)->flags & DV8_HANDLE_CLOSING) &&
      signal_of(h) == l->signum)
    l->found = 1;
}

int dv8__signal_handled(dv8_runtime_t *rt, int signum) {
  lookup l = {signum, 0};
  dv8__handles_each(&rt->handles, find_handler, &l);
  return l.found;
}

static void on_signal(uv_signal_t *s, int signum) {
  dv8_runtime_t *rt = s->data;
  if (dv8__signal_handled(rt, signum))
    return;
  if (signum == SIGHUP) {
    dv8__reload_request(rt, 1); /* the threads too */
    return;
  }
  if (signum == SIGUSR2) {
    dv8__upgrade(rt, NULL, NULL);
    return;
  }
  if (rt->stopping) { /* a second SIGTERM while ending: die as asked */
    signal(SIGTERM, SIG_DFL);
    raise(SIGTERM);
    return;
  }
  dv8__runtime_stop(rt, 128 + signum);
}

static void watch_signal(dv8_runtime_t *rt, uv_signal_t *s, int signum) {
  uv_signal_init(&rt->loop, s);
  s->data = rt;
  uv_signal_start(s, on_signal, signum);
  uv_unref((uv_handle_t *)s); /* not a reason to stay up */
}

void dv8__signals_start(dv8_runtime_t *rt) {
  watch_signal(rt, &sigterm, SIGTERM);
  if (!dv8__sighup_ignored)
    watch_signal(rt, &sighup, SIGHUP);
  watch_signal(rt, &sigusr2, SIGUSR2);
}
