/*
 * dv8 --init (and dv8 as PID 1, in a container): a small supervisor stays
 * the process that was started, while the program runs in a child and
 * upgrades pass it from process to process. Without it an upgrade's first
 * process exits and the new one is an orphan: `wait`, `timeout`,
 * supervisord and a container's runtime (whose PID 1 it was) all take the
 * service for stopped.
 *
 * The supervisor forks before anything else starts (no V8, no threads),
 * runs the program in the child (the same command line, DV8_INIT=0), and
 * then only:
 * - learns which process is the program now: the program tells it as it
 *   would tell systemd (notify.c), on a socket of the supervisor's given
 *   as NOTIFY_SOCKET; an upgrade's old process names its successor
 *   (MAINPID=) before it ends;
 * - forwards the signals it gets (TERM, INT, HUP, QUIT, USR1, USR2) to
 *   that process, so `kill -HUP` reloads and `podman stop` stops it;
 * - reaps every child and orphan (it is their subreaper, or PID 1), and
 *   when the program's process ends, exits with its status (128 + the
 *   signal's number if a signal ended it);
 * - keeps the control socket's name of its own pid pointing at the
 *   program's (a symbolic link), so `dv8 reload|upgrade|stats PID` work
 *   with the pid that was started;
 * - passes READY, RELOADING and STOPPING on to its own NOTIFY_SOCKET if it
 *   has one (systemd then sees one service process: the supervisor).
 * docs/processes.md, "Under a supervisor".
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/host.h"

static const int forwarded[] = {SIGTERM, SIGINT,  SIGHUP,
                                SIGQUIT, SIGUSR1, SIGUSR2};

/* Points DIR/<own pid>.sock at the program's control socket. */
static void link_control(pid_t program) {
  char dir[108], link[160], target[160];
  if (dv8__control_dir(dir, sizeof(dir)) != 0)
    return;
  snprintf(link, sizeof(link), "%s/%d.sock", dir, (int)getpid());
  snprintf(target, sizeof(target), "%d.sock", (int)program);
  char tmp[180];
  snprintf(tmp, sizeof(tmp), "%s/.%d.link", dir, (int)getpid());
  unlink(tmp);
  if (symlink(target, tmp) == 0 && rename(tmp, link) != 0)
    unlink(tmp);
}

static void unlink_control(void) {
  char dir[108], link[160];
  if (dv8__control_dir(dir, sizeof(dir)) != 0)
    return;
  snprintf(link, sizeof(link), "%s/%d.sock", dir, (int)getpid());
  char target[160];
  ssize_t n = readlink(link, target, sizeof(target) - 1);
  if (n > 0) /* ours: a link (a program of this pid would have a socket) */
    unlink(link);
}

/* One line of the program's notification: MAINPID= changes who the
 * program is; the others go up to the supervisor's own supervisor. */
static void take_notice(char *text, pid_t *program, const char *outer) {
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line != NULL;
       line = strtok_r(NULL, "\n", &save)) {
    if (strncmp(line, "MAINPID=", 8) == 0) {
      long pid = strtol(line + 8, NULL, 10);
      if (pid > 1 && pid != *program && kill((pid_t)pid, 0) == 0) {
        *program = (pid_t)pid;
        link_control(*program);
      }
      continue;
    }
    int ready = strcmp(line, "READY=1") == 0;
    if (ready) /* its control socket exists by now */
      link_control(*program);
    if (outer != NULL && (ready || strcmp(line, "RELOADING=1") == 0 ||
                          strcmp(line, "STOPPING=1") == 0))
      dv8__notify_to(outer, line);
  }
}

/* Every notification that waits on ns. */
static void take_notices(int ns, pid_t *program, const char *outer) {
  char text[512];
  ssize_t got;
  while ((got = recv(ns, text, sizeof(text) - 1, 0)) > 0) {
    text[got] = '\0';
    take_notice(text, program, outer);
  }
}

int dv8__init_run(int argc, char **argv) {
  (void)argc;
  char outer_copy[108];
  const char *outer = getenv("NOTIFY_SOCKET");
  if (outer != NULL && outer[0] != '\0') {
    snprintf(outer_copy, sizeof(outer_copy), "%s", outer);
    outer = outer_copy;
  } else {
    outer = NULL;
  }
  if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    fprintf(stderr, "dv8 --init: cannot become the subreaper (%s)\n",
            strerror(errno));
    return 1;
  }
  /* The program's notifications: an abstract name only this process and
   * its children know (and a peer of ours could only send MAINPID of a
   * live process). */
  int ns = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  char name[64];
  unsigned char nonce[8] = {0};
  int rfd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (rfd >= 0) {
    if (read(rfd, nonce, sizeof(nonce)) < 0)
      memset(nonce, 0, sizeof(nonce));
    close(rfd);
  }
  snprintf(name, sizeof(name), "@dv8-init-%d-%02x%02x%02x%02x%02x%02x%02x%02x",
           (int)getpid(), nonce[0], nonce[1], nonce[2], nonce[3], nonce[4],
           nonce[5], nonce[6], nonce[7]);
  memcpy(addr.sun_path + 1, name + 1, strlen(name) - 1);
  socklen_t alen =
      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
  if (ns < 0 || bind(ns, (struct sockaddr *)&addr, alen) != 0) {
    fprintf(stderr, "dv8 --init: cannot make the notification socket (%s)\n",
            strerror(errno));
    return 1;
  }
  sigset_t set, old;
  sigemptyset(&set);
  for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
    sigaddset(&set, forwarded[i]);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, &old);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    fprintf(stderr, "dv8 --init: signalfd: %s\n", strerror(errno));
    return 1;
  }
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) {
    fprintf(stderr, "dv8 --init: cannot find its own binary\n");
    return 1;
  }
  exe[n] = '\0';
  pid_t program = fork();
  if (program < 0) {
    fprintf(stderr, "dv8 --init: fork: %s\n", strerror(errno));
    return 1;
  }
  if (program == 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    setenv("DV8_INIT", "0", 1);
    setenv("NOTIFY_SOCKET", name, 1);
    execv(exe, argv);
    fprintf(stderr, "dv8 --init: cannot run %s: %s\n", exe, strerror(errno));
    _exit(127);
  }
  link_control(program);
  int status = 1;
  for (;;) {
    struct pollfd p[2] = {{sfd, POLLIN, 0}, {ns, POLLIN, 0}};
    if (poll(p, 2, -1) < 0 && errno != EINTR)
      break;
    take_notices(ns, &program, outer);
    struct signalfd_siginfo si;
    int ended = 0;
    while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
      if (si.ssi_signo != SIGCHLD) {
        kill(program, (int)si.ssi_signo);
        continue;
      }
      /* Notifications first: an old process names its successor before
       * it ends, so its end is known not to be the program's. */
      take_notices(ns, &program, outer);
      int ws;
      pid_t pid;
      while ((pid = waitpid(-1, &ws, WNOHANG)) > 0)
        if (pid == program) {
          status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
          ended = 1;
        }
    }
    if (ended)
      break;
  }
  unlink_control();
  return status;
}
