/*
 * contexts.h — the C interface host/ uses to drive V8 (contexts/ is the only
 * code that includes v8.h). Every function runs on the runtime's thread.
 */
#ifndef DV8_CONTEXTS_H
#define DV8_CONTEXTS_H

#include "host/host.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Process-wide V8 start (once, before any isolate); v8_flags may be NULL. */
int dv8__v8_init(const char *exe_path, const char *v8_flags);
/* Process-wide V8 shutdown, after every isolate is gone. */
void dv8__v8_dispose(void);

/* Creates rt's isolate (rt->isolate); 0 or an error code. */
int dv8__isolate_new(dv8_runtime_t *rt);
/* Disposes rt's isolate; every context of it must be disposed first. */
void dv8__isolate_dispose(dv8_runtime_t *rt);

/* A fresh context with dv8's globals; NULL (error printed) on failure. */
dv8_env_t *dv8__context_new(dv8_runtime_t *rt);
/* Retires a context: runs pending finalizers, drops its module graph and
 * every reference it holds, then disposes it. */
void dv8__context_dispose(dv8_env_t *env);
/* The runtime ends (its loop has): env's turn hook, if any, finishes the
 * last turn and is told DV8_TURN_LEAVE. 0, or 1 when it threw (printed);
 * env may be NULL. */
int dv8__turn_last(dv8_env_t *env);

/* Loads, links and evaluates the entry module at path. Returns 0, or 1 when
 * loading or evaluation failed (the error has been printed). */
int dv8__run_main(dv8_env_t *env, const char *path);
/* Evaluates source as an ES module named [eval] (relative imports resolve
 * against the working directory). Same results as dv8__run_main. */
int dv8__run_eval(dv8_env_t *env, const char *source);
/* Compiles and instantiates source as dv8__run_eval would, so that a later
 * dv8__run_eval of the same source only evaluates it (imports resolved,
 * builtins loaded); a failure is left for that run to report. */
void dv8__prepare_eval(dv8_env_t *env, const char *source);
/* Starts the REPL on stdin. Same results as dv8__run_main. */
int dv8__run_repl(dv8_env_t *env);
/* Ctrl-C in the REPL while no input runs (host/repl.c): calls the handler
 * repl.js gave binding.replSignals. */
void dv8__repl_sigint(dv8_env_t *env);
/* After the loop has drained: checks that the entry module's top-level
 * await settled. Returns the exit code to use. */
int dv8__finish_main(dv8_env_t *env);

/* ---- the V8 steps of a reload (host/reload.c orchestrates) ---- */

/* The old code's state between capture and load: serdes bytes, and the
 * memory of the buffers it hands over as they are. */
typedef struct dv8_reload_state_s dv8_reload_state_t;

/* Prepare: a fresh context with rt's entry module read from disk again,
 * linked and evaluated; it must export load(). NULL, with the error's
 * text in *error (the caller frees it), if any of that fails. */
dv8_env_t *dv8__reload_prepare(dv8_runtime_t *rt, char **error);
/* Capture: the old code's unload() (or, without one, { handles }: the ids
 * of the n handles that cross) and its version, as serdes bytes; what its
 * thread.js ports hold goes out first. share_buffers: the state's
 * ArrayBuffers go over as they are (to a context of this thread); else
 * copied. NULL with *error on failure. */
dv8_reload_state_t *dv8__reload_capture(dv8_runtime_t *rt, dv8_env_t *old_env,
                                        dv8_handle_t **handles, size_t n,
                                        int share_buffers, char **error);
/* Load: env's load(state, fromVersion), which must finish at once. 0, or
 * an error with *error. */
int dv8__reload_load(dv8_runtime_t *rt, dv8_env_t *env,
                     const dv8_reload_state_t *state, char **error);
/* Commit's V8 part: new_env becomes rt's code, the old code's views of
 * buffers now new_env's are detached, old_env is retired (disposed once
 * events have flowed again), and new_env's microtasks run. */
void dv8__reload_commit(dv8_runtime_t *rt, dv8_env_t *old_env,
                        dv8_env_t *new_env, dv8_reload_state_t *state);
/* Abort's V8 part: the discarded new_env is disposed (its handles must be
 * closed first) and what it left pending goes. */
void dv8__reload_discard(dv8_runtime_t *rt, dv8_env_t *new_env);
void dv8__reload_state_free(dv8_reload_state_t *state);
/* The state's bytes (for another process), and its version's. */
void dv8__reload_state_bytes(const dv8_reload_state_t *state,
                             dv8_bytes_t *bytes, dv8_bytes_t *version);
/* Whether env's entry module's evaluation has finished: 1 (or there was
 * nothing to wait for), or 0 when a top-level await is still pending, and
 * then dv8__reload_settled(rt, seq, ...) is called once it settles. */
int dv8__context_settle(dv8_env_t *env, uint64_t seq);
/* Whether env's entry module's top-level await is still pending: 1; 0 when
 * its evaluation has finished (or there was none); -1 when it was rejected
 * (why in *error, the caller frees it). */
int dv8__context_awaiting(dv8_env_t *env, char **error);
/* Whether env's entry module exports name. */
int dv8__context_has_export(dv8_env_t *env, const char *name);
/* Calls fn with the absolute path of every file env's code was read from
 * (the entry module and what it imports). */
void dv8__context_files(dv8_env_t *env, void (*fn)(const char *path, void *arg),
                        void *arg);
/* After a reload deadline stopped rt's JS: it may run again. */
void dv8__isolate_cancel_terminate(dv8_runtime_t *rt);

/* ---- the V8 steps of an upgrade (host/upgrade.c) ---- */

/* Loads, links and evaluates path as env's entry module, reporting
 * nothing: 0, or an error with its text in *error (the caller frees it). */
int dv8__context_load(dv8_env_t *env, const char *path, char **error);
/* The path of the file env's program runs from, or NULL when it runs from
 * no file (-e, the REPL, a thread started from a function). */
const char *dv8__context_main_path(dv8_env_t *env);
/* The runtime env belongs to. */
dv8_runtime_t *dv8__context_runtime(dv8_env_t *env);
/* Runs env's microtasks (and reports unhandled rejections). */
void dv8__run_microtasks(dv8_env_t *env);
/* In the process taking over: the state as it came (bytes, version), for
 * dv8__reload_load. */
dv8_reload_state_t *dv8__reload_state_from(const uint8_t *bytes, size_t len,
                                           const uint8_t *version,
                                           size_t version_len);
/* ... and the ids of its handles that stayed with the process before
 * (their references revive as objects that say so). */
void dv8__reload_state_stayed(dv8_reload_state_t *state, const uint64_t *ids,
                              size_t n);

/* A reload's commit: h's slots become what env (the new code) bound, or
 * none. */
void dv8__slots_commit(dv8_handle_t *h, dv8_env_t *env);
/* A reload's abort: what the discarded code bound to h's slots goes. */
void dv8__slots_abort(dv8_handle_t *h);
/* Everything bound to h's slots goes (its context is being disposed). */
void dv8__slots_clear(dv8_handle_t *h);

/* From host/crash.c's fatal signal handler, on rt's thread: writes the
 * JavaScript stack of what the thread was running to fd (nothing if no JS
 * was). stack_low: the lowest address V8 may use of the alternate stack the
 * handler runs on, or 0 if it runs on the thread's own. Not
 * async-signal-safe: V8 allocates; the process is dying. */
void dv8__crash_print_js_stack(dv8_runtime_t *rt, int fd, uintptr_t stack_low);

/* rt's V8 heap: used and total bytes, and external memory (ArrayBuffers),
 * into out[0..2] (rt's thread). */
void dv8__isolate_heap(dv8_runtime_t *rt, uint64_t out[3]);
/* Stops rt's JS as soon as possible; callable from any thread. */
void dv8__isolate_terminate(dv8_runtime_t *rt);

/* In a worker thread: runs its module or function (thread.js). Same
 * results as dv8__run_main. */
int dv8__run_thread_main(dv8_env_t *env);
/* In a spare thread, before it has work: dv8__run_thread_main's module
 * compiled and its imports loaded (thread.js, serdes), off the path from
 * spawn to the thread's first message. */
void dv8__prepare_thread_main(dv8_env_t *env);
/* Hands messages that arrived at p to its JS receiver, in order, and frees
 * them; drained: a refused send may be retried; peer_gone: nothing more
 * will come. */
void dv8__port_deliver(dv8_port_t *p, dv8_message_t *list, int drained,
                       int peer_gone);
/* After a reload (p resumed): p's receiver becomes what the code now
 * driving p bound while loading, or stays as it was if the reload failed. */
void dv8__port_switch(dv8_port_t *p);

#ifdef __cplusplus
}
#endif
#endif
