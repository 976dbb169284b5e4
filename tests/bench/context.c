/*
 * context: how long a fresh context takes, created and with an empty module
 * run in it, then disposed: the floor under a reload. Prints
 *   contexts=N median_us=... min_us=... rss_growth_kb=...
 * usage: context [N]   (default 1000)
 */
#include <stdio.h>
#include <stdlib.h>

#include "contexts/contexts.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000;
  if (n < 1)
    n = 1;
  CHECK(dv8__v8_init(argv[0], NULL) == 0);
  dv8_runtime_t rt;
  char *script_argv[] = {"[bench]", NULL};
  CHECK(dv8__runtime_init(&rt, 1, script_argv) == 0);
  CHECK(dv8__isolate_new(&rt) == 0);
  double *us = calloc((size_t)n, sizeof(double));
  CHECK(us != NULL);
  size_t rss_before = 0, rss_after = 0;
  for (int i = 0; i < n; i++) {
    if (i == n / 10)
      uv_resident_set_memory(&rss_before); /* after warm-up */
    uint64_t t0 = uv_hrtime();
    dv8_env_t *env = dv8__context_new(&rt);
    CHECK(env != NULL);
    CHECK(dv8__run_eval(env, "") == 0);
    dv8__context_dispose(env);
    us[i] = (double)(uv_hrtime() - t0) / 1e3;
  }
  uv_resident_set_memory(&rss_after);
  qsort(us, (size_t)n, sizeof(double), cmp_double);
  printf("contexts=%d median_us=%.1f min_us=%.1f rss_growth_kb=%ld\n", n,
         us[n / 2], us[0], ((long)rss_after - (long)rss_before) / 1024);
  free(us);
  CHECK(dv8__runtime_close(&rt) == 0);
  dv8__isolate_dispose(&rt);
  dv8__runtime_data_free(&rt);
  dv8__v8_dispose();
  return 0;
}
