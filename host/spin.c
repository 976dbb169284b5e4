/*
 * spin.c — whether polling may stand in for sleeping right now.
 *
 * Threads' ports and low-latency streams keep polling for a while after a
 * message instead of sleeping in epoll, because a reply often follows
 * within microseconds and a wake-up from sleep costs tens of them (more on
 * this project's VMs). That trade is only good while a CPU sits idle: on a
 * machine whose cores are all taken, the polling thread holds a CPU that
 * the peer it waits for (or any other program) needs, and the reply comes
 * later, not sooner: thread ping-pong fell to 0.14x node's with a burner
 * on every core.
 *
 * The scheduler says when a CPU is wanted: it makes the polling thread
 * wait for it. So a polling thread reads how long it has waited, runnable,
 * for a CPU (/proc/thread-self/schedstat's run_delay), every SAMPLE_NS
 * while it polls; more than BUSY_SHARE of the time since it started
 * polling (or since the last WINDOW_NS) and polling stops, and is not
 * tried again for a back-off that doubles, from BACKOFF_MIN_NS to
 * BACKOFF_MAX_NS, while each new try finds the machine busy too, and is
 * forgotten after CLEAN_NS of polling without. On a busy machine that
 * costs a try of a few ms every BACKOFF_MAX_NS; on an idle one, a V8
 * helper thread's sweep (a moment on this thread's CPU) stays under the
 * share.
 *
 * Only time waited while polling counts: a thread sleeping between
 * messages is woken by its peer, often onto the CPU that peer still
 * holds. Two signals were tried before and had that fault: the count of
 * runnable threads (/proc/loadavg; it counts this process's own threads,
 * and on this project's VMs one more than ps shows) and the count of
 * preemptions (getrusage's nivcsw): each made a ping-pong on an idle
 * machine look busy to itself, and it then never polled again.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/host.h"

#define SAMPLE_NS 500000
#define WINDOW_NS 4000000
#define BUSY_SHARE 4 /* a quarter */
#define BACKOFF_MIN_NS 500000
#define BACKOFF_MAX_NS 250000000
#define CLEAN_NS 5000000

static uv_once_t once = UV_ONCE_INIT;
static int policy;           /* 0 ask the kernel, 1 always poll, 2 never */
static pthread_key_t fd_key; /* closes a thread's schedstat at its end */

static void close_fd(void *fd) { close((int)(intptr_t)fd - 1); }

static void spare_init(void) {
  cpu_set_t set;
  /* One CPU: the peer can only run once the poller gives the CPU up. */
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) <= 1)
    policy = 2;
  if (pthread_key_create(&fd_key, close_fd) != 0)
    policy = 1;
  /* DV8_SPIN=0 never polls, =1 always may (to measure either policy). */
  const char *force = getenv("DV8_SPIN");
  if (force != NULL && (force[0] == '0' || force[0] == '1') && !force[1])
    policy = force[0] == '0' ? 2 : 1;
}

/* Nanoseconds this thread has waited for a CPU, or -1. */
static int64_t waited_ns(void) {
  static _Thread_local int fd = -1; /* -2: cannot be read */
  if (fd == -1) {
    fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      fd = -2;
    else
      pthread_setspecific(fd_key, (void *)(intptr_t)(fd + 1));
  }
  char text[96];
  ssize_t n = fd >= 0 ? pread(fd, text, sizeof text - 1, 0) : -1;
  if (n <= 0)
    return -1;
  text[n] = '\0';
  char *p = strchr(text, ' ');
  return p == NULL ? -1 : strtoll(p + 1, NULL, 10);
}

int dv8__cpu_spare(int starting) {
  static _Thread_local uint64_t sampled_at, window_at, clean_since;
  static _Thread_local uint64_t backoff_until, backoff_ns;
  static _Thread_local int64_t window_waited;
  uv_once(&once, spare_init);
  if (policy != 0)
    return policy == 1;
  uint64_t now = uv_hrtime();
  if (now < backoff_until)
    return 0;
  if (starting) {
    sampled_at = window_at = now;
    window_waited = waited_ns();
    return 1;
  }
  if (now - sampled_at < SAMPLE_NS)
    return 1;
  sampled_at = now;
  int64_t waited = waited_ns();
  if (waited < 0 || window_waited < 0)
    return 1; /* no schedstat: the windows are bounded anyway */
  if ((uint64_t)(waited - window_waited) * BUSY_SHARE <= now - window_at) {
    if (now - window_at >= WINDOW_NS) { /* a new window */
      window_at = now;
      window_waited = waited;
    }
    if (clean_since == 0)
      clean_since = now;
    else if (now - clean_since > CLEAN_NS)
      backoff_ns = 0;
    return 1;
  }
  clean_since = 0;
  backoff_ns = backoff_ns == 0 ? BACKOFF_MIN_NS : backoff_ns * 2;
  if (backoff_ns > BACKOFF_MAX_NS)
    backoff_ns = BACKOFF_MAX_NS;
  backoff_until = now + backoff_ns;
  return 0;
}
