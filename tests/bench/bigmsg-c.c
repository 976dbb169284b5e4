/*
 * bigmsg-c: the C floors for tests/bench/process-peers' big messages: a
 * warm memcpy of SIZE bytes, and SIZE bytes to a child process and back
 * over a unix socketpair (blocking reads and writes, each side's buffer
 * allocated and touched once beforehand), ROUNDS times after one to warm
 * up. Prints the median round trip and MB/s counted as dv8's and node's
 * are: the bytes carried both ways (2 x SIZE) per second.
 *   build/tests/bench/bigmsg-c [MIB] [ROUNDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k <= 0)
      return -1;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

static int recv_all(int fd, char *p, size_t n) {
  while (n > 0) {
    ssize_t k = read(fd, p, n);
    if (k <= 0)
      return -1;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

int main(int argc, char **argv) {
  size_t size = (size_t)(argc > 1 ? atoi(argv[1]) : 64) << 20;
  int rounds = argc > 2 ? atoi(argv[2]) : 5;
  char *a = malloc(size), *b = malloc(size);
  double *t = calloc((size_t)rounds, sizeof(double));
  if (a == NULL || b == NULL || t == NULL)
    return 1;
  memset(a, 1, size);
  memset(b, 2, size);
  for (int i = 0; i < rounds; i++) {
    double t0 = now();
    memcpy(b, a, size);
    t[i] = now() - t0;
    a[i] = b[size - 1 - (size_t)i]; /* keeps the copies */
  }
  qsort(t, (size_t)rounds, sizeof(double), cmp);
  printf("memcpy_mb_s=%.0f\n", (double)size / 1e6 / t[rounds / 2]);

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    return 1;
  pid_t pid = fork();
  if (pid == 0) { /* the echo: all of it in, then all of it back */
    close(sv[0]);
    for (int i = -1; i < rounds; i++)
      if (recv_all(sv[1], b, size) || send_all(sv[1], b, size))
        _exit(1);
    _exit(0);
  }
  close(sv[1]);
  for (int i = -1; i < rounds; i++) { /* one to warm up, as dv8 and node */
    double t0 = now();
    if (send_all(sv[0], a, size) || recv_all(sv[0], a, size))
      return 1;
    if (i >= 0)
      t[i] = now() - t0;
  }
  int status;
  waitpid(pid, &status, 0);
  qsort(t, (size_t)rounds, sizeof(double), cmp);
  double m = t[rounds / 2];
  printf("size=%zu round_trip_ms=%.1f mb_s=%.0f\n", size, m * 1e3,
         2.0 * (double)size / 1e6 / m);
  return 0;
}
