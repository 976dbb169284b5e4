/*
 * The per-thread runtime: one libuv loop, one isolate, one handle table.
 * Threads: everything here runs on the runtime's own thread.
 */
#include <string.h>

#include "host/host.h"

/* A module's per-runtime data (dv8->runtime_data), one per key. */
struct dv8_runtime_data_s {
  struct dv8_runtime_data_s *next;
  const void *key;
  void *data;
  void (*destroy)(void *data);
};

void dv8__check_failed(const char *file, int line, const char *expr) {
  fprintf(stderr, "dv8: CHECK failed at %s:%d: %s\n", file, line, expr);
  fflush(stderr);
  abort();
}

int dv8__runtime_init(dv8_runtime_t *rt, int argc, char **argv) {
  memset(rt, 0, sizeof(*rt));
  int err = uv_loop_init(&rt->loop);
  if (err)
    return err;
  rt->loop.data = rt;
  dv8__handles_init(&rt->handles);
  rt->argc = argc;
  rt->argv = argv;
  rt->start_ns = uv_hrtime();
  dv8__metrics_start(rt);
  return 0;
}

void dv8__runtime_run(dv8_runtime_t *rt) {
  if (!rt->stopping)
    uv_run(&rt->loop, UV_RUN_DEFAULT);
}

void dv8__runtime_stop(dv8_runtime_t *rt, int exit_code) {
  if (!rt->stopping)
    rt->exit_code = exit_code;
  rt->stopping = 1;
  uv_stop(&rt->loop);
}

static void on_stray_close(uv_handle_t *h) { (void)h; }

static void close_stray(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, on_stray_close);
}

int dv8__runtime_close(dv8_runtime_t *rt) {
  /* No JS runs from here on: close callbacks only release memory. */
  rt->stopping = 1;
  dv8__handles_close_all(&rt->handles);
  uv_run(&rt->loop, UV_RUN_DEFAULT);
  dv8__metrics_stop(rt);
  /* Handles a module opened without registering them are closed too, so
   * the loop always closes; the table is what reload relies on. (The host's
   * own active handles are closed by their owners before this: one left
   * active would keep the run above waiting.) */
  uv_walk(&rt->loop, close_stray, NULL);
  uv_run(&rt->loop, UV_RUN_DEFAULT);
  dv8__handles_free(&rt->handles);
  return uv_loop_close(&rt->loop);
}

void dv8__runtime_data_free(dv8_runtime_t *rt) {
  while (rt->data != NULL) {
    struct dv8_runtime_data_s *d = rt->data;
    rt->data = d->next;
    if (d->destroy != NULL)
      d->destroy(d->data);
    else
      free(d->data);
    free(d);
  }
  /* Last: modules' cells of it (metric_counter) are theirs until now. */
  dv8__metrics_free(rt);
}

void *dv8__runtime_data(dv8_runtime_t *rt, const void *key, size_t size,
                        void (*destroy)(void *data)) {
  for (struct dv8_runtime_data_s *d = rt->data; d != NULL; d = d->next)
    if (d->key == key)
      return d->data;
  struct dv8_runtime_data_s *d = calloc(1, sizeof(*d));
  void *data = calloc(1, size > 0 ? size : 1);
  if (d == NULL || data == NULL) {
    free(d);
    free(data);
    return NULL;
  }
  d->key = key;
  d->data = data;
  d->destroy = destroy;
  d->next = rt->data;
  rt->data = d;
  return data;
}
