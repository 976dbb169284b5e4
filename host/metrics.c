/*
 * Metrics (metrics.h). Each runtime's figures are written by its own thread
 * only, with relaxed atomic stores (a plain load and store: no lock, no
 * locked instruction), and read by any thread with relaxed loads, under the
 * registry's lock, which a runtime takes only to join and to leave. A
 * runtime that ends adds its counters to the process's "retired" totals as
 * it leaves, so counters never go back.
 *
 * What needs a walk is published, not kept live: the byte and event
 * counters of open handles (each handle's own, bumped by its module) and
 * V8's heap figures. A runtime publishes at most once a second from its
 * loop (a check handle: one time comparison per turn; a turn within the
 * second arms a timer for the rest of it, so the last figures before the
 * loop sleeps go out too) and whenever its own thread reads (dv8.metrics,
 * or the main thread answering a scrape).
 * Handles that closed are added to the totals as they close.
 *
 * Loop turns: the time from the poll's return to the next poll is the work
 * of one turn, which is how long an event that came meanwhile waited at
 * most (node's event-loop delay measures the same by a timer's lateness).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "host/host.h"

#define GET(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define SET(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define ADD(x, n) SET(x, GET(x) + (n)) /* one writer: no lost updates */

/* Bucket bounds, in ns: 100 us to 5 s. */
static const uint64_t bounds[] = {100000,     250000,     500000,    1000000,
                                  2500000,    5000000,    10000000,  25000000,
                                  50000000,   100000000,  250000000, 500000000,
                                  1000000000, 2500000000, 5000000000};
#define BOUNDS (sizeof(bounds) / sizeof(bounds[0]))

typedef struct hist {
  uint64_t bucket[BOUNDS + 1]; /* the last: above every bound */
  uint64_t sum_ns, count;
} hist;

/* One handle type's figures. */
typedef struct tally {
  uint64_t opened, closed;
  uint64_t c[DV8_COUNTER_COUNT]; /* published: closed handles' + live */
  uint64_t queued;               /* published: bytes waiting to be written */
} tally;

/* Figures that add up across runtimes (the retired totals keep these). */
typedef struct figures {
  uint64_t m[DV8_METRIC_COUNT];
  uint64_t mod[DV8_METRICS_MODULE]; /* modules' counters (ABI 6) */
  hist h[DV8_HIST_COUNT];
  tally t[DV8_METRICS_TYPES];
} figures;

typedef struct dv8_metrics_s {
  struct dv8_metrics_s *next;
  figures f;
  uint64_t closed_c[DV8_METRICS_TYPES][DV8_COUNTER_COUNT]; /* owner only */
  /* The types this runtime has met, by their name's address. */
  const char *seen_name[8];
  unsigned seen_type[8];
  unsigned n_seen;
  uv_prepare_t prepare;
  uv_check_t check;
  uv_timer_t later;    /* a publish put off by the once-a-second rule */
  uint64_t turn_start; /* when the poll returned; 0 before the first */
  uint64_t published_ms;
  int timing;
} dv8_metrics_t;

void (*dv8__metrics_heap)(dv8_runtime_t *rt, uint64_t out[3]);

static uv_once_t once = UV_ONCE_INIT;
static uv_mutex_t lock;
static dv8_metrics_t *live; /* the runtimes now, a list */
static figures retired;     /* counters of runtimes that ended */
static char *type_names[DV8_METRICS_TYPES];
static unsigned n_types;
static char *mod_names[DV8_METRICS_MODULE], *mod_help[DV8_METRICS_MODULE];
static unsigned n_mod;
static uint64_t started_unix_ms;

static void init(void) {
  CHECK(uv_mutex_init(&lock) == 0);
  uv_timeval64_t tv;
  if (uv_gettimeofday(&tv) == 0)
    started_unix_ms = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static dv8_metrics_t *of(dv8_runtime_t *rt) { return rt->metrics; }

void dv8__metrics_observe(dv8_runtime_t *rt, int kind, uint64_t ns) {
  dv8_metrics_t *m = of(rt);
  if (m == NULL)
    return;
  hist *h = &m->f.h[kind];
  size_t i = 0;
  while (i < BOUNDS && ns > bounds[i])
    i++;
  ADD(h->bucket[i], 1);
  ADD(h->sum_ns, ns);
  ADD(h->count, 1);
}

void dv8__metrics_count(dv8_runtime_t *rt, int metric) {
  dv8_metrics_t *m = of(rt);
  if (m != NULL)
    ADD(m->f.m[metric], 1);
}

static void on_prepare(uv_prepare_t *p) {
  dv8_metrics_t *m = p->data;
  if (m->turn_start != 0)
    dv8__metrics_observe(p->loop->data, DV8_HIST_LOOP,
                         uv_hrtime() - m->turn_start);
}

static void on_later(uv_timer_t *t) { dv8__metrics_publish(t->loop->data); }

/* A turn that did work publishes, or makes sure a publish follows within
 * the second (the loop may then sleep for long). */
static void on_check(uv_check_t *c) {
  dv8_metrics_t *m = c->data;
  if (m->timing)
    m->turn_start = uv_hrtime();
  uint64_t since = uv_now(c->loop) - m->published_ms;
  if (since >= 1000)
    dv8__metrics_publish(c->loop->data);
  else if (!uv_is_active((uv_handle_t *)&m->later))
    uv_timer_start(&m->later, on_later, 1000 - since, 0);
}

void dv8__metrics_start(dv8_runtime_t *rt) {
  uv_once(&once, init);
  dv8_metrics_t *m = calloc(1, sizeof(*m));
  if (m == NULL)
    return; /* the runtime goes uncounted */
  const char *env = getenv("DV8_METRICS");
  m->timing = env == NULL || strcmp(env, "0") != 0;
  uv_prepare_init(&rt->loop, &m->prepare);
  uv_check_init(&rt->loop, &m->check);
  uv_timer_init(&rt->loop, &m->later);
  m->prepare.data = m->check.data = m->later.data = m;
  uv_unref((uv_handle_t *)&m->prepare);
  uv_unref((uv_handle_t *)&m->check);
  uv_unref((uv_handle_t *)&m->later);
  if (m->timing)
    uv_prepare_start(&m->prepare, on_prepare);
  uv_check_start(&m->check, on_check);
  m->published_ms = uv_now(&rt->loop);
  rt->metrics = m;
  uv_mutex_lock(&lock);
  m->next = live;
  live = m;
  uv_mutex_unlock(&lock);
}

/* to += from, the counters (not the gauges) of one runtime. */
static void add_figures(figures *to, const figures *from) {
  for (int i = 0; i < DV8_METRIC_COUNT; i++)
    if (i != DV8_METRIC_HEAP_USED && i != DV8_METRIC_HEAP_TOTAL &&
        i != DV8_METRIC_EXTERNAL)
      to->m[i] += GET(from->m[i]);
  for (int i = 0; i < DV8_METRICS_MODULE; i++)
    to->mod[i] += GET(from->mod[i]);
  for (int k = 0; k < DV8_HIST_COUNT; k++) {
    for (size_t b = 0; b <= BOUNDS; b++)
      to->h[k].bucket[b] += GET(from->h[k].bucket[b]);
    to->h[k].sum_ns += GET(from->h[k].sum_ns);
    to->h[k].count += GET(from->h[k].count);
  }
  for (int t = 0; t < DV8_METRICS_TYPES; t++) {
    to->t[t].opened += GET(from->t[t].opened);
    to->t[t].closed += GET(from->t[t].closed);
    for (int c = 0; c < DV8_COUNTER_COUNT; c++)
      to->t[t].c[c] += GET(from->t[t].c[c]);
  }
}

void dv8__metrics_stop(dv8_runtime_t *rt) {
  dv8_metrics_t *m = of(rt);
  if (m == NULL)
    return;
  /* Every handle has closed by now (runtime_close): the closed totals are
   * all there is. */
  dv8__metrics_publish(rt);
  uv_mutex_lock(&lock);
  for (dv8_metrics_t **l = &live; *l != NULL; l = &(*l)->next)
    if (*l == m) {
      *l = m->next;
      break;
    }
  add_figures(&retired, &m->f);
  uv_mutex_unlock(&lock);
  uv_close((uv_handle_t *)&m->prepare, NULL);
  uv_close((uv_handle_t *)&m->check, NULL);
  uv_close((uv_handle_t *)&m->later, NULL);
}

void dv8__metrics_free(dv8_runtime_t *rt) {
  free(rt->metrics);
  rt->metrics = NULL;
}

/* The process-wide index of handle type name (the last one for any past
 * DV8_METRICS_TYPES). */
static unsigned type_index(const char *name) {
  if (name == NULL)
    name = "unnamed";
  uv_mutex_lock(&lock);
  unsigned i = 0;
  while (i < n_types && strcmp(type_names[i], name) != 0)
    i++;
  if (i == n_types && n_types < DV8_METRICS_TYPES) {
    char *copy = strdup(n_types == DV8_METRICS_TYPES - 1 ? "other" : name);
    if (copy != NULL)
      type_names[n_types++] = copy;
    else
      i = n_types > 0 ? n_types - 1 : 0;
  }
  if (i >= DV8_METRICS_TYPES)
    i = DV8_METRICS_TYPES - 1;
  uv_mutex_unlock(&lock);
  return i;
}

/* Prometheus' rule for a metric's name. */
static int good_name(const char *name) {
  if (name == NULL || name[0] == '\0' || (name[0] >= '0' && name[0] <= '9'))
    return 0;
  for (const char *p = name; *p != '\0'; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9') || *p == '_' || *p == ':'))
      return 0;
  return strlen(name) < 128;
}

uint64_t *dv8__metrics_counter(dv8_runtime_t *rt, const char *name,
                               const char *help) {
  dv8_metrics_t *m = of(rt);
  if (m == NULL || !good_name(name))
    return NULL;
  uv_mutex_lock(&lock);
  unsigned i = 0;
  while (i < n_mod && strcmp(mod_names[i], name) != 0)
    i++;
  if (i == n_mod && n_mod < DV8_METRICS_MODULE) {
    mod_names[i] = strdup(name);
    mod_help[i] = strdup(help != NULL ? help : name);
    if (mod_names[i] != NULL && mod_help[i] != NULL) {
      /* The help goes on one line of the text format. */
      for (char *p = mod_help[i]; *p != '\0'; p++)
        if (*p == '\n' || *p == '\\')
          *p = ' ';
      n_mod++;
    } else {
      free(mod_names[i]);
      free(mod_help[i]);
    }
  }
  uv_mutex_unlock(&lock);
  return i < n_mod ? &m->f.mod[i] : NULL;
}

unsigned dv8__metrics_handle_opened(dv8_runtime_t *rt, const char *name) {
  dv8_metrics_t *m = of(rt);
  if (m == NULL)
    return 0;
  unsigned t = DV8_METRICS_TYPES;
  for (unsigned i = 0; i < m->n_seen; i++)
    if (m->seen_name[i] == name)
      t = m->seen_type[i];
  if (t == DV8_METRICS_TYPES) {
    t = type_index(name);
    if (m->n_seen < sizeof(m->seen_name) / sizeof(m->seen_name[0])) {
      m->seen_name[m->n_seen] = name;
      m->seen_type[m->n_seen++] = t;
    }
  }
  ADD(m->f.t[t].opened, 1);
  return t;
}

void dv8__metrics_handle_closed(dv8_runtime_t *rt, unsigned t,
                                const uint64_t *counters) {
  dv8_metrics_t *m = of(rt);
  if (m == NULL || t >= DV8_METRICS_TYPES)
    return;
  ADD(m->f.t[t].closed, 1);
  for (int c = 0; c < DV8_COUNTER_COUNT; c++)
    m->closed_c[t][c] += counters[c];
}

void dv8__metrics_publish(dv8_runtime_t *rt) {
  dv8_metrics_t *m = of(rt);
  if (m == NULL)
    return;
  m->published_ms = uv_now(&rt->loop);
  static __thread uint64_t sum[DV8_METRICS_TYPES][DV8_COUNTER_COUNT];
  static __thread uint64_t queued[DV8_METRICS_TYPES];
  memcpy(sum, m->closed_c, sizeof(sum));
  memset(queued, 0, sizeof(queued));
  for (dv8_handle_t *h = dv8__handles_next(&rt->handles, NULL); h != NULL;
       h = dv8__handles_next(&rt->handles, h)) {
    dv8_head_t *hh = DV8_HEAD(h);
    unsigned t = hh->metric_type;
    for (int c = 0; c < DV8_COUNTER_COUNT; c++)
      sum[t][c] += hh->counters[c];
    size_t (*q)(dv8_handle_t *) = DV8_TYPE_OP(hh->type, queued);
    if (q != NULL && !(hh->flags & DV8_HANDLE_CLOSING))
      queued[t] += q(h);
  }
  for (int t = 0; t < DV8_METRICS_TYPES; t++) {
    for (int c = 0; c < DV8_COUNTER_COUNT; c++)
      SET(m->f.t[t].c[c], sum[t][c]);
    SET(m->f.t[t].queued, queued[t]);
  }
  uint64_t heap[3] = {0, 0, 0};
  if (rt->isolate != NULL && dv8__metrics_heap != NULL)
    dv8__metrics_heap(rt, heap);
  SET(m->f.m[DV8_METRIC_HEAP_USED], heap[0]);
  SET(m->f.m[DV8_METRIC_HEAP_TOTAL], heap[1]);
  SET(m->f.m[DV8_METRIC_EXTERNAL], heap[2]);
}

/* ---- the text format ---- */

typedef struct text {
  char *p;
  size_t len, cap;
  int failed;
} text;

__attribute__((format(printf, 2, 3))) static void put(text *t, const char *f,
                                                      ...) {
  if (t->failed)
    return;
  for (;;) {
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(t->p + t->len, t->cap - t->len, f, ap);
    va_end(ap);
    if (n < 0) {
      t->failed = 1;
      return;
    }
    if ((size_t)n < t->cap - t->len) {
      t->len += (size_t)n;
      return;
    }
    size_t cap = t->cap * 2 + (size_t)n;
    char *grown = realloc(t->p, cap);
    if (grown == NULL) {
      t->failed = 1;
      return;
    }
    t->p = grown;
    t->cap = cap;
  }
}

static void family(text *t, const char *name, const char *type,
                   const char *help) {
  put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void histogram(text *t, const char *name, const char *help,
                      const hist *h) {
  family(t, name, "histogram", help);
  uint64_t below = 0;
  for (size_t b = 0; b < BOUNDS; b++) {
    below += h->bucket[b];
    put(t, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, (double)bounds[b] / 1e9,
        below);
  }
  put(t, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, h->count);
  put(t, "%s_sum %.9f\n%s_count %" PRIu64 "\n", name, (double)h->sum_ns / 1e9,
      name, h->count);
}

/* What the names of the handle counters say (DV8_COUNTER_MAP's order). */
static const char *const counter_help[DV8_COUNTER_COUNT] = {
    "Bytes read from handles.",
    "Bytes written to handles (taken by the kernel or queued).",
    "Reads that brought data.",
    "Writes asked for.",
    "Writes that waited in a queue (the kernel did not take them at once).",
    "Writes refused: the handle's write queue was full.",
    "Writes the kernel took none of at first (EAGAIN).",
    "Times reading paused (back-pressure, a reload).",
    "Times reading resumed.",
    "Ends of stream from the peer.",
    "Handles closed.",
    "Errors on handles.",
    "Read buffers allocated.",
    "Read buffers freed.",
    "Events delivered to JS.",
};

#define JS_NAME(name, js) #js,
static const char *const counter_name[] = {DV8_COUNTER_MAP(JS_NAME)};
#undef JS_NAME

char *dv8__metrics_text(dv8_runtime_t *caller, size_t *len) {
  uv_once(&once, init);
  if (caller != NULL)
    dv8__metrics_publish(caller);
  figures f; /* summed under the lock */
  uint64_t gauges[3] = {0, 0, 0};
  uint64_t queued[DV8_METRICS_TYPES] = {0};
  unsigned runtimes = 0, types;
  char *names[DV8_METRICS_TYPES];
  uv_mutex_lock(&lock);
  f = retired;
  for (dv8_metrics_t *m = live; m != NULL; m = m->next) {
    add_figures(&f, &m->f);
    gauges[0] += GET(m->f.m[DV8_METRIC_HEAP_USED]);
    gauges[1] += GET(m->f.m[DV8_METRIC_HEAP_TOTAL]);
    gauges[2] += GET(m->f.m[DV8_METRIC_EXTERNAL]);
    for (int i = 0; i < DV8_METRICS_TYPES; i++)
      queued[i] += GET(m->f.t[i].queued);
    runtimes++;
  }
  types = n_types;
  memcpy(names, type_names, sizeof(names));
  unsigned mods = n_mod;
  char *mnames[DV8_METRICS_MODULE], *mhelp[DV8_METRICS_MODULE];
  memcpy(mnames, mod_names, sizeof(mnames));
  memcpy(mhelp, mod_help, sizeof(mhelp));
  uv_mutex_unlock(&lock);

  text t = {malloc(16384), 0, 16384, 0};
  if (t.p == NULL)
    return NULL;
  family(&t, "dv8_process_start_time_seconds", "gauge",
         "When this process started, in seconds since the epoch.");
  put(&t, "dv8_process_start_time_seconds %.3f\n",
      (double)started_unix_ms / 1e3);
  family(&t, "dv8_runtimes", "gauge",
         "JS runtimes running: the main thread's and each thread's.");
  put(&t, "dv8_runtimes %u\n", runtimes);
  family(&t, "dv8_reloads_total", "counter",
         "Reloads of JS code, by outcome: ok (committed), failed (rolled "
         "back, the old code goes on), refused (nothing was tried).");
  put(&t, "dv8_reloads_total{outcome=\"ok\"} %" PRIu64 "\n",
      f.m[DV8_METRIC_RELOADS]);
  put(&t, "dv8_reloads_total{outcome=\"failed\"} %" PRIu64 "\n",
      f.m[DV8_METRIC_RELOAD_FAILS]);
  put(&t, "dv8_reloads_total{outcome=\"refused\"} %" PRIu64 "\n",
      f.m[DV8_METRIC_RELOAD_REFUSED]);
  family(&t, "dv8_upgrades_total", "counter",
         "Upgrades this process was asked for (dv8 upgrade).");
  put(&t, "dv8_upgrades_total %" PRIu64 "\n", f.m[DV8_METRIC_UPGRADES]);
  family(&t, "dv8_heap_used_bytes", "gauge",
         "V8 heap in use, all runtimes, as last published.");
  put(&t, "dv8_heap_used_bytes %" PRIu64 "\n", gauges[0]);
  family(&t, "dv8_heap_total_bytes", "gauge",
         "V8 heap reserved, all runtimes, as last published.");
  put(&t, "dv8_heap_total_bytes %" PRIu64 "\n", gauges[1]);
  family(&t, "dv8_external_memory_bytes", "gauge",
         "Memory held by ArrayBuffers and other external objects.");
  put(&t, "dv8_external_memory_bytes %" PRIu64 "\n", gauges[2]);

  family(&t, "dv8_handles_open", "gauge", "Handles open now, by type.");
  for (unsigned i = 0; i < types; i++)
    put(&t, "dv8_handles_open{type=\"%s\"} %" PRIu64 "\n", names[i],
        f.t[i].opened - f.t[i].closed);
  family(&t, "dv8_handles_opened_total", "counter",
         "Handles opened, by type (a stream: each connection, server, pipe; "
         "a port: each thread's channel end).");
  for (unsigned i = 0; i < types; i++)
    put(&t, "dv8_handles_opened_total{type=\"%s\"} %" PRIu64 "\n", names[i],
        f.t[i].opened);
  family(&t, "dv8_handle_queued_bytes", "gauge",
         "Bytes written to handles and not yet taken by the kernel.");
  for (unsigned i = 0; i < types; i++)
    put(&t, "dv8_handle_queued_bytes{type=\"%s\"} %" PRIu64 "\n", names[i],
        queued[i]);
  for (int c = 0; c < DV8_COUNTER_COUNT; c++) {
    char name[64];
    snprintf(name, sizeof(name), "dv8_handle_%s_total", counter_name[c]);
    family(&t, name, "counter", counter_help[c]);
    for (unsigned i = 0; i < types; i++)
      put(&t, "%s{type=\"%s\"} %" PRIu64 "\n", name, names[i], f.t[i].c[c]);
  }
  for (unsigned i = 0; i < mods; i++) {
    family(&t, mnames[i], "counter", mhelp[i]);
    put(&t, "%s %" PRIu64 "\n", mnames[i], f.mod[i]);
  }
  histogram(&t, "dv8_event_loop_turn_seconds",
            "The work of one turn of an event loop: from its poll's return "
            "to its next poll (how long an event waited at most).",
            &f.h[DV8_HIST_LOOP]);
  histogram(&t, "dv8_gc_pause_seconds", "Garbage collection pauses.",
            &f.h[DV8_HIST_GC]);
  histogram(&t, "dv8_reload_pause_seconds",
            "Reloads that committed: how long events were held.",
            &f.h[DV8_HIST_RELOAD_PAUSE]);
  histogram(&t, "dv8_reload_seconds",
            "Reloads that committed: from the request to the commit.",
            &f.h[DV8_HIST_RELOAD]);
  if (t.failed) {
    free(t.p);
    return NULL;
  }
  *len = t.len;
  return t.p;
}

/* ---- JS's view ---- */

static const char *const metric_name[DV8_METRIC_COUNT] = {
    "reloads",         "reload_failures",  "reload_refused",       "upgrades",
    "heap_used_bytes", "heap_total_bytes", "external_memory_bytes"};
static const char *const hist_name[DV8_HIST_COUNT] = {
    "event_loop_turn", "gc_pause", "reload_pause", "reload"};

int dv8__metrics_name(size_t i, char *out, size_t cap) {
  uv_once(&once, init);
  if (i < DV8_METRIC_COUNT) {
    snprintf(out, cap, "%s", metric_name[i]);
    return 0;
  }
  i -= DV8_METRIC_COUNT;
  if (i < 2 * DV8_HIST_COUNT) {
    snprintf(out, cap, "%s_%s", hist_name[i / 2],
             i % 2 == 0 ? "count" : "seconds");
    return 0;
  }
  i -= 2 * DV8_HIST_COUNT;
  size_t row = 3 + DV8_COUNTER_COUNT;
  if (i >= DV8_METRICS_TYPES * row)
    return UV_EINVAL;
  size_t type = i / row, col = i % row;
  uv_mutex_lock(&lock);
  const char *tn = type < n_types ? type_names[type] : NULL;
  if (tn == NULL)
    out[0] = '\0';
  else if (col < 3)
    snprintf(out, cap, "%s.%s", tn,
             col == 0   ? "open"
             : col == 1 ? "opened"
                        : "closed");
  else
    snprintf(out, cap, "%s.%s", tn, counter_name[col - 3]);
  uv_mutex_unlock(&lock);
  return 0;
}

void dv8__metrics_values(dv8_runtime_t *rt, double *v) {
  memset(v, 0, DV8_METRICS_VALUES * sizeof(*v));
  dv8_metrics_t *m = of(rt);
  if (m == NULL)
    return;
  dv8__metrics_publish(rt);
  const figures *f = &m->f;
  for (int i = 0; i < DV8_METRIC_COUNT; i++)
    *v++ = (double)f->m[i];
  for (int k = 0; k < DV8_HIST_COUNT; k++) {
    *v++ = (double)f->h[k].count;
    *v++ = (double)f->h[k].sum_ns / 1e9;
  }
  for (int t = 0; t < DV8_METRICS_TYPES; t++) {
    *v++ = (double)(f->t[t].opened - f->t[t].closed);
    *v++ = (double)f->t[t].opened;
    *v++ = (double)f->t[t].closed;
    for (int c = 0; c < DV8_COUNTER_COUNT; c++)
      *v++ = (double)f->t[t].c[c];
  }
}
