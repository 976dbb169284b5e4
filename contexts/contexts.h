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

/* Loads, links and evaluates the entry module at path. Returns 0, or 1 when
 * loading or evaluation failed (the error has been printed). */
int dv8__run_main(dv8_env_t *env, const char *path);
/* Evaluates source as an ES module named [eval] (relative imports resolve
 * against the working directory). Same results as dv8__run_main. */
int dv8__run_eval(dv8_env_t *env, const char *source);
/* Starts the REPL on stdin. Same results as dv8__run_main. */
int dv8__run_repl(dv8_env_t *env);
/* After the loop has drained: checks that the entry module's top-level
 * await settled. Returns the exit code to use. */
int dv8__finish_main(dv8_env_t *env);

/* Replaces rt's code now: a fresh context loads the entry file from disk
 * and takes over with the old code's state (docs/reload.md). 0, or an
 * error (printed; the old code goes on). Never from inside a JS call. */
int dv8__reload(dv8_runtime_t *rt);
/* One line saying how the last reload went (status: what dv8__reload
 * returned), for the control socket. */
void dv8__reload_report(dv8_runtime_t *rt, int status, char *buf, size_t cap);
/* Asks for a reload once the current callback has returned; threads_too:
 * then asks every thread rt started to reload too (and theirs). */
void dv8__reload_request(dv8_runtime_t *rt, int threads_too);
/* How long prepare, unload and load may take together before the reload
 * is abandoned (--reload-deadline; default 1000 ms). */
extern unsigned dv8__reload_deadline_ms;
/* --watch was given: threads watch the files of their own code too. */
extern int dv8__watch_all;
/* --watch: a change to any file of the program (the entry and what it
 * imports) reloads it, once a burst of writes has settled. */
void dv8__reload_watch(dv8_runtime_t *rt);
/* SIGHUP asks rt for a reload. */
void dv8__reload_on_sighup(dv8_runtime_t *rt);

/* Hands the program (its sockets and state) to a new dv8 process of the
 * same program, which takes over; this one then only sends what it had
 * queued, and ends. Asynchronous: done (may be NULL) hears how it went
 * (status 0 once taken over, or 1 and why; the old code goes on). 0 if it
 * started. docs/processes.md. */
int dv8__upgrade(dv8_runtime_t *rt, void (*done)(void *, int, const char *),
                 void *arg);
/* After an upgrade, how long queued writes to a peer that does not read
 * may wait before that connection is ended (--flush-deadline; 60000 ms). */
extern unsigned dv8__flush_deadline_ms;
/* At the end of the program: an upgrade under way is abandoned (its new
 * process stopped), and the wait for the process before to flush ends. */
void dv8__upgrade_stop(void);
/* SIGUSR2 asks for an upgrade (unless JS handles SIGUSR2). */
void dv8__upgrade_on_usr2(dv8_runtime_t *rt);
/* In a process started by an upgrade: loads path, takes the handoff from
 * fd and starts the program with the old one's state. Results as
 * dv8__run_main. */
int dv8__run_upgraded(dv8_env_t *env, const char *path, int fd);

/* Stops rt's JS as soon as possible; callable from any thread. */
void dv8__isolate_terminate(dv8_runtime_t *rt);

/* In a worker thread: runs its module or function (thread.js). Same
 * results as dv8__run_main. */
int dv8__run_thread_main(dv8_env_t *env);
/* Hands messages that arrived at p to its JS receiver, in order, and frees
 * them; drained: a refused send may be retried; peer_gone: nothing more
 * will come. */
void dv8__port_deliver(dv8_port_t *p, dv8_message_t *list, int drained,
                       int peer_gone);
/* Frees what contexts/ attached to p (its JS receiver). */
void dv8__port_release(dv8_port_t *p);
/* After a reload (p resumed): p's receiver becomes what the code now
 * driving p bound while loading, or stays as it was if the reload failed. */
void dv8__port_switch(dv8_port_t *p);

#ifdef __cplusplus
}
#endif
#endif
