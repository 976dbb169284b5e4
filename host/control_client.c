/*
 * `dv8 reload|upgrade|stats [--timeout MS] PID|SOCKET`: the client of a
 * running program's control socket (control.c is the server). It sends
 * one line and prints the one line that comes back (stats: all that comes
 * until the program closes the connection); it never waits longer than its
 * timeout, whatever the other side does (a program stuck in JS, whose
 * socket's backlog fills and whose loop never answers; a socket that
 * accepts and says nothing), and says why it found no program to ask.
 *
 * Plain blocking sockets: this is a command of its own, no loop runs.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "host/host.h"

/* The defaults: a reload answers within its deadline (1 s unless the
 * program was given --reload-deadline) once the program's loop gets to it;
 * an upgrade within 10 s to start the new process, then at most 3 reload
 * deadlines and 3 s (upgrade.c). Both with room for a busy machine. */
#define RELOAD_TIMEOUT_MS 30000
#define UPGRADE_TIMEOUT_MS 60000
/* stats: the answer is made at once when the loop gets to it. */
#define STATS_TIMEOUT_MS 10000
#define TIMEOUT_MAX_MS 3600000

/* Milliseconds from text: 1 to TIMEOUT_MAX_MS, else 0. */
static unsigned parse_ms(const char *text) {
  char *end;
  errno = 0;
  unsigned long ms = strtoul(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || ms == 0 ||
      ms > TIMEOUT_MAX_MS)
    return 0;
  return (unsigned)ms;
}

/* Why no program answers on PID's socket. */
static void why_no_socket(long pid, char *out, size_t cap) {
  if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
    snprintf(out, cap, "there is no process %ld", pid);
  else
    snprintf(out, cap,
             "process %ld has no control socket here: it is not a dv8 "
             "program run from a file, or it was started by another user or "
             "with another XDG_RUNTIME_DIR (give its socket's path then)",
             pid);
}

/* The socket of PID, its directory checked first: 0, or 1 (said why). */
static int socket_of_pid(const char *command, long pid, char *path,
                         size_t cap) {
  char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
  char why[512];
  if (dv8__control_dir(dir, sizeof(dir)) != 0) {
    fprintf(stderr, "dv8 %s: the control directory's path is too long\n",
            command);
    return 1;
  }
  int err = dv8__control_dir_check(dir, 0, why, sizeof(why));
  if (err == UV_ENOENT) {
    why_no_socket(pid, why, sizeof(why));
    fprintf(stderr, "dv8 %s: no control directory %s: %s\n", command, dir, why);
    return 1;
  }
  if (err) {
    fprintf(stderr,
            "dv8 %s: %s %s; dv8 programs do not listen there while it is so "
            "(kill -%s %ld %s one)\n",
            command, dir, why, command[0] == 'r' ? "HUP" : "USR2", pid,
            command[0] == 'r' ? "reloads" : "upgrades");
    return 1;
  }
  int n = snprintf(path, cap, "%s/%ld.sock", dir, pid);
  if (n <= 0 || (size_t)n >= cap) {
    fprintf(stderr, "dv8 %s: path too long\n", command);
    return 1;
  }
  return 0;
}

/* Connected to path within ms: the descriptor, or -1 (said why). */
static int reach(const char *command, const char *path, long pid, unsigned ms) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fprintf(stderr, "dv8 %s: socket: %s\n", command, strerror(errno));
    return -1;
  }
  /* A unix socket's connect waits while the listener's backlog is full
   * (a program not accepting): this bounds that wait, and the write's. */
  struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
    return fd;
  int err = errno;
  close(fd);
  char why[512] = "";
  if (err == EAGAIN || err == EINPROGRESS)
    fprintf(stderr,
            "dv8 %s: %s did not accept the connection within %u ms: the "
            "program may be stuck (in JS, or its event loop blocked) "
            "(--timeout MS waits longer)\n",
            command, path, ms);
  else if (pid > 0 && (err == ENOENT || err == ECONNREFUSED)) {
    why_no_socket(pid, why, sizeof(why));
    fprintf(stderr, "dv8 %s: cannot reach %s: %s: %s\n", command, path,
            strerror(err), why);
  } else
    fprintf(stderr, "dv8 %s: cannot reach %s: %s\n", command, path,
            strerror(err));
  return -1;
}

/* The answer's line into buf (NUL-terminated), read until its newline or
 * the end, within ms of start: its length, or -1 on timeout. */
static ssize_t answer(int fd, char *buf, size_t cap, uint64_t start,
                      unsigned ms) {
  size_t got = 0;
  while (got < cap - 1 && memchr(buf, '\n', got) == NULL) {
    uint64_t spent = (uv_hrtime() - start) / 1000000;
    if (spent >= ms)
      return -1;
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, (int)(ms - spent));
    if (r < 0 && errno == EINTR)
      continue;
    if (r == 0)
      return -1;
    ssize_t n = r < 0 ? -1 : read(fd, buf + got, cap - 1 - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  buf[got] = '\0';
  return (ssize_t)got;
}

/* stats: everything until the program closes the connection, within ms of
 * start, to stdout; 0, or 1 (said why). */
static int ask_stats(int fd, const char *path, uint64_t start, unsigned ms) {
  size_t cap = 65536, got = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (buf == NULL) {
      fprintf(stderr, "dv8 stats: out of memory\n");
      return 1;
    }
    uint64_t spent = (uv_hrtime() - start) / 1000000;
    struct pollfd p = {fd, POLLIN, 0};
    int r = spent >= ms ? 0 : poll(&p, 1, (int)(ms - spent));
    if (r < 0 && errno == EINTR)
      continue;
    if (r == 0) {
      fprintf(stderr,
              "dv8 stats: no whole answer from %s within %u ms: the program "
              "may be stuck (in JS, or its event loop blocked) (--timeout MS "
              "waits longer)\n",
              path, ms);
      free(buf);
      return 1;
    }
    ssize_t n = r < 0 ? -1 : read(fd, buf + got, cap - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
    if (got == cap) {
      char *grown = realloc(buf, cap *= 2);
      if (grown == NULL)
        free(buf);
      buf = grown;
    }
  }
  /* An answer that is not the format is the program's refusal ("busy",
   * "refused: ..."), or an older dv8's "unknown command". */
  int ok = got > 0 && buf[0] == '#';
  if (got == 0)
    fprintf(stderr,
            "dv8 stats: no answer from %s: the program closed the connection "
            "(it may be ending)\n",
            path);
  else
    fwrite(buf, 1, got, ok ? stdout : stderr);
  free(buf);
  return ok ? 0 : 1;
}

/* Asks: 0 if it worked, 1 if not (said why). */
static int ask(const char *command, const char *path, long pid, unsigned ms) {
  uint64_t start = uv_hrtime();
  int fd = reach(command, path, pid, ms);
  if (fd < 0)
    return 1;
  char line[32];
  snprintf(line, sizeof(line), "%s\n", command);
  /* Read whatever the send did: a program turning this connection away
   * ("busy") may have closed it before the line went. */
  send(fd, line, strlen(line), MSG_NOSIGNAL);
  if (strcmp(command, "stats") == 0) {
    int rc = ask_stats(fd, path, start, ms);
    close(fd);
    return rc;
  }
  char buf[1024];
  ssize_t got = answer(fd, buf, sizeof(buf), start, ms);
  close(fd);
  if (got < 0) {
    fprintf(stderr,
            "dv8 %s: no answer from %s within %u ms: the program may be "
            "stuck (in JS, or its event loop blocked) or still %s\n",
            command, path, ms,
            command[0] == 'r'
                ? "reloading (--timeout MS waits longer)"
                : "upgrading (its stderr tells how it ends; --timeout MS "
                  "waits longer)");
    return 1;
  }
  if (got == 0) {
    fprintf(stderr,
            "dv8 %s: no answer from %s: the program closed the connection "
            "(it may be ending)\n",
            command, path);
    return 1;
  }
  /* "reloaded: ..." or "upgraded: ...": it worked. */
  int ok = strncmp(buf, "reloaded", 8) == 0 || strncmp(buf, "upgraded", 8) == 0;
  fputs(buf, ok ? stdout : stderr);
  if (buf[got - 1] != '\n')
    fputc('\n', ok ? stdout : stderr);
  return ok ? 0 : 1;
}

int dv8__control_command(const char *command, int argc, char **argv) {
  unsigned ms = command[0] == 'r'   ? RELOAD_TIMEOUT_MS
                : command[0] == 's' ? STATS_TIMEOUT_MS
                                    : UPGRADE_TIMEOUT_MS;
  const char *env = getenv("DV8_CONTROL_TIMEOUT");
  if (env != NULL && (ms = parse_ms(env)) == 0) {
    fprintf(stderr,
            "dv8 %s: DV8_CONTROL_TIMEOUT needs a number of milliseconds (1 "
            "to %d), not '%s'\n",
            command, TIMEOUT_MAX_MS, env);
    return 2;
  }
  const char *target = NULL;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    const char *value = strncmp(a, "--timeout=", 10) == 0 ? a + 10
                        : strcmp(a, "--timeout") == 0 && i + 1 < argc
                            ? argv[++i]
                        : strcmp(a, "--timeout") == 0 ? ""
                                                      : NULL;
    if (value != NULL && (ms = parse_ms(value)) == 0) {
      fprintf(stderr,
              "dv8 %s: --timeout needs a number of milliseconds (1 to %d)\n",
              command, TIMEOUT_MAX_MS);
      return 2;
    }
    if (value != NULL)
      continue;
    if (target != NULL) {
      target = NULL;
      break;
    }
    target = a;
  }
  if (target == NULL) {
    fprintf(stderr, "usage: dv8 %s [--timeout MS] PID|SOCKET\n", command);
    return 2;
  }
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  if (strchr(target, '/') != NULL) {
    int n = snprintf(path, sizeof(path), "%s", target);
    if (n <= 0 || (size_t)n >= sizeof(path)) {
      fprintf(stderr, "dv8 %s: path too long\n", command);
      return 2;
    }
    return ask(command, path, 0, ms);
  }
  char *end;
  long pid = strtol(target, &end, 10);
  if (*target == '\0' || *end != '\0' || pid <= 0) {
    fprintf(stderr, "dv8 %s: expected a pid or a socket path, not '%s'\n",
            command, target);
    return 2;
  }
  if (socket_of_pid(command, pid, path, sizeof(path)))
    return 1;
  return ask(command, path, pid, ms);
}
