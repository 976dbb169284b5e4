/*
 * watchdog.c — deadlines for JS that must finish (a reload's prepare,
 * unload() and load(); an upgrade's load in the new process). JS stuck in
 * a loop never returns to the event loop, so only another thread can stop
 * it: one watchdog thread serves every runtime of the process, sleeping
 * until the earliest armed deadline, then stopping that runtime's JS
 * (dv8__isolate_terminate, which V8 allows from any thread).
 *
 * Threads: arm and disarm run on the runtime's own thread; the list of
 * armed deadlines is shared with the watchdog and guarded by its lock. A
 * deadline lives on the arming caller's stack, from arm to disarm. The
 * watchdog thread is made at the first arm and lives as long as the
 * process.
 */
#include <pthread.h>
#include <signal.h>

#include "contexts/contexts.h"
#include "host/host.h"

unsigned dv8__reload_deadline_ms = 1000;

static uv_mutex_t lock;
static uv_cond_t cond;
static dv8_deadline_t *armed; /* a list, in no order */
static uv_once_t once = UV_ONCE_INIT;

static void *watchdog_run(void *arg) {
  (void)arg;
  uv_mutex_lock(&lock);
  for (;;) {
    dv8_deadline_t *first = NULL, **first_link = NULL;
    for (dv8_deadline_t **l = &armed; *l != NULL; l = &(*l)->next)
      if (first == NULL || (*l)->at < first->at) {
        first = *l;
        first_link = l;
      }
    if (first == NULL) {
      uv_cond_wait(&cond, &lock);
      continue;
    }
    uint64_t now = uv_hrtime();
    if (first->at <= now) {
      first->fired = 1;
      dv8__isolate_terminate(first->rt);
      *first_link = first->next; /* fires once */
      continue;
    }
    uv_cond_timedwait(&cond, &lock, first->at - now);
  }
  return NULL;
}

static void watchdog_start(void) {
  CHECK(uv_mutex_init(&lock) == 0);
  CHECK(uv_cond_init(&cond) == 0);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  sigset_t all, old;
  sigfillset(&all); /* signals are the loops' business, not the watchdog's */
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t tid;
  CHECK(pthread_create(&tid, &attr, watchdog_run, NULL) == 0);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
}

void dv8__deadline_arm(dv8_deadline_t *d, dv8_runtime_t *rt, unsigned ms) {
  uv_once(&once, watchdog_start);
  d->rt = rt;
  d->at = uv_hrtime() + (uint64_t)ms * 1000000;
  d->fired = 0;
  uv_mutex_lock(&lock);
  d->next = armed;
  armed = d;
  uv_cond_signal(&cond);
  uv_mutex_unlock(&lock);
}

int dv8__deadline_disarm(dv8_deadline_t *d) {
  uv_mutex_lock(&lock);
  for (dv8_deadline_t **l = &armed; *l != NULL; l = &(*l)->next)
    if (*l == d) {
      *l = d->next;
      break;
    }
  int fired = d->fired;
  uv_mutex_unlock(&lock);
  if (fired) /* the runtime may run JS again */
    dv8__isolate_cancel_terminate(d->rt);
  return fired;
}
