/*
 * spawn-c: the C floor for tests/bench/process-peers: posix_spawn of
 * /bin/true and waitpid, N times in a row, from a small process.
 *   build/tests/bench/spawn-c [N]   prints spawns=N per_s=X
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000;
  char *args[] = {"/bin/true", NULL};
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < n; i++) {
    pid_t pid;
    int status;
    if (posix_spawn(&pid, "/bin/true", NULL, NULL, args, environ) != 0 ||
        waitpid(pid, &status, 0) != pid || status != 0) {
      fprintf(stderr, "spawn-c: /bin/true failed\n");
      return 1;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("spawns=%d per_s=%.0f\n", n, n / s);
  return 0;
}
