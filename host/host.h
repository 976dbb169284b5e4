/*
 * host.h — what the host's C files share with each other and with contexts/.
 * Not part of the module API (that is include/dv8.h).
 *
 * Threads: a dv8_runtime_t belongs to one thread: its loop, its isolate and
 * its handle table are touched only there. The native module registry
 * (modules.c) is process-wide and locked.
 */
#ifndef DV8_HOST_H
#define DV8_HOST_H

/* The host calls its API directly, not through a module's `dv8` table. */
#define DV8_HOST_BUILD 1

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "dv8.h"
#include "host/metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Aborts with file:line when an invariant that only a dv8 bug breaks fails. */
#define CHECK(expr)                                                            \
  do {                                                                         \
    if (!(expr))                                                               \
      dv8__check_failed(__FILE__, __LINE__, #expr);                            \
  } while (0)

void dv8__check_failed(const char *file, int line, const char *expr)
    __attribute__((noreturn));

/* The name of an error code, UV_E* or DV8_E*: "ENOENT", "EABI". */
const char *dv8_err_name(int code);
/* A readable message for an error code. */
const char *dv8_strerror(int code);

/* ---- handle table (handles.c) ---- */

/* The host's part of a handle, inside dv8_handle_t's storage (whose layout
 * modules do not see: they read it through the API). may_alias: it is read
 * through pointers to the public storage type. */
typedef struct __attribute__((may_alias)) dv8_head_s {
  const dv8_handle_type_t *type;
  uv_handle_t *uv; /* the module's uv handle, inside the same struct */
  dv8_env_t *env;  /* the context driving the handle */
  uint64_t id;
  uint32_t flags;                   /* DV8_HANDLE_* */
  uint16_t metric_type;             /* its type's row in the metrics */
  struct dv8_handle_s *prev, *next; /* the table's list, oldest first */
  void *slots; /* contexts/: the JS values bound to its slots, or NULL */
  uint64_t counters[DV8_COUNTER_COUNT];
} dv8_head_t;

#define DV8_HEAD(h) ((dv8_head_t *)(void *)(h))

/*
 * Ids come from one counter per thread and are never reused: a lookup goes
 * through an open-addressing index (linear probing on a multiplicative hash
 * of the id), and the live handles also form a list, oldest first, which is
 * the order every walk over them takes.
 */
typedef struct dv8_handle_entry_s {
  uint64_t id; /* 0: empty */
  dv8_handle_t *h;
} dv8_handle_entry_t;

typedef struct dv8_handle_table_s {
  dv8_handle_entry_t *index;
  uint32_t capacity; /* a power of two, or 0 before the first handle */
  uint32_t live;
  uint64_t next_id;
  dv8_handle_t *first, *last;
} dv8_handle_table_t;

void dv8__handles_init(dv8_handle_table_t *t);
/* Frees the table's arrays; the table must be empty. */
void dv8__handles_free(dv8_handle_table_t *t);
/* Gives h the next id; 0, UV_ENOMEM, or UV_EMFILE once ids ran out (after
 * 2^53 of them). */
int dv8__handles_add(dv8_handle_table_t *t, dv8_handle_t *h);
/* Forgets h; its id will never be found again. */
void dv8__handles_remove(dv8_handle_table_t *t, dv8_handle_t *h);
/* Gives h the id it had in another process (a handoff): 0, UV_EADDRINUSE
 * if a handle here has it, or UV_EINVAL for an id no table makes. Ids made
 * here afterwards are larger. */
int dv8__handles_rehome(dv8_handle_table_t *t, dv8_handle_t *h, uint64_t id);
/* Ids made from now on are at least first (a new process taking over from
 * an old one counts on from where the old one will be by then). */
void dv8__handles_start_at(dv8_handle_table_t *t, uint64_t first);
/* The live handle with this id, or NULL. */
dv8_handle_t *dv8__handles_find(dv8_handle_table_t *t, uint64_t id);
/* The handle after h (NULL: the first), oldest first; NULL at the end. */
dv8_handle_t *dv8__handles_next(dv8_handle_table_t *t, dv8_handle_t *h);
/* Calls fn for every live handle, oldest first (fn may close them). */
void dv8__handles_each(dv8_handle_table_t *t,
                       void (*fn)(dv8_handle_t *h, void *arg), void *arg);
/* uv_close every live handle (each unregisters itself when closed). */
void dv8__handles_close_all(dv8_handle_table_t *t);

/* ---- native modules (modules.c) ---- */

/* Finds NAME.so on the search path, loads it once per process and checks
 * its ABI. On failure fills err (one line naming what was searched). */
int dv8__native_load(const char *name, const dv8_module_t **out, char *err,
                     size_t errlen);
/* The JS layer (DV8_MODULE_JS) of loaded module name: a NUL-terminated
 * string that lives as long as the process, or NULL if it has none. */
const char *dv8__native_js(const char *name);
/* The ABI version in the dv8_module a shared object (open on fd) exports,
 * read from the file without loading it (elf.c): 0, DV8_ENOSYM (no such
 * symbol), or DV8_ENOMODULE (not a shared object of this machine, or
 * malformed); why says what, for the message. */
int dv8__elf_module_abi(int fd, uint32_t *abi, const char **why);
/* Makes DV8_PATH's relative entries absolute, against the working
 * directory (main, once, before any module loads). */
void dv8__native_path_absolute(void);
/* Sets the directory of the running binary (for ../lib/dv8). */
void dv8__native_set_exe_dir(const char *dir);
/* Unloads every module (process exit), calling each one's unload first. */
void dv8__native_unload_all(void);
/* The name of the loaded module that lists type among its handle types,
 * or NULL (a type of the host's own, or of a module that lists none). */
const char *dv8__native_module_of(const dv8_handle_type_t *type);
/* The handle type named type of native module module (loaded if need be),
 * or NULL. */
const dv8_handle_type_t *dv8__native_type(const char *module, const char *type);

/* ---- channels (channel.c) ---- */

/* A message: serdes bytes (or a control word) in one allocation. */
typedef struct dv8_message_s {
  struct dv8_message_s *next;
  uint32_t kind;  /* DV8_MSG_* */
  uint32_t flags; /* DV8_MESSAGE_* */
  int32_t code;   /* DV8_MSG_EXIT: the exit code */
  void *attached; /* contexts/: buffers moved with the message, or NULL */
  size_t len;
  uint8_t data[];
} dv8_message_t;

/* Frees a message's attachments; set by contexts/ (channel.c alone, as in
 * the unit tests, never has any). */
extern void (*dv8__message_release)(void *attached);

enum {
  DV8_MSG_DATA = 1,      /* a value, as serdes bytes */
  DV8_MSG_EXIT = 2,      /* the thread ended: code, result or error bytes */
  DV8_MSG_TERMINATE = 3, /* to a thread: stop now */
  DV8_MSG_SIGNAL = 4,    /* a control word (its name in data), ahead of data */
  DV8_MSG_RELOAD = 5,    /* to a thread: reload (code 1: its threads too) */
  DV8_MSG_RELOADED = 6,  /* from a thread: a reload's outcome (code 0, or -1
                            and the reason in data) */
};
#define DV8_MESSAGE_CONTROL 1u /* not counted against the bound */
#define DV8_MESSAGE_ERROR 2u   /* DV8_MSG_EXIT: data is an Error */
#define DV8_MESSAGE_BATCH 4u   /* DV8_MSG_DATA: framed messages, many */

typedef struct dv8_channel_s dv8_channel_t;

/* A channel whose two queues each hold up to limit bytes. */
int dv8__channel_new(dv8_channel_t **out, size_t limit);
/* A message with room for len bytes of data; NULL when out of memory. */
dv8_message_t *dv8__message_new(uint32_t kind, size_t len);
/* Frees m and every message linked after it. */
void dv8__message_free(dv8_message_t *m);
/* The async side's loop is woken by when messages or drain news arrive. */
void dv8__channel_set_wake(dv8_channel_t *c, int side, uv_async_t *wake);
/* Queues m to the other side: 0 (m is the channel's now), DV8_EFULL or
 * DV8_ECLOSED (m is still the caller's). */
int dv8__channel_send(dv8_channel_t *c, int from, dv8_message_t *m);
/* As dv8__channel_send, outside the bound (exit and terminate notices). */
int dv8__channel_send_control(dv8_channel_t *c, int from, dv8_message_t *m);
/* As dv8__channel_send, counted but never refused: a reload's last batch,
 * which the context being retired cannot hold on to. */
int dv8__channel_send_forced(dv8_channel_t *c, int from, dv8_message_t *m);
/* Takes every message queued to side, in order; *drained tells whether a
 * send of side's that was refused with DV8_EFULL may now go through. */
dv8_message_t *dv8__channel_take(dv8_channel_t *c, int side, int *drained);
/* Puts messages taken from side back at the front of its queue, in order
 * (JS stopped listening while they were being delivered). */
void dv8__channel_requeue(dv8_channel_t *c, int side, dv8_message_t *list);
/* Takes only the control messages queued to side (exit, terminate,
 * signals), in order, leaving data messages queued; *drained as above. */
dv8_message_t *dv8__channel_take_control(dv8_channel_t *c, int side,
                                         int *drained);
/* Whether the other side has detached and nothing is left for side. */
int dv8__channel_peer_gone(dv8_channel_t *c, int side);
/* Whether side polls its queue (on: senders skip its wake-up); turning it
 * off answers whether anything waits that a wake-up would have announced. */
int dv8__channel_polling(dv8_channel_t *c, int side, int on);
/* Without the lock: whether side has anything to take or learn (messages,
 * a drain, the peer gone); for polling. */
int dv8__channel_ready(dv8_channel_t *c, int side);
/* Messages and bytes queued to side. */
void dv8__channel_stats(dv8_channel_t *c, int side, size_t *count,
                        size_t *bytes);
/* side leaves: what was queued to it is freed, the peer is woken, and the
 * last side to leave frees the channel. */
void dv8__channel_detach(dv8_channel_t *c, int side);

/* ---- the per-thread runtime (runtime.c) ---- */

typedef struct dv8_isolate_s dv8_isolate_t; /* contexts/, opaque here */
typedef struct dv8_thread_s dv8_thread_t;   /* thread.c */

typedef struct dv8_runtime_s {
  uv_loop_t loop;
  dv8_handle_table_t handles;
  dv8_isolate_t *isolate;
  dv8_env_t *env; /* the active context */
  int exit_code;  /* what the thread ends with */
  int stopping;   /* set by exit() or a fatal error: no more JS runs */
  int argc;       /* the script's arguments (argv[0] is the script) */
  char **argv;
  uint64_t start_ns;    /* uv_hrtime() when the runtime started */
  dv8_thread_t *thread; /* a worker's link to its parent; NULL on main */
  size_t heap_limit_mb; /* JS heap and ArrayBuffers together; 0: none */
  struct dv8_runtime_data_s *data; /* modules' per-runtime data */
  /* reload.c: what the reloads of this thread's code did so far. */
  uint64_t reloads, reload_failures;
  uint64_t last_prepare_ns, last_pause_ns;
  char last_reload_error[1024];  /* why the last one failed, or empty */
  int last_reload_refused;       /* ... before anything was tried */
  struct dv8_reload_s *reload;   /* one under way, requests (reload.c) */
  struct dv8_watch_s *watch;     /* --watch (watch.c) */
  struct dv8_metrics_s *metrics; /* metrics.c */
} dv8_runtime_t;

/* The exit status of the main program when it reaches --heap-limit. */
#define DV8_STATUS_HEAP_LIMIT 5
/* The largest memory limit, in MiB (1 TiB). */
#define DV8_HEAP_LIMIT_MAX_MB (1u << 20)

/* Initialises rt's loop and table. */
int dv8__runtime_init(dv8_runtime_t *rt, int argc, char **argv);
/* Runs the loop until no handle keeps it alive or rt->stopping is set. */
void dv8__runtime_run(dv8_runtime_t *rt);
/* Stops the loop: no more JS callbacks; exit_code is what the thread ends
 * with. */
void dv8__runtime_stop(dv8_runtime_t *rt, int exit_code);
/* Closes every handle and the loop. Returns uv_loop_close()'s result. */
int dv8__runtime_close(dv8_runtime_t *rt);
/* Destroys the modules' per-runtime data: last, once the contexts and the
 * isolate are disposed, since a module's handles and wraps (whose
 * finalizers run at a context's disposal) may use its data until then. */
void dv8__runtime_data_free(dv8_runtime_t *rt);
/* A module's data for key in rt (dv8->runtime_data): made zeroed on first
 * use, destroyed at dv8__runtime_data_free; NULL without memory. */
void *dv8__runtime_data(dv8_runtime_t *rt, const void *key, size_t size,
                        void (*destroy)(void *data));

/* ---- handles (handles.c), behind dv8->handle_register/handle_close ---- */

/* Fills h's header and adds it to rt's table; uv->data becomes h. */
int dv8__handle_register(dv8_runtime_t *rt, dv8_env_t *env, dv8_handle_t *h,
                         const dv8_handle_type_t *type, uv_handle_t *uv);
/* A DV8_HEAD(h)->flags bit the host sets once h's close has begun. */
#define DV8_HANDLE_CLOSING 1u
/* Set while an event posted for h (slot_post) waits to be given to JS. */
#define DV8_HANDLE_POSTED 2u
/* Handed to another process (an upgrade's old side, flushing): JS no longer
 * finds h by its id nor hears of it (no slot is bound), though the old
 * code still runs for what stayed. */
#define DV8_HANDLE_AWAY 4u
/* type->close, then uv_close h; once closed it leaves the table and
 * type->free(h) runs. */
void dv8__handle_close(dv8_handle_t *h);
/* Whether h's type has a field (a module built with an older header has
 * a shorter type). */
#define DV8_TYPE_HAS(type, field)                                              \
  ((type)->size >= offsetof(dv8_handle_type_t, field) + sizeof((type)->field))
/* type->field, or NULL when the module's header had no such field. */
#define DV8_TYPE_OP(type, field)                                               \
  (DV8_TYPE_HAS(type, field) ? (type)->field : NULL)
/* Frees what contexts/ bound to a handle's slots (set by contexts/; the
 * unit tests, which bind nothing, leave it NULL). */
extern void (*dv8__slots_release)(void *slots);
/* Forgets the events posted for a handle that is closing (set by
 * contexts/, NULL in the unit tests). */
extern void (*dv8__posted_drop)(dv8_runtime_t *rt, dv8_handle_t *h);

/* ---- inherited descriptors (inherit.c) ---- */

/* A helper process's channel to the dv8 that started it, or -1. */
extern int dv8__channel_fd;
/* The largest message its parent lets the channel carry (fork's
 * maxMessage), or -1: the helper module's default. */
extern long long dv8__channel_max_message;
/* An upgrade's socket to the process this one replaces, or -1. */
extern int dv8__upgrade_fd;
/* The first handle id this process may make (an upgrade's new process:
 * past the ids of the handles coming from the old one), or 0. */
extern uint64_t dv8__upgrade_first_id;
/* systemd socket activation: listening sockets at fds 3 .. 3 + n - 1. */
extern int dv8__listen_fds;
/* SIGHUP was ignored when this process started (nohup). */
extern int dv8__sighup_ignored;
/* At start, before any JS: takes both (close-on-exec, variables unset). */
void dv8__inherit_take(void);

/* ---- messages and descriptors over a unix socket (fdpass.c) ---- */

/* Sends all of data (waiting up to 5 s for room at a time): 1, or 0 if the
 * peer is gone. */
int dv8__send_all(int fd, const void *data, size_t len);
/* Receives exactly len bytes: 1, or 0 at the end or an error. */
int dv8__recv_all(int fd, void *data, size_t len);
/* Sends n descriptors (at most 250, under SCM_MAX_FD) with one byte: 1/0. */
int dv8__send_fds(int fd, const int *fds, size_t n);
/* Receives exactly n descriptors (close-on-exec) into out: 0, or -1 (any
 * that came are closed). */
int dv8__recv_fds(int fd, size_t n, int *out);

/* A message being built: parts appended, little-endian. Memory from
 * malloc, the caller's to free; failed: memory ran out (do not send it). */
typedef struct dv8_wire_s {
  uint8_t *data;
  size_t len, cap;
  int failed;
} dv8_wire_t;

void dv8__wire_put(dv8_wire_t *b, const void *p, size_t n);
void dv8__wire_put32(dv8_wire_t *b, uint32_t v);
void dv8__wire_put64(dv8_wire_t *b, uint64_t v);
/* A name of at most 255 bytes (longer ones are cut), its length first. */
void dv8__wire_put_name(dv8_wire_t *b, const char *s);
uint32_t dv8__wire_get32(const uint8_t *p);
uint64_t dv8__wire_get64(const uint8_t *p);

/* Reads a received message's parts; past its end, bad is set and what is
 * read is NULL or 0 (so one check after many reads does). */
typedef struct dv8_wire_reader_s {
  const uint8_t *p, *end;
  int bad;
} dv8_wire_reader_t;

/* The next n bytes, or NULL. */
const uint8_t *dv8__wire_take(dv8_wire_reader_t *r, size_t n);
uint32_t dv8__wire_take32(dv8_wire_reader_t *r);
uint64_t dv8__wire_take64(dv8_wire_reader_t *r);
/* A name into out, NUL-terminated (empty if past the end). */
void dv8__wire_take_name(dv8_wire_reader_t *r, char out[256]);

/* ---- the reload transaction (reload.c) ---- */

/* How a reload went: 0, or an error (printed with why). */
typedef void (*dv8_reload_done_cb)(dv8_runtime_t *rt, int status, void *arg);
/* Replaces rt's code: a fresh context loads the entry file from disk and
 * takes over with the old code's state and handles (docs/reload.md).
 * Every trigger comes here. done (may be NULL) hears how it went: at once,
 * or, when the new code's top level awaits (a timer, I/O), once that has
 * settled and the rest is done (the old code serves meanwhile). Never from
 * inside a JS call. */
void dv8__reload(dv8_runtime_t *rt, dv8_reload_done_cb done, void *arg);
/* Whether a reload of rt is under way (waiting for its top level). */
int dv8__reload_busy(dv8_runtime_t *rt);
/* From contexts/: the top level of the code reload seq prepared has
 * settled (ok: fulfilled; else rejected, error saying why). */
void dv8__reload_settled(dv8_runtime_t *rt, uint64_t seq, int ok,
                         const char *error);
/* One line saying how the last reload went (status: what dv8__reload
 * returned), for the control socket. */
void dv8__reload_report(dv8_runtime_t *rt, int status, char *buf, size_t cap);
/* Asks for a reload once the current callback has returned (from JS, or a
 * thread's reload message); threads_too: then asks every thread rt started
 * to reload too (and theirs). */
void dv8__reload_request(dv8_runtime_t *rt, int threads_too);
/* Before rt's loop closes: what reloads and --watch keep in it closes. */
void dv8__reload_stop(dv8_runtime_t *rt);

/* ---- deadlines for JS (watchdog.c) ---- */

/* How long a reload's prepare, unload and load may take together before it
 * is abandoned (--reload-deadline; default 1000 ms). */
extern unsigned dv8__reload_deadline_ms;

/* An armed deadline: the caller's, from arm to disarm. */
typedef struct dv8_deadline_s {
  dv8_runtime_t *rt;
  uint64_t at; /* uv_hrtime() */
  int fired;
  struct dv8_deadline_s *next;
} dv8_deadline_t;

/* From now on, rt's JS is stopped (TerminateExecution) once ms have gone
 * by, unless disarmed first. */
void dv8__deadline_arm(dv8_deadline_t *d, dv8_runtime_t *rt, unsigned ms);
/* Whether it fired; if so, rt may run JS again from here on. */
int dv8__deadline_disarm(dv8_deadline_t *d);

/* ---- --watch (watch.c) ---- */

/* --watch was given: threads watch the files of their own code too. */
extern int dv8__watch_all;
/* A change to any file of rt's code reloads it, once a burst of writes
 * has settled. */
void dv8__watch_start(dv8_runtime_t *rt);
/* The watches close (the runtime ends). */
void dv8__watch_stop(dv8_runtime_t *rt);

/* ---- upgrade to a new process (upgrade.c) ---- */

/* Bytes made with malloc, for the caller to free. */
typedef struct dv8_bytes_s {
  uint8_t *data;
  size_t len;
} dv8_bytes_t;

/* Hands the program (its sockets and state) to a new dv8 process of the
 * same program, which takes over; this one then only sends what it had
 * queued, and ends. Asynchronous: done (may be NULL) hears how it went
 * (status 0 once taken over, or 1 and why; the old code goes on), within
 * bounds this process keeps itself (a new process too slow at any step is
 * killed). 0 if it started. docs/processes.md. */
int dv8__upgrade(dv8_runtime_t *rt, void (*done)(void *, int, const char *),
                 void *arg);
/* Whether an upgrade is under way (a reload is refused meanwhile): 1, or
 * 2 once the new process has taken over and this one only serves the
 * connections that stayed (their type's stays op). */
int dv8__upgrade_busy(void);
/* Set once a new process has taken this program over (for good). */
extern int dv8__upgrade_handed_over;
/* dv8 --init: supervises the program (argv, without --init) run in a
 * child, and returns the status to exit with (init.c). */
int dv8__init_run(int argc, char **argv);
/* Sends text (printf-style) to systemd's $NOTIFY_SOCKET, if set
 * (notify.c); 0 or an error, said once on stderr. */
int dv8__notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* text to the notification socket name (a path, or @ and an abstract
 * name), as dv8__notify does for $NOTIFY_SOCKET. */
int dv8__notify_to(const char *name, const char *text);
/* After an upgrade, how long queued writes to a peer that does not read
 * may wait before that connection is ended (--flush-deadline; 60000 ms). */
extern unsigned dv8__flush_deadline_ms;
/* At the end of the program: an upgrade under way is abandoned (its new
 * process stopped), and the wait for the process before to flush ends. */
void dv8__upgrade_stop(void);
/* The handoff's format (the two sides are upgrade.c and takeover.c). */
#define DV8_HANDOFF_MAGIC 0x33387664u /* "dv83" */
#define DV8_HANDOFF_FDS 250           /* per message: under SCM_MAX_FD */
#define DV8_HANDOFF_CARRY 255         /* a handle's carry_out bytes, at most */

/* ---- taking over from an upgrade's old process (takeover.c) ---- */

/* In a process started by an upgrade: loads path, takes the handoff from
 * fd and starts the program with the old one's state. 0, or 1 (the old
 * process was told why). */
int dv8__run_upgraded(dv8_env_t *env, const char *path, int fd);
/* How many connections' writes wait while the process before flushes. */
size_t dv8__takeover_flushing(void);
/* At the end of the program: the wait for the process before ends. */
void dv8__takeover_stop(void);

/* ---- signals (signals.c) ---- */

/* Main thread, a program run from a file: SIGTERM ends the program
 * cleanly (status 143), SIGHUP reloads it (unless SIGHUP was ignored when
 * dv8 started, as under nohup), SIGUSR2 upgrades it; a JS handler for one
 * of them takes its place while open. */
void dv8__signals_start(dv8_runtime_t *rt);
/* Whether a JS handler (a "signal" handle) is open for signum. */
int dv8__signal_handled(dv8_runtime_t *rt, int signum);

/* ---- crash reports (crash.c) ---- */

/* Once, early in main: a fatal signal (SIGSEGV, SIGABRT...) prints the
 * signal, the thread, the native and the JavaScript stacks, then the
 * process dies of it as it would have. */
void dv8__crash_init(void);
/* A runtime thread begins (name: a worker's, NULL on main): it gets an
 * alternate signal stack, and its crash report shows rt's JavaScript
 * stack. Call leave before rt goes away, on the same thread. */
void dv8__crash_thread_enter(dv8_runtime_t *rt, const char *name);
void dv8__crash_thread_leave(void);

/* ---- Ctrl-C in the REPL on a terminal (repl.c) ---- */

/* SIGINT becomes the REPL's: while input is evaluated (armed) it
 * terminates the JS, otherwise dv8__repl_sigint(rt->env) runs on rt's
 * loop. The terminal keeps a half-typed line at Ctrl-C (NOFLSH) for
 * dv8__repl_discard_input. 0 or an error code. */
int dv8__repl_signals_start(dv8_runtime_t *rt);
/* SIGINT and the terminal are as before the start; may be called again. */
void dv8__repl_signals_stop(void);
/* Around the evaluation of input, on the main thread: disarm returns 1 if
 * Ctrl-C terminated the JS (the caller cancels the termination), and then
 * drops what was typed meanwhile. */
void dv8__repl_interrupt_arm(void);
int dv8__repl_interrupt_disarm(void);
/* Drops what was typed on stdin and not read yet, a half-typed line
 * included: how many bytes that was, or an error code. */
int dv8__repl_discard_input(void);

/* ---- the control socket (control.c) ---- */

/* Where control sockets live: $XDG_RUNTIME_DIR/dv8, else /tmp/dv8-UID. */
int dv8__control_dir(char *out, size_t cap);
/* Whether dir is fit for control sockets (a directory, not a link, ours,
 * 0700): 0; UV_ENOENT if it is missing (and make is 0; with make it is
 * made); else an error and, in why, what is wrong and what to do ("is mode
 * 0777, open to other users: chmod 700 it"). */
int dv8__control_dir_check(const char *dir, int make, char *why, size_t cap);
/* Listens on DIR/PID.sock for "reload" and "upgrade" (main thread, program
 * from a file); a directory it cannot use is said on stderr. 0 or an
 * error. */
int dv8__control_start(dv8_runtime_t *rt);
/* Closes and removes the socket; clients still open close unanswered. */
void dv8__control_stop(void);
/* `dv8 reload|upgrade [--timeout MS] PID|PATH` (argv: what follows the
 * command word): asks that process to reload or upgrade; the exit status
 * (control_client.c). */
int dv8__control_command(const char *command, int argc, char **argv);

/* ---- worker threads (thread.c) ---- */

/* The handle a parent holds for a thread, and the one a thread holds for
 * its parent: an async in the holder's loop, woken by the channel. */
typedef struct dv8_port_s {
  dv8_handle_t h;
  uv_async_t async;
  dv8_channel_t *channel;
  int side;                 /* 0: the parent's port, 1: the thread's */
  dv8_thread_t *thread;     /* the parent's port: the thread it runs */
  dv8_env_t *slot_env;      /* contexts/: whose bindings listen/ref follow */
  int exited;               /* the parent's port: the exit was delivered */
  int listening;            /* JS takes data messages; else they wait queued */
  int listened;             /* JS listened once: a pause keeps what waits */
  dv8_message_t *held_exit; /* the thread's exit, behind messages that wait
                               for a paused listener (contexts/thread.cc) */
  uv_idle_t *spin;          /* polls the channel for a while after a message */
  uint64_t spin_until;      /* uv_hrtime() when the polling stops */
  uint64_t spin_ns;         /* the polling window, adapted (thread.c) */
  uint64_t spin_ended; /* uv_hrtime() when the last polling window ran out */
  int paused;          /* a reload runs: nothing is delivered */
  /* What the code a reload is loading (held_env) sent: it leaves at the
   * commit, and goes with that code if the reload fails (the old code,
   * which goes on, sends its own). */
  dv8_message_t *held, *held_tail;
  dv8_env_t *held_env;
} dv8_port_t;

typedef struct dv8_thread_options {
  const char *spec;    /* a module path, or a function's source */
  int spec_is_source;  /* spec is a function's source */
  const uint8_t *args; /* the arguments, as serdes bytes */
  size_t args_len;
  size_t queue_limit;   /* bytes per direction; 0: the default */
  size_t heap_limit_mb; /* JS heap and ArrayBuffers together; 0: none */
} dv8_thread_options;

#define DV8_QUEUE_LIMIT_DEFAULT (1u << 20)

/* The handle type of ports (thread.c). */
extern const dv8_handle_type_t dv8__port_type;

/* Starts a thread; *out is its port in rt (registered, keeps rt's loop
 * alive until the thread's exit has been delivered). */
int dv8__thread_spawn(dv8_runtime_t *rt, dv8_env_t *env,
                      const dv8_thread_options *o, dv8_port_t **out);
/* Stops a thread's JS (even in a loop that never yields) and its loop. */
void dv8__thread_terminate(dv8_port_t *p);
/* In a thread: its own port to the parent, made on first use. */
int dv8__thread_parent_port(dv8_runtime_t *rt, dv8_port_t **out);
/* In a thread: what it was started with. */
void dv8__thread_spec(dv8_runtime_t *rt, const char **spec, int *is_source,
                      const uint8_t **args, size_t *args_len);
/* In a thread: the value (serdes bytes) or Error its parent gets at exit;
 * the first one recorded wins. */
void dv8__thread_set_result(dv8_runtime_t *rt, const uint8_t *data, size_t len,
                            int is_error);
/* In a thread: records an Error from its parts (no JS needed). */
void dv8__thread_set_error(dv8_runtime_t *rt, const char *name,
                           const char *message, const char *stack);
/* At process end, before the main runtime's ports close: the spare
 * runtime (see thread.c) quits and no other is made. */
void dv8__threads_shutdown(void);
/* Before rt's handles close: threads are terminated and joined, and no
 * channel will wake rt's ports again. */
void dv8__ports_close(dv8_runtime_t *rt);
/* Closes one port: a parent's ends its thread first (terminated, joined). */
void dv8__port_close(dv8_port_t *p);
/* Whether this thread may poll instead of sleeping: no, for a back-off,
 * once the scheduler preempted it (another thread wanted its CPU; spin.c). */
int dv8__cpu_spare(int starting);
/* Whether p's JS takes data messages now; until it does they wait in the
 * channel (the sender meets the bound), and when it starts they come. */
void dv8__port_listen(dv8_port_t *p, int on);
/* Sends a signal-like control message: outside the bound, and delivered
 * ahead of the data messages taken with it. 0 or DV8_ECLOSED. */
int dv8__port_signal(dv8_port_t *p, const char *name, size_t len);
/* Sends bytes (and attached, moved buffers: the channel's on success) as a
 * message through p: 0, DV8_EFULL, DV8_ECLOSED. force: past the bound.
 * from: the sending code's env; another than p's (code a reload is
 * loading) has its messages held until that code commits. */
int dv8__port_send(dv8_port_t *p, const uint8_t *data, size_t len,
                   void *attached, int batch, int force, dv8_env_t *from);
/* Asks the thread behind a parent's port to reload (threads_too: and its
 * own threads, and theirs); 0 or DV8_ECLOSED. */
int dv8__port_reload(dv8_port_t *p, int threads_too);
/* Asks every thread rt started to reload, theirs too; how many were asked. */
int dv8__threads_reload(dv8_runtime_t *rt);
/* In a thread: tells its parent how a reload went (error NULL: it worked). */
void dv8__thread_reloaded(dv8_runtime_t *rt, const char *error);

#ifdef __cplusplus
}
#endif
#endif
