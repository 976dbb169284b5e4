/*
 * inherit.c — descriptors a dv8 process is given at start, taken before any
 * JS runs: made close-on-exec (so that the program's own children do not
 * inherit them) and their environment variables removed (so that those
 * children do not think they have them).
 *   DV8_CHANNEL_FD          a helper's channel to the dv8 that started it
 *   DV8_CHANNEL_MAX_MESSAGE and the largest message it carries
 *   DV8_UPGRADE_FD          an upgrade's socket to the process it replaces
 *   DV8_UPGRADE_FIRST_ID    and the first handle id this process may make
 *   LISTEN_PID, LISTEN_FDS  systemd's socket activation: listening sockets
 *                           from fd 3 on, when LISTEN_PID is this process
 * and one disposition: SIGHUP ignored (nohup, a supervisor's choice), which
 * dv8's reload-on-SIGHUP then leaves alone.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "host/host.h"

int dv8__channel_fd = -1;
long long dv8__channel_max_message = -1;
int dv8__upgrade_fd = -1;
uint64_t dv8__upgrade_first_id = 0;
int dv8__sighup_ignored = 0;
int dv8__listen_fds = 0;

/* A variable holding a number in [min, max], or -1. */
static long number_of(const char *name, long min, long max) {
  const char *v = getenv(name);
  if (v == NULL)
    return -1;
  char *end = NULL;
  long n = strtol(v, &end, 10);
  return end != v && *end == '\0' && n >= min && n <= max ? n : -1;
}

void dv8__inherit_take(void) {
  struct sigaction was;
  dv8__sighup_ignored =
      sigaction(SIGHUP, NULL, &was) == 0 && was.sa_handler == SIG_IGN;
  long fd = number_of("DV8_CHANNEL_FD", 3, 1 << 20);
  if (fd >= 0 && fcntl((int)fd, F_SETFD, FD_CLOEXEC) == 0)
    dv8__channel_fd = (int)fd;
  unsetenv("DV8_CHANNEL_FD");
  long max = number_of("DV8_CHANNEL_MAX_MESSAGE", 1, 1L << 32);
  if (dv8__channel_fd >= 0)
    dv8__channel_max_message = max;
  unsetenv("DV8_CHANNEL_MAX_MESSAGE");
  fd = number_of("DV8_UPGRADE_FD", 3, 1 << 20);
  if (fd >= 0 && fcntl((int)fd, F_SETFD, FD_CLOEXEC) == 0)
    dv8__upgrade_fd = (int)fd;
  unsetenv("DV8_UPGRADE_FD");
  const char *first = getenv("DV8_UPGRADE_FIRST_ID");
  if (dv8__upgrade_fd >= 0 && first != NULL)
    dv8__upgrade_first_id = strtoull(first, NULL, 10);
  unsetenv("DV8_UPGRADE_FIRST_ID");
  long pid = number_of("LISTEN_PID", 1, 1L << 30);
  long n = number_of("LISTEN_FDS", 1, 1024);
  if (pid == (long)getpid() && n > 0) {
    for (int i = 0; i < n; i++)
      if (fcntl(3 + i, F_SETFD, FD_CLOEXEC) != 0)
        n = i; /* not ours past a closed one */
    dv8__listen_fds = (int)n;
  }
  if (pid >= 0 || getenv("LISTEN_FDS") != NULL) {
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
  }
}
