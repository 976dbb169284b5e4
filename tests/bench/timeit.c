/*
 * timeit: runs a command N times and prints the median and minimum wall
 * time and the largest peak RSS, as one parseable line:
 *   median_ms=12.345 min_ms=11.002 maxrss_kb=29352
 * usage: timeit N command [args...]   (the command's output is discarded)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: timeit N command [args...]\n");
    return 2;
  }
  int n = atoi(argv[1]);
  if (n < 1) {
    fprintf(stderr, "timeit: N must be >= 1\n");
    return 2;
  }
  double *times = calloc((size_t)n, sizeof(double));
  long maxrss = 0;
  for (int i = 0; i < n; i++) {
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      dup2(devnull, 2);
      execvp(argv[2], argv + 2);
      _exit(127);
    }
    int status;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) < 0) {
      perror("timeit");
      return 1;
    }
    times[i] = now_ms() - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "timeit: %s failed (status %d)\n", argv[2], status);
      return 1;
    }
    if (ru.ru_maxrss > maxrss)
      maxrss = ru.ru_maxrss;
  }
  qsort(times, (size_t)n, sizeof(double), cmp_double);
  printf("median_ms=%.3f min_ms=%.3f maxrss_kb=%ld\n", times[n / 2], times[0],
         maxrss);
  free(times);
  return 0;
}
