/*
 * signals.c — the main thread's default for SIGTERM: end the program the
 * way it ends when nothing is left to do (every handle closed, the control
 * socket removed, exit status 143), instead of dying mid-write. A JS
 * handler for SIGTERM (process.onSignal) turns the default off while it
 * is open; SIGHUP's default (reload) is in contexts/reload.cc and steps
 * aside the same way.
 */
#include <signal.h>
#include <string.h>

#include "host/host.h"

static uv_signal_t sigterm;

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

static void on_sigterm(uv_signal_t *s, int signum) {
  dv8_runtime_t *rt = s->data;
  if (dv8__signal_handled(rt, signum))
    return;
  if (rt->stopping) { /* a second one while ending: die as asked */
    signal(SIGTERM, SIG_DFL);
    raise(SIGTERM);
    return;
  }
  dv8__runtime_stop(rt, 128 + signum);
}

void dv8__signals_start(dv8_runtime_t *rt) {
  uv_signal_init(&rt->loop, &sigterm);
  sigterm.data = rt;
  uv_signal_start(&sigterm, on_sigterm, SIGTERM);
  uv_unref((uv_handle_t *)&sigterm); /* not a reason to stay up */
}
