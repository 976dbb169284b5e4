/*
 * watch.c — --watch: a change to any file of the program (the entry module
 * and what it imports) reloads it, once a burst of writes has settled.
 *
 * Editors save by writing a new file and renaming it over the old one,
 * which ends a watch on the file itself: directories are watched, and an
 * event counts when it names one of the program's files. Bursts (an
 * editor's several writes) fold into one reload after 50 ms of quiet.
 * After each reload the watches are made again: the new code may import
 * other files.
 *
 * Threads: one watch per runtime thread (each thread watches its own
 * code's files), touched only there; a thread's watch does not keep it
 * running. Lifetime: from dv8__watch_start to dv8__watch_stop.
 */
#include <stdlib.h>
#include <string.h>

#include "contexts/contexts.h"
#include "host/host.h"

#define DEBOUNCE_MS 50

int dv8__watch_all = 0;

typedef struct watcher {
  uv_fs_event_t event;
  struct dv8_watch_s *watch;
  struct watcher *next;
  char **names; /* the program's files in this directory */
  size_t n_names;
  char dir[];
} watcher;

struct dv8_watch_s {
  dv8_runtime_t *rt;
  uv_timer_t debounce;
  watcher *watchers;
  int stopping;
  int reloading;         /* a reload it asked for is under way */
  int changed_meanwhile; /* ... and the files changed again */
};
typedef struct dv8_watch_s watch;

static void arm(watch *w);
static void on_debounce(uv_timer_t *t);

static void on_reloaded(dv8_runtime_t *rt, int status, void *arg) {
  watch *w = arg;
  if (rt->watch != w) /* stopped meanwhile (the program ends) */
    return;
  w->reloading = 0;
  if (status == 0)
    fprintf(stderr,
            "dv8: reloaded %s%s (%llu so far, %llu failed): prepare %.2f ms, "
            "pause %.2f ms\n",
            dv8__context_main_path(rt->env),
            rt->thread != NULL ? " in its thread" : "",
            (unsigned long long)rt->reloads,
            (unsigned long long)rt->reload_failures,
            (double)rt->last_prepare_ns / 1e6, (double)rt->last_pause_ns / 1e6);
  arm(w); /* a new import, or one fewer */
  /* Files changed while that reload waited for its top level: once more. */
  if (w->changed_meanwhile) {
    w->changed_meanwhile = 0;
    uv_timer_start(&w->debounce, on_debounce, DEBOUNCE_MS, 0);
  }
}

static void on_debounce(uv_timer_t *t) {
  watch *w = t->data;
  if (w->reloading) {
    w->changed_meanwhile = 1;
    return;
  }
  w->reloading = 1;
  dv8__reload(w->rt, on_reloaded, w);
}

static void on_fs_event(uv_fs_event_t *e, const char *name, int events,
                        int status) {
  (void)events;
  watcher *wr = e->data;
  if (status < 0 || name == NULL || wr->watch->stopping)
    return;
  for (size_t i = 0; i < wr->n_names; i++)
    if (strcmp(wr->names[i], name) == 0) {
      uv_timer_start(&wr->watch->debounce, on_debounce, DEBOUNCE_MS, 0);
      return;
    }
}

static void on_watcher_closed(uv_handle_t *h) {
  watcher *wr = h->data;
  for (size_t i = 0; i < wr->n_names; i++)
    free(wr->names[i]);
  free(wr->names);
  free(wr);
}

static void close_watchers(watch *w) {
  while (w->watchers != NULL) {
    watcher *wr = w->watchers;
    w->watchers = wr->next;
    uv_close((uv_handle_t *)&wr->event, on_watcher_closed);
  }
}

/* The watcher of dir, made (and started) if there is none yet; NULL if
 * it cannot be watched. */
static watcher *watcher_of(watch *w, const char *dir) {
  for (watcher *wr = w->watchers; wr != NULL; wr = wr->next)
    if (strcmp(wr->dir, dir) == 0)
      return wr;
  watcher *wr = calloc(1, sizeof(*wr) + strlen(dir) + 1);
  if (wr == NULL)
    return NULL;
  strcpy(wr->dir, dir);
  wr->watch = w;
  wr->event.data = wr;
  if (uv_fs_event_init(&w->rt->loop, &wr->event) != 0) {
    free(wr);
    return NULL;
  }
  if (uv_fs_event_start(&wr->event, on_fs_event, dir, 0) != 0) {
    fprintf(stderr, "dv8: --watch: cannot watch %s\n", dir);
    uv_close((uv_handle_t *)&wr->event, on_watcher_closed);
    return NULL;
  }
  if (w->rt->thread != NULL) /* a thread ends as it would without it */
    uv_unref((uv_handle_t *)&wr->event);
  wr->next = w->watchers;
  w->watchers = wr;
  return wr;
}

static void add_file(const char *path, void *arg) {
  watch *w = arg;
  const char *slash = strrchr(path, '/');
  if (path[0] != '/' || slash == NULL)
    return; /* native modules and builtins are not files */
  char dir[4096];
  size_t n = slash == path ? 1 : (size_t)(slash - path);
  if (n >= sizeof(dir))
    return;
  memcpy(dir, path, n);
  dir[n] = '\0';
  watcher *wr = watcher_of(w, dir);
  char *name = wr != NULL ? strdup(slash + 1) : NULL;
  char **names = name != NULL
                     ? realloc(wr->names, (wr->n_names + 1) * sizeof(char *))
                     : NULL;
  if (names == NULL) {
    free(name);
    return;
  }
  wr->names = names;
  wr->names[wr->n_names++] = name;
}

/* Watches the directories of every file of the current code. */
static void arm(watch *w) {
  close_watchers(w);
  if (w->rt->env != NULL)
    dv8__context_files(w->rt->env, add_file, w);
}

void dv8__watch_start(dv8_runtime_t *rt) {
  if (rt->watch != NULL)
    return;
  watch *w = calloc(1, sizeof(*w));
  if (w == NULL) {
    fprintf(stderr, "dv8: --watch: out of memory\n");
    return;
  }
  w->rt = rt;
  uv_timer_init(&rt->loop, &w->debounce);
  w->debounce.data = w;
  if (rt->thread != NULL)
    uv_unref((uv_handle_t *)&w->debounce);
  rt->watch = w;
  arm(w);
}

static void on_debounce_closed(uv_handle_t *h) { free(h->data); }

void dv8__watch_stop(dv8_runtime_t *rt) {
  watch *w = rt->watch;
  if (w == NULL)
    return;
  rt->watch = NULL;
  w->stopping = 1;
  close_watchers(w);
  uv_close((uv_handle_t *)&w->debounce, on_debounce_closed);
}
