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

#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "dv8.h"

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

/* Slots hold the handle's address; ids are index | generation << 20 so a
 * stale id never finds a new handle that took the same slot. */
typedef struct dv8_handle_table_s {
  dv8_handle_t **slots;
  uint16_t *generations;
  uint32_t *free_list;
  uint32_t capacity;
  uint32_t free_count;
  uint32_t used; /* slots ever handed out (the high-water mark) */
  uint32_t live;
} dv8_handle_table_t;

#define DV8_HANDLE_INDEX_BITS 20
#define DV8_HANDLE_MAX (1u << DV8_HANDLE_INDEX_BITS)

void dv8__handles_init(dv8_handle_table_t *t);
/* Frees the table's arrays; the table must be empty. */
void dv8__handles_free(dv8_handle_table_t *t);
/* Gives h an id; 0, or UV_ENOMEM / UV_EMFILE when the table is full. */
int dv8__handles_add(dv8_handle_table_t *t, dv8_handle_t *h);
/* Forgets h; its id will never be found again. */
void dv8__handles_remove(dv8_handle_table_t *t, dv8_handle_t *h);
/* Gives h the id it had in another process (a handoff), if that slot is
 * free here: 0, UV_EADDRINUSE, or UV_EINVAL for an id no table makes. */
int dv8__handles_rehome(dv8_handle_table_t *t, dv8_handle_t *h, uint32_t id);
/* The live handle with this id, or NULL. */
dv8_handle_t *dv8__handles_find(dv8_handle_table_t *t, uint32_t id);
/* Calls fn for every live handle. */
void dv8__handles_each(dv8_handle_table_t *t,
                       void (*fn)(dv8_handle_t *h, void *arg), void *arg);
/* uv_close every live handle (each unregisters itself when closed). */
void dv8__handles_close_all(dv8_handle_table_t *t);

/* ---- native modules (modules.c) ---- */

/* Finds NAME.so on the search path, loads it once per process and checks
 * its ABI. On failure fills err (one line naming what was searched). */
int dv8__native_load(const char *name, const dv8_module_t **out, char *err,
                     size_t errlen);
/* Sets the directory of the running binary (for ../lib/dv8). */
void dv8__native_set_exe_dir(const char *dir);
/* Unloads every module (process exit). */
void dv8__native_unload_all(void);

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
  size_t heap_limit_mb; /* 0: V8's default */
} dv8_runtime_t;

/* Initialises rt's loop and table. */
int dv8__runtime_init(dv8_runtime_t *rt, int argc, char **argv);
/* Runs the loop until no handle keeps it alive or rt->stopping is set. */
void dv8__runtime_run(dv8_runtime_t *rt);
/* Stops the loop: no more JS callbacks; exit_code is what the thread ends
 * with. */
void dv8__runtime_stop(dv8_runtime_t *rt, int exit_code);
/* Closes every handle and the loop. Returns uv_loop_close()'s result. */
int dv8__runtime_close(dv8_runtime_t *rt);

/* ---- handles (handles.c), behind dv8->handle_register/handle_close ---- */

/* Fills h's header and adds it to rt's table; uv->data becomes h. */
int dv8__handle_register(dv8_runtime_t *rt, dv8_env_t *env, dv8_handle_t *h,
                         const dv8_handle_type_t *type, uv_handle_t *uv);
/* h->flags bit the host sets once h's close has begun. */
#define DV8_HANDLE_CLOSING 1u
/* uv_close h; once closed it leaves the table and type->free(h) runs. */
void dv8__handle_close(dv8_handle_t *h);

/* ---- inherited descriptors (inherit.c) ---- */

/* A helper process's channel to the dv8 that started it, or -1. */
extern int dv8__channel_fd;
/* An upgrade's socket to the process this one replaces, or -1. */
extern int dv8__upgrade_fd;
/* systemd socket activation: listening sockets at fds 3 .. 3 + n - 1. */
extern int dv8__listen_fds;
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

/* ---- signals (signals.c) ---- */

/* Main thread: SIGTERM ends the program cleanly (status 143) unless JS
 * handles it. */
void dv8__signals_start(dv8_runtime_t *rt);
/* Whether a JS handler (a "signal" handle) is open for signum. */
int dv8__signal_handled(dv8_runtime_t *rt, int signum);

/* ---- the control socket (control.c) ---- */

/* Where control sockets live: $XDG_RUNTIME_DIR/dv8, else /tmp/dv8-UID. */
int dv8__control_dir(char *out, size_t cap);
/* Listens on DIR/PID.sock for "reload" (main thread, program from a file). */
int dv8__control_start(dv8_runtime_t *rt);
/* Closes and removes the socket. */
void dv8__control_stop(void);
/* `dv8 reload|upgrade PID|PATH`: asks that process to reload or upgrade;
 * the exit status. */
int dv8__control_command(const char *command, const char *target);

/* ---- worker threads (thread.c) ---- */

/* The handle a parent holds for a thread, and the one a thread holds for
 * its parent: an async in the holder's loop, woken by the channel. */
typedef struct dv8_port_s {
  dv8_handle_t h;
  uv_async_t async;
  dv8_channel_t *channel;
  int side;             /* 0: the parent's port, 1: the thread's */
  dv8_thread_t *thread; /* the parent's port: the thread it runs */
  void *js;             /* contexts/: the JS receiver, freed on close */
  int exited;           /* the parent's port: the exit was delivered */
  int listening;        /* JS takes data messages; else they wait queued */
  uv_idle_t *spin;      /* polls the channel for a while after a message */
  uint64_t spin_until;  /* uv_hrtime() when the polling stops */
  uint64_t spin_ns;     /* the polling window, adapted (thread.c) */
  int paused;           /* a reload runs: nothing is delivered */
} dv8_port_t;

typedef struct dv8_thread_options {
  const char *spec;    /* a module path, or a function's source */
  int spec_is_source;  /* spec is a function's source */
  const uint8_t *args; /* the arguments, as serdes bytes */
  size_t args_len;
  size_t queue_limit;   /* bytes per direction; 0: the default */
  size_t heap_limit_mb; /* 0: V8's default */
} dv8_thread_options;

#define DV8_QUEUE_LIMIT_DEFAULT (1u << 20)

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
/* Whether p's JS takes data messages now; until it does they wait in the
 * channel (the sender meets the bound), and when it starts they come. */
void dv8__port_listen(dv8_port_t *p, int on);
/* Sends a signal-like control message: outside the bound, and delivered
 * ahead of the data messages taken with it. 0 or DV8_ECLOSED. */
int dv8__port_signal(dv8_port_t *p, const char *name, size_t len);
/* Sends bytes (and attached, moved buffers: the channel's on success) as a
 * message through p: 0, DV8_EFULL, DV8_ECLOSED. force: past the bound. */
int dv8__port_send(dv8_port_t *p, const uint8_t *data, size_t len,
                   void *attached, int batch, int force);
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
