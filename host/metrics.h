/*
 * Metrics: counters kept per runtime (per thread) by the thread itself,
 * without locks, and read three ways: by JS (dv8.metrics, a Float64Array
 * over this thread's figures), by `dv8 stats PID` (control.c) and by the
 * optional --metrics HOST:PORT endpoint (metrics_http.c), both in the
 * Prometheus text format, for the whole process. Included by host.h.
 */
#ifndef DV8_HOST_METRICS_H
#define DV8_HOST_METRICS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dv8_runtime_s;

/* Histograms: one per kind, buckets in seconds (metrics.c lists them). */
enum {
  DV8_HIST_LOOP,         /* a loop turn's work: poll returned to next poll */
  DV8_HIST_GC,           /* a garbage collection's pause */
  DV8_HIST_RELOAD_PAUSE, /* a reload: events paused until the commit */
  DV8_HIST_RELOAD,       /* a reload, asked to done */
  DV8_HIST_COUNT
};

/* Plain counters and gauges of a runtime. */
enum {
  DV8_METRIC_RELOADS,        /* reloads that committed */
  DV8_METRIC_RELOAD_FAILS,   /* tried and rolled back */
  DV8_METRIC_RELOAD_REFUSED, /* refused before anything was tried */
  DV8_METRIC_UPGRADES,       /* upgrades this process asked for */
  DV8_METRIC_HEAP_USED,      /* gauges, as last published */
  DV8_METRIC_HEAP_TOTAL,
  DV8_METRIC_EXTERNAL,
  DV8_METRIC_COUNT
};

/* Starts rt's metrics: registered for the process's readers, and the loop
 * turns measured (unless DV8_METRICS=0). Called once rt's loop exists. */
void dv8__metrics_start(struct dv8_runtime_s *rt);
/* Before rt's loop closes: rt's counters go to the process's totals of
 * runtimes that ended (its gauges go with it), its handles are closed. */
void dv8__metrics_stop(struct dv8_runtime_s *rt);
/* Frees what dv8__metrics_start made: with the modules' runtime data, the
 * last thing of rt's (modules' cells of it are used until then). */
void dv8__metrics_free(struct dv8_runtime_s *rt);

/* A module's counter (dv8->metric_counter, ABI 6): rt's cell for name,
 * the name made at its first use; NULL for a bad name or past
 * DV8_METRICS_MODULE names. */
uint64_t *dv8__metrics_counter(struct dv8_runtime_s *rt, const char *name,
                               const char *help);
#define DV8_METRICS_MODULE 64

/* One more of a counter (rt's thread only). */
void dv8__metrics_count(struct dv8_runtime_s *rt, int metric);
/* A value in seconds' histogram kind, given in nanoseconds (rt's thread). */
void dv8__metrics_observe(struct dv8_runtime_s *rt, int hist, uint64_t ns);

/* A handle of type name joined rt's table (handles.c); its index in rt's
 * figures, kept in the handle. */
unsigned dv8__metrics_handle_opened(struct dv8_runtime_s *rt,
                                    const char *type_name);
/* A handle left rt's table: its counters go to rt's totals. */
void dv8__metrics_handle_closed(struct dv8_runtime_s *rt, unsigned type,
                                const uint64_t *counters);

/* Brings rt's published figures up to date (rt's thread): its live
 * handles' counters, its heap. */
void dv8__metrics_publish(struct dv8_runtime_s *rt);

/* The process's metrics in the Prometheus text format (version 0.0.4),
 * malloc'd, NUL-terminated; *len its length. The caller's runtime is
 * published first; the others as they last published (at most a second
 * ago while their loops run). NULL without memory. */
char *dv8__metrics_text(struct dv8_runtime_s *caller, size_t *len);

/* This thread's figures for JS (dv8.metrics): a fixed layout of
 * DV8_METRICS_VALUES doubles. Name i (a static string; "" for a handle
 * type's row not used yet) into *name; 0, or UV_EINVAL past the end. */
int dv8__metrics_name(size_t i, char *name, size_t cap);
/* Fills values (DV8_METRICS_VALUES of them) with rt's figures, published
 * first (rt's thread). */
void dv8__metrics_values(struct dv8_runtime_s *rt, double *values);

/* --metrics SPEC (HOST:PORT, [HOST]:PORT or PORT): 0, or an error with why
 * said in why. */
int dv8__metrics_http_check(const char *spec, char *why, size_t cap);
/* Serves GET /metrics on SPEC from rt's loop (the main thread's). retry: an
 * upgrade's new process, which waits for the old one to let the port go. */
int dv8__metrics_http_start(struct dv8_runtime_s *rt, const char *spec,
                            int retry, char *why, size_t cap);
/* Stops serving (before the main loop closes). */
void dv8__metrics_http_stop(void);

/* rt's V8 heap (used, total, external bytes) into out: set by contexts/
 * (the host's unit tests run without V8). */
extern void (*dv8__metrics_heap)(struct dv8_runtime_s *rt, uint64_t out[3]);

/* Handle types told apart (by name) in a process; more share the last. */
#define DV8_METRICS_TYPES 32
#define DV8_METRICS_VALUES                                                     \
  (DV8_METRIC_COUNT + 2 * DV8_HIST_COUNT +                                     \
   DV8_METRICS_TYPES * (3 + DV8_COUNTER_COUNT))

#ifdef __cplusplus
}
#endif

#endif
