/*
 * rusage: runs one command with the caller's stdin, stdout and stderr and
 * writes what it cost, from wait4, as one parseable line:
 *   wall_s=0.512 user_s=0.004 sys_s=0.498 maxrss_kb=1312 status=0
 * usage: rusage OUTFILE command [args...]
 * The line goes to OUTFILE, not to stdout, so the command's own output stays
 * clean. In `dd ... | rusage f cmd` only cmd is measured, not dd: that is
 * how tests/bench/net-peers gets a counting process's own CPU time. The CPU
 * times include all the command's threads and the children it waited for.
 * Exits with the command's status (128 + signal if it was killed).
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(struct timeval tv) {
  return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: rusage OUTFILE command [args...]\n");
    return 2;
  }
  FILE *out = fopen(argv[1], "w");
  if (out == NULL) {
    perror(argv[1]);
    return 2;
  }
  double t0 = now_s();
  pid_t pid = fork();
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    perror(argv[2]);
    _exit(127);
  }
  int status;
  struct rusage ru;
  if (pid < 0 || wait4(pid, &status, 0, &ru) < 0) {
    perror("rusage");
    return 1;
  }
  double wall = now_s() - t0;
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  fprintf(out, "wall_s=%.4f user_s=%.4f sys_s=%.4f maxrss_kb=%ld status=%d\n",
          wall, seconds(ru.ru_utime), seconds(ru.ru_stime), ru.ru_maxrss, code);
  fclose(out);
  return code;
}
