/*
 * dv8.h — the whole C API a dv8 module sees.
 *
 * A module is a shared object (NAME.so) that includes only this header (and
 * its own libraries' headers, libuv's among them). It exports exactly one
 * symbol, `dv8_module`, made with DV8_MODULE(), holding the ABI version it was
 * built for and its init function. The host hands init a table of function
 * pointers (struct dv8_api); the module reaches the host only through that
 * table, through the hidden global pointer `dv8` that DV8_MODULE() defines, so
 * a module never links against symbols of the dv8 binary.
 *
 * Threads: every call takes the dv8_env_t of the thread it runs on. Values
 * (dv8_value_t) are valid until the innermost scope closes: during a function
 * callback, until it returns; elsewhere, until dv8->scope_close(). Keep a
 * value longer with dv8->ref_new(). Nothing here may be used from a thread
 * other than the env's own.
 *
 * Errors: functions returning int return 0 or a negative errno-style code
 * (libuv's UV_E* unchanged, or one of DV8_E* below). A function that takes a
 * callback and returns an error never calls that callback.
 *
 * Versions: the function table only grows (new functions are appended), so
 * a module built against an older header keeps loading in a newer dv8, down
 * to DV8_ABI_MIN. Define DV8_ABI_TARGET (before including this header) to
 * build a module for an older dv8: the table then ends where that version's
 * did, and the module says it needs no more.
 *
 * This header compiles as C11 -pedantic and as C++; no V8 type crosses it.
 */
#ifndef DV8_H
#define DV8_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI this header describes, and the oldest one this dv8 still loads.
 * 1 -> 2 was incompatible (handles became opaque, ids 53-bit); from 2 on,
 * versions only append. */
#define DV8_ABI_VERSION 7
#define DV8_ABI_MIN 2
#ifndef DV8_ABI_TARGET
#define DV8_ABI_TARGET DV8_ABI_VERSION
#endif
#if DV8_ABI_TARGET < DV8_ABI_MIN || DV8_ABI_TARGET > DV8_ABI_VERSION
#error "DV8_ABI_TARGET must be between DV8_ABI_MIN and DV8_ABI_VERSION"
#endif

#define DV8_VERSION_MAJOR 0
#define DV8_VERSION_MINOR 1
#define DV8_VERSION_PATCH 0
#define DV8_VERSION_STRING "0.1.0"

/*
 * dv8's own error codes. They are negative and far below errno's range, so
 * they never collide with UV_E* codes. dv8->err_name() and dv8->strerror()
 * know both sets.
 */
#define DV8_ERRNO_MAP(X)                                                       \
  X(EEXCEPTION, -30001, "a JavaScript exception was thrown")                   \
  X(ETYPE, -30002, "wrong argument type")                                      \
  X(EABI, -30003, "module built for another ABI version")                      \
  X(ENOSYM, -30004, "module does not export dv8_module")                       \
  X(ENOMODULE, -30005, "module not found")                                     \
  X(ESERDES, -30006, "value cannot be serialized")                             \
  X(EFULL, -30007, "queue full")                                               \
  X(ECLOSED, -30008, "handle is closed")

#define DV8_ERRNO_ENUM(name, code, msg) DV8_##name = (code),
enum { DV8_ERRNO_MAP(DV8_ERRNO_ENUM) DV8_ERRNO_END_ = 0 };
#undef DV8_ERRNO_ENUM

/* Opaque: the per-thread, per-context environment a call runs in. */
typedef struct dv8_env_s dv8_env_t;
/* Opaque: a JS value, valid until the enclosing scope closes. */
typedef struct dv8_value_s *dv8_value_t;
/* Opaque: the arguments of a JS call into a native function. */
typedef struct dv8_call_s dv8_call_t;
/* Opaque: a strong reference to a JS value that outlives scopes. */
typedef struct dv8_ref_s dv8_ref_t;

/*
 * A scope for calling into JS from outside a JS call (a libuv callback).
 * Storage only: its contents belong to the host.
 */
typedef struct dv8_scope_s {
  void *priv[8];
} dv8_scope_t;

/* A native function callable from JS. Return NULL for undefined. */
typedef dv8_value_t (*dv8_function_cb)(dv8_env_t *env, dv8_call_t *call);
/* Runs when the JS object a pointer was attached to is collected. */
typedef void (*dv8_finalize_cb)(void *ptr, void *hint);
/* Frees a module's per-runtime data (runtime_data). */
typedef void (*dv8_destroy_cb)(void *data);

typedef enum {
  DV8_TYPE_UNDEFINED,
  DV8_TYPE_NULL,
  DV8_TYPE_BOOLEAN,
  DV8_TYPE_NUMBER,
  DV8_TYPE_BIGINT,
  DV8_TYPE_STRING,
  DV8_TYPE_SYMBOL,
  DV8_TYPE_FUNCTION,
  DV8_TYPE_ARRAY,
  DV8_TYPE_ARRAYBUFFER,
  DV8_TYPE_TYPEDARRAY, /* any ArrayBuffer view, DataView included */
  DV8_TYPE_OBJECT
} dv8_type_t;

/*
 * Handles. The host owns every long-lived libuv handle so that it can pause,
 * re-wrap and move it across a reload without knowing what it is. A module
 * embeds a dv8_handle_t first in its own struct, the uv handle after it:
 *   struct timer { dv8_handle_t base; uv_timer_t uv; ... };
 * and describes its type with a dv8_handle_type_t. The dv8_handle_t is
 * storage the host fills in at handle_register; its layout is the host's
 * (read it with handle_id, handle_env, counters).
 *
 * Ids are positive integers below 2^53 (exact as JS numbers), unique in the
 * process and never reused, whatever the rate handles come and go at.
 */
typedef struct dv8_handle_s {
  void *priv[32];
} dv8_handle_t;
struct uv_handle_s;
struct uv_loop_s;

/* The largest handle id: ids fit a JS number exactly. */
#define DV8_HANDLE_ID_MAX ((uint64_t)9007199254740991) /* 2^53 - 1 */

/* Counters every handle carries; modules bump the ones that apply. */
#define DV8_COUNTER_MAP(X)                                                     \
  X(BYTES_READ, bytes_read)                                                    \
  X(BYTES_WRITTEN, bytes_written)                                              \
  X(READS, reads)                                                              \
  X(WRITES, writes)                                                            \
  X(WRITES_QUEUED, writes_queued)                                              \
  X(WRITES_FULL, writes_full)                                                  \
  X(WRITES_EAGAIN, writes_eagain)                                              \
  X(PAUSES, pauses)                                                            \
  X(RESUMES, resumes)                                                          \
  X(ENDS, ends)                                                                \
  X(CLOSES, closes)                                                            \
  X(ERRORS, errors)                                                            \
  X(BUFFERS_ALLOCATED, buffers_allocated)                                      \
  X(BUFFERS_FREED, buffers_freed)                                              \
  X(EVENTS, events)

#define DV8_COUNTER_ENUM(name, js) DV8_COUNTER_##name,
enum { DV8_COUNTER_MAP(DV8_COUNTER_ENUM) DV8_COUNTER_COUNT };
#undef DV8_COUNTER_ENUM

/* What happens to a handle when its program's code is replaced: by a
 * reload (a new context in the same thread) or an upgrade (a new process). */
typedef enum {
  /* The default: a reload or upgrade is refused while one is open. */
  DV8_CROSS_REFUSE = 0,
  /* It goes on under the new code: after a reload the values the new code
   * bound to its slots replace the old code's; after an upgrade the new
   * process reopens its descriptor (export_fd, import_fd). */
  DV8_CROSS_KEEP = 1,
  /* It stays with the old code and is closed when the new code takes
   * over (the old code's timers: the new code starts its own). */
  DV8_CROSS_CLEAR = 2
} dv8_cross_t;

/* Where export_fd's descriptor goes. */
typedef enum { DV8_TO_THREAD = 0, DV8_TO_PROCESS = 1 } dv8_export_to_t;

/*
 * A handle type: what the host may do with handles of this kind. Define it
 * with DV8_HANDLE_TYPE_INIT first, so that a newer host knows which of the
 * fields that come later this module's header had:
 *   static const dv8_handle_type_t timer_type = {
 *       DV8_HANDLE_TYPE_INIT, .name = "timer", .on_reload = DV8_CROSS_CLEAR,
 *       .pause = pause_timer, .resume = resume_timer, .free = free_timer};
 * Operations a type has no use for stay NULL.
 */
typedef struct dv8_handle_type_s {
  size_t size;      /* sizeof(dv8_handle_type_t) as the module was built */
  const char *name; /* "timer", "stream", ...: shown in errors and stats */
  dv8_cross_t on_reload;
  dv8_cross_t on_upgrade;
  /* Stop delivering events (reads stop at the libuv level, the kernel keeps
   * the bytes): a reload or upgrade is taking place; 0 or an error. */
  int (*pause)(dv8_handle_t *h);
  /* Deliver events again, under the code now driving h (handle_env): after
   * a reload's commit its slots hold the new code's bindings, after an
   * abort the old code's; 0 or an error. */
  int (*resume)(dv8_handle_t *h);
  /* Close has begun (before uv_close): stop what the handle started on its
   * own (a timer of its own, a thread). */
  void (*close)(dv8_handle_t *h);
  /* Free the module's struct; runs after uv_close has finished. Slots can
   * still be read and called here (a last callback with final counters). */
  void (*free)(dv8_handle_t *h);
  /* The descriptor behind h, to hand it to another thread or process
   * (SCM_RIGHTS); the handle keeps it (the host duplicates it); UV_ENOTSUP
   * for what cannot go there. */
  int (*export_fd)(dv8_handle_t *h, dv8_export_to_t to, int *fd);
  /* Make a handle of this type around fd, received from elsewhere, in env's
   * thread (it owns fd from then on). */
  int (*import_fd)(dv8_env_t *env, int fd, dv8_handle_t **out);
  /* The signal number h takes over from dv8's defaults (SIGTERM ends the
   * program, SIGHUP reloads it) while it is open; 0 for none. */
  int (*signal)(dv8_handle_t *h);
  /* Bytes written to h and not yet taken by the kernel. */
  size_t (*queued)(dv8_handle_t *h);
  /* on: writes to h wait, in order (an upgrade's new process, while the
   * process before still sends what it had queued); off: they go. */
  int (*hold)(dv8_handle_t *h, int on);
  /* A descriptor h took in and has not delivered to its code yet (a paused
   * server's accepted connection), for another process: 0 and *fd (the
   * caller's to close), or UV_ENOENT when there is none. */
  int (*take_pending)(dv8_handle_t *h, int *fd);
  /* Deliver such a descriptor, taken in elsewhere, as if taken in here. */
  int (*give_pending)(dv8_handle_t *h, int fd);
  /* On an upgrade: why h cannot go to the new process but can stay with
   * this one, which then serves it under the old code until it ends or the
   * flush deadline passes (a TLS connection: its keys are this process's
   * memory); NULL if it goes as its type's on_upgrade says. */
  const char *(*stays)(dv8_handle_t *h);
  /* On an upgrade: up to cap bytes for the new process's handle made of h
   * (a server whose connections had a layer here says so); the length. */
  size_t (*carry_out)(dv8_handle_t *h, uint8_t *buf, size_t cap);
  /* In the new process, right after import_fd: what carry_out gave (len
   * > 0 only); 0, or an error that fails the upgrade. */
  int (*carry_in)(dv8_handle_t *h, const uint8_t *data, size_t len);
  /* Moving to another thread, once export_fd has succeeded: what h holds
   * beyond its descriptor (a layer's state), taken off it (its close then
   * leaves that alone); NULL for nothing. *err: 0, or why it cannot go now
   * (the move is then refused). */
  void *(*move_out)(dv8_handle_t *h, int *err);
  /* In the thread it went to, right after import_fd (or back on h, in the
   * sender, when the send failed): what move_out took. 0, or an error (the
   * state is then freed). */
  int (*move_in)(dv8_handle_t *h, void *state);
  /* What move_out took, when it will not arrive (the message was dropped,
   * the descriptor could not be reopened): freed. */
  void (*move_drop)(void *state);
  /* Before a reload pauses h: 1 while h's code has begun work that only
   * that code can finish (an HTTP answer under way), which the reload
   * waits for (up to its deadline); else 0. */
  int (*unfinished)(dv8_handle_t *h);
  /* on: a reload waits for such work: h gives its code none that is new
   * meanwhile (an HTTP server holds the next requests back); off: the
   * reload is over (committed, aborted or given up). */
  void (*settle)(dv8_handle_t *h, int on);
} dv8_handle_type_t;

#define DV8_HANDLE_TYPE_INIT .size = sizeof(dv8_handle_type_t)

/* Callback slots per handle (see slot_set). */
#define DV8_SLOTS 8

/* The table of functions the host gives a module. Append only. */
struct dv8_api {
  uint32_t abi_version; /* == DV8_ABI_VERSION of the host */
  uint32_t size;        /* sizeof(struct dv8_api) of the host */

  /* --- environment --- */
  /* The libuv loop of env's thread. */
  struct uv_loop_s *(*loop)(dv8_env_t *env);

  /* --- exports --- */
  /* Define obj[name] as a native function; data comes back via call_data.
   * The function lives until the context is disposed: export functions at
   * init, do not make new ones per call. */
  int (*set_function)(dv8_env_t *env, dv8_value_t obj, const char *name,
                      dv8_function_cb fn, void *data);
  /* Define obj[name] = number. */
  int (*set_number)(dv8_env_t *env, dv8_value_t obj, const char *name,
                    double n);
  /* Define obj[name] = UTF-8 string. */
  int (*set_string)(dv8_env_t *env, dv8_value_t obj, const char *name,
                    const char *s);
  /* Define obj[name] = value (a data property: setters do not run). */
  int (*set)(dv8_env_t *env, dv8_value_t obj, const char *name,
             dv8_value_t value);
  /* Read obj[name]; undefined if missing; NULL if a getter threw. */
  dv8_value_t (*get)(dv8_env_t *env, dv8_value_t obj, const char *name);
  /* Set arr[index] = value. */
  int (*set_index)(dv8_env_t *env, dv8_value_t arr, uint32_t index,
                   dv8_value_t value);
  /* Read arr[index]. */
  dv8_value_t (*get_index)(dv8_env_t *env, dv8_value_t arr, uint32_t index);

  /* --- calls --- */
  /* Number of arguments passed. */
  int (*argc)(dv8_call_t *call);
  /* Argument i, or undefined past the end. */
  dv8_value_t (*arg)(dv8_call_t *call, int i);
  /* The receiver (`this`). */
  dv8_value_t (*this_value)(dv8_call_t *call);
  /* The data pointer given to set_function. */
  void *(*call_data)(dv8_call_t *call);
  /* Argument i as a number; else throws TypeError, returns DV8_ETYPE. */
  int (*arg_number)(dv8_env_t *env, dv8_call_t *call, int i, double *out);
  /* Argument i as an int64 (a Number with an integer value, or a BigInt). */
  int (*arg_int64)(dv8_env_t *env, dv8_call_t *call, int i, int64_t *out);
  /* Argument i as a string, UTF-8, NUL-terminated; caller frees with free().
   * Throws (TypeError, or RangeError when out of memory) on failure. */
  int (*arg_string)(dv8_env_t *env, dv8_call_t *call, int i, char **out,
                    size_t *len);
  /* Argument i's raw memory (ArrayBuffer, typed array, DataView); borrowed. */
  int (*arg_buffer)(dv8_env_t *env, dv8_call_t *call, int i, void **data,
                    size_t *len);
  /* Argument i as a function; else throws TypeError, returns DV8_ETYPE. */
  int (*arg_function)(dv8_env_t *env, dv8_call_t *call, int i,
                      dv8_value_t *out);
  /* Argument i as an object (functions and arrays count); else TypeError. */
  int (*arg_object)(dv8_env_t *env, dv8_call_t *call, int i, dv8_value_t *out);

  /* --- values --- */
  /* What kind of value v is. */
  dv8_type_t (*type_of)(dv8_env_t *env, dv8_value_t v);
  /* v as a double (NaN if it is not a number). */
  double (*to_number)(dv8_env_t *env, dv8_value_t v);
  /* v's truthiness. */
  int (*to_bool)(dv8_env_t *env, dv8_value_t v);
  /* Copy v (converted to string) as UTF-8 into buf, NUL-terminated;
   * returns the full length needed (excluding NUL), like snprintf. */
  size_t (*to_utf8)(dv8_env_t *env, dv8_value_t v, char *buf, size_t cap);
  /* The raw memory of an ArrayBuffer or view; DV8_ETYPE otherwise. */
  int (*buffer_data)(dv8_env_t *env, dv8_value_t v, void **data, size_t *len);
  /* undefined. */
  dv8_value_t (*undefined)(dv8_env_t *env);
  /* null. */
  dv8_value_t (*null)(dv8_env_t *env);
  /* true or false. */
  dv8_value_t (*boolean)(dv8_env_t *env, int b);
  /* A Number. */
  dv8_value_t (*number)(dv8_env_t *env, double n);
  /* A BigInt. */
  dv8_value_t (*bigint)(dv8_env_t *env, int64_t n);
  /* A string from UTF-8 (len SIZE_MAX: NUL-terminated); NULL if too long. */
  dv8_value_t (*string)(dv8_env_t *env, const char *s, size_t len);
  /* A new plain object. */
  dv8_value_t (*object)(dv8_env_t *env);
  /* A new array of length n (holes until set). */
  dv8_value_t (*array)(dv8_env_t *env, uint32_t n);
  /* A new ArrayBuffer of len zeroed bytes owned by V8; *data its memory.
   * NULL, with a RangeError thrown, when the memory cannot be had. */
  dv8_value_t (*arraybuffer)(dv8_env_t *env, size_t len, void **data);
  /* An ArrayBuffer over native memory; free_cb(data, hint) runs when V8
   * releases it, possibly on a V8 background thread, so it must only free
   * (NULL: the memory is never freed by dv8). */
  dv8_value_t (*arraybuffer_external)(dv8_env_t *env, void *data, size_t len,
                                      dv8_finalize_cb free_cb, void *hint);
  /* A Uint8Array over buf (an ArrayBuffer) from offset, len bytes. */
  dv8_value_t (*uint8array)(dv8_env_t *env, dv8_value_t buf, size_t offset,
                            size_t len);

  /* --- errors --- */
  /* Throw a TypeError with a printf-style message; returns NULL so that a
   * function callback can `return dv8->throw_type_error(...)`. */
  dv8_value_t (*throw_type_error)(dv8_env_t *env, const char *fmt, ...)
#if defined(__GNUC__)
      __attribute__((format(printf, 2, 3)))
#endif
      ;
  /* An Error for a code: .code is its name ("ENOENT"), .errno the number,
   * the message names what failed (what may be NULL). */
  dv8_value_t (*error)(dv8_env_t *env, int code, const char *what);
  /* Throw error(env, code, what); returns NULL. */
  dv8_value_t (*throw_error)(dv8_env_t *env, int code, const char *what);
  /* The name of an error code ("ENOENT", "EABI"); "UNKNOWN" if unknown. */
  const char *(*err_name)(int code);
  /* A readable message for an error code. */
  const char *(*strerror)(int code);

  /* --- references and calls from outside JS --- */
  /* Keep v alive until ref_free. */
  dv8_ref_t *(*ref_new)(dv8_env_t *env, dv8_value_t v);
  /* The value a reference holds (inside a scope). */
  dv8_value_t (*ref_get)(dv8_env_t *env, dv8_ref_t *ref);
  /* Drop a reference; NULL is fine. */
  void (*ref_free)(dv8_ref_t *ref);
  /* Enter env's isolate and context from a libuv callback. Closing the
   * outermost scope runs pending microtasks. */
  void (*scope_open)(dv8_env_t *env, dv8_scope_t *scope);
  /* Leave a scope opened with scope_open. */
  void (*scope_close)(dv8_env_t *env, dv8_scope_t *scope);
  /* Call fn(recv, ...argv). Returns 0 and *result (may be NULL), or
   * DV8_EEXCEPTION: inside a JS call the exception propagates; from a libuv
   * callback it is reported as uncaught. */
  int (*call)(dv8_env_t *env, dv8_value_t fn, dv8_value_t recv, int argc,
              dv8_value_t *argv, dv8_value_t *result);

  /* --- native pointers on JS objects --- */
  /* A new object holding ptr; finalize(ptr, hint) runs when it is collected
   * (or when the context is disposed). */
  dv8_value_t (*wrap)(dv8_env_t *env, void *ptr, dv8_finalize_cb finalize,
                      void *hint);
  /* The pointer held by an object made with wrap, or NULL. */
  void *(*unwrap)(dv8_env_t *env, dv8_value_t obj);

  /* --- handles --- */
  /* Register h (type filled in, uv handle initialised) in env's thread
   * table; assigns h its id. */
  int (*handle_register)(dv8_env_t *env, dv8_handle_t *h,
                         const dv8_handle_type_t *type, struct uv_handle_s *uv);
  /* Close h: type->close, uv_close, unregister, then type->free(h).
   * Idempotent. */
  void (*handle_close)(dv8_handle_t *h);
  /* The handle with this id on env's thread (closing or not), or NULL. */
  dv8_handle_t *(*handle_find)(dv8_env_t *env, uint64_t id);
  /* A JS object of h's counters, by name (bytes_read, ...). */
  dv8_value_t (*handle_counters)(dv8_env_t *env, dv8_handle_t *h);

  /* --- more errors --- */
  /* Throw a RangeError with a printf-style message; returns NULL. */
  dv8_value_t (*throw_range_error)(dv8_env_t *env, const char *fmt, ...)
#if defined(__GNUC__)
      __attribute__((format(printf, 2, 3)))
#endif
      ;
  /* Throw any value (an error made with dv8->error, say); returns NULL. */
  dv8_value_t (*throw_value)(dv8_env_t *env, dv8_value_t value);

  /* --- handles, read through the host (ABI 2) --- */
  /* h's id: what JS knows it by (a number). */
  uint64_t (*handle_id)(const dv8_handle_t *h);
  /* The context driving h now (its events call into it). */
  dv8_env_t *(*handle_env)(const dv8_handle_t *h);
  /* h's type, as registered. */
  const dv8_handle_type_t *(*handle_type)(const dv8_handle_t *h);
  /* h's counters, indexed by DV8_COUNTER_*; valid while h is registered. */
  uint64_t *(*counters)(dv8_handle_t *h);
  /* Argument i as the id of an open handle of type (NULL: any type).
   * DV8_ETYPE with a TypeError thrown when it is not a number, with a
   * RangeError thrown when it is not an id (an integer from 1 to
   * DV8_HANDLE_ID_MAX); DV8_ECLOSED (nothing thrown) when no such handle is
   * open here, or it is of another type. */
  int (*arg_handle)(dv8_env_t *env, dv8_call_t *call, int i,
                    const dv8_handle_type_t *type, dv8_handle_t **out);
  /* Argument i as an integer from min to max: DV8_ETYPE with a TypeError
   * thrown when it is not a number, with a RangeError when it is not an
   * integer in range (NaN, Infinity and fractions are not). */
  int (*arg_integer)(dv8_env_t *env, dv8_call_t *call, int i, int64_t min,
                     int64_t max, int64_t *out);

  /* --- callback slots (ABI 2) ---
   * A handle keeps the JS values its events call (functions) or fill (a
   * read buffer) in slots 0 .. DV8_SLOTS - 1, each module numbering its
   * own. The host keeps them per context: a value bound from the code a
   * reload is loading waits, and replaces the old code's when the new code
   * takes over (the old code's values go, bound again or not); if the
   * reload fails, it goes. */
  /* Bind value to slot from env's code (NULL, undefined or null unbind):
   * the handle's now, or at the commit of the reload env is loading. */
  int (*slot_set)(dv8_env_t *env, dv8_handle_t *h, unsigned slot,
                  dv8_value_t value);
  /* Whether the code driving h has bound slot. */
  int (*slot_bound)(dv8_handle_t *h, unsigned slot);
  /* The value bound to slot by the code driving h (undefined if none),
   * inside a scope of handle_env(h). */
  dv8_value_t (*slot_get)(dv8_handle_t *h, unsigned slot);
  /* The memory of the ArrayBuffer or view bound to slot, as it was when
   * bound (a buffer's memory does not move); DV8_ETYPE if no buffer is. */
  int (*slot_buffer)(dv8_handle_t *h, unsigned slot, void **data, size_t *len);
  /* From a libuv callback: calls the function bound to slot with argc
   * numbers, in its own scope. 0; DV8_ECLOSED when nothing is bound (nothing
   * is called); DV8_EEXCEPTION when it threw (reported as uncaught). */
  int (*slot_emit)(dv8_handle_t *h, unsigned slot, int argc,
                   const double *argv);

#if DV8_ABI_TARGET >= 3
  /* --- ABI 3 --- */
  /* Whether an exception is pending in env: one of these functions threw
   * (a getter, a conversion, a call) and the native function should return
   * NULL at once. Each call of a native function starts with none pending;
   * what the JS it calls throws and catches does not count. */
  int (*exception_pending)(dv8_env_t *env);
  /* Per-thread data for a module: a block of size zeroed bytes kept for key
   * (any address of the module's, e.g. of a static) in env's runtime
   * thread, made on the first call and freed with destroy(data) (NULL:
   * free()) when that runtime ends. Each worker thread gets its own, unlike
   * a module's statics, which all threads share. NULL without memory. */
  void *(*runtime_data)(dv8_env_t *env, const void *key, size_t size,
                        dv8_destroy_cb destroy);
#endif

#if DV8_ABI_TARGET >= 4
  /* --- ABI 4 --- */
  /* From a libuv callback: calls the function bound to slot with value, as
   * slot_emit does, but later: at the end of the loop's current phase, one
   * entry into JS for all the events posted in it (a poll that finds 64
   * sockets readable calls JS once, not 64 times). Posted events keep their
   * order and go before any other call into JS from C on this thread; a
   * handle closed before its turn gets none; microtasks run after the
   * batch. 0, or DV8_ECLOSED when nothing is bound. */
  int (*slot_post)(dv8_handle_t *h, unsigned slot, double value);
  /* Whether an event posted for h waits to be given to JS (memory it
   * refers to, such as a read buffer, is not free yet). */
  int (*slot_posted)(dv8_handle_t *h);
  /* From a libuv callback: gives JS the events posted on env's thread now,
   * as any call into JS does first; for a module about to change state
   * that the handlers of earlier events should not see yet (an EOF's). */
  void (*posted_deliver)(dv8_env_t *env);
  /* Services: a module offers other modules a table of C functions under
   * a name (process-wide, for the process's life; e.g. net's stream
   * layers, "net.layer", include/dv8_net.h). 0, UV_EEXIST if the name is
   * taken, UV_ENOSPC past 64 names. */
  int (*service_set)(const char *name, int version, const void *table);
  /* The table offered under name with that version, or NULL (not loaded
   * yet: import the module that offers it first). */
  const void *(*service_get)(const char *name, int version);
#endif

#if DV8_ABI_TARGET >= 5
  /* --- ABI 5 --- */
  /* Whether the calling thread may poll for a reply instead of sleeping:
   * 0 for a while after the scheduler preempted it (another thread wanted
   * its CPU, so polling would slow the machine down). Ask with starting 1
   * before polling (only preemptions while polling count) and with 0 while
   * polling; any thread. */
  int (*cpu_spare)(int starting);
#endif

#if DV8_ABI_TARGET >= 6
  /* --- ABI 6 --- */
  /* A counter of the process's metrics (docs/metrics.md), made at the
   * first call with this name and help and shared by every module and
   * thread that asks the same name: the calling thread's cell, which only
   * that thread adds to ((*cell)++: no lock), valid while its runtime
   * lives; the metrics sum the cells of all threads. name is Prometheus'
   * (letters, digits, '_' and ':', not first a digit; "_total" at the end
   * of a counter's); NULL for a bad name or past 64 names. */
  uint64_t *(*metric_counter)(dv8_env_t *env, const char *name,
                              const char *help);
#endif

#if DV8_ABI_TARGET >= 7
  /* --- ABI 7 --- */
  /* Makes fn (a function of env's context; undefined: none) the context's
   * turn hook, which the host calls as fn(reason), a dv8_turn_t: at the
   * end of a turn it was armed in (turn_arm), and whether armed or not when
   * the context's code hands over (DV8_TURN_RELOAD, DV8_TURN_LEAVE). What
   * it throws is reported as uncaught, except at a handover, which it
   * stops (a reload fails; the old code goes on). 0 or DV8_ETYPE. */
  int (*turn_hook)(dv8_env_t *env, dv8_value_t fn);
  /* Asks for env's turn hook at the end of the turn that runs now (always
   * 0), once the callback the host called and its microtasks are done;
   * once a turn however often asked. always 1: at the end of every turn
   * from now on; -1: no longer every turn. Nothing when no hook is set. */
  void (*turn_arm)(dv8_env_t *env, int always);
#endif
};

/* Why a turn hook (dv8->turn_hook, ABI 7) is called. A turn is one call
 * from the host into JS (an event, or a batch of events posted together)
 * with the microtasks it queued. */
typedef enum {
  DV8_TURN_END = 0,    /* an armed turn ended */
  DV8_TURN_THREW = 1,  /* an armed turn ended in an uncaught exception and the
                          runtime goes on (the REPL) or ends */
  DV8_TURN_RELOAD = 2, /* the old code's unload() has run: a reload hands
                          its state to new code on this thread */
  DV8_TURN_LEAVE = 3   /* the code leaves for good: the runtime ends or an
                          upgrade hands over to a new process (after END or
                          THREW for an armed turn) */
} dv8_turn_t;

typedef struct dv8_api dv8_api_t;

/* The one symbol a module exports. */
typedef struct dv8_module_s {
  uint32_t abi_version; /* DV8_ABI_TARGET the module was built for */
  const char *name;
  /* Fill exports (a plain object) for env's context; 0 or error (throw
   * first to give JS a message). Runs once per context that imports it. */
  int (*init)(dv8_env_t *env, dv8_value_t exports);
  /* Set by the host before the first init: the API table. */
  const dv8_api_t **api;
#if DV8_ABI_TARGET >= 3
  /* The handle types the module makes, NULL-terminated (NULL: none): a
   * process taking handles over (an upgrade) finds their types here. */
  const dv8_handle_type_t *const *types;
  /* Runs once when the process unloads the module (at its end, after
   * every runtime has ended); NULL: nothing to do. */
  void (*unload)(void);
#endif
} dv8_module_t;

#if defined(__GNUC__)
#define DV8_EXPORT __attribute__((visibility("default")))
#define DV8_HIDDEN __attribute__((visibility("hidden")))
#else
#define DV8_EXPORT
#define DV8_HIDDEN
#endif

/*
 * In a module: DV8_MODULE(name, init) once, in one file. It defines the
 * hidden pointer `dv8` to the host's API table and the exported descriptor.
 * DV8_MODULE_TYPES(name, init, types, unload) also lists the module's
 * handle types (a NULL-terminated array) and its unload function.
 */
#if DV8_ABI_TARGET >= 3
#define DV8_MODULE_TYPES(NAME, INIT, TYPES, UNLOAD)                            \
  DV8_HIDDEN const dv8_api_t *dv8;                                             \
  DV8_EXPORT const dv8_module_t dv8_module = {DV8_ABI_TARGET, #NAME, INIT,     \
                                              &dv8,           TYPES, UNLOAD}
#define DV8_MODULE(NAME, INIT) DV8_MODULE_TYPES(NAME, INIT, NULL, NULL)
#else
#define DV8_MODULE(NAME, INIT)                                                 \
  DV8_HIDDEN const dv8_api_t *dv8;                                             \
  DV8_EXPORT const dv8_module_t dv8_module = {DV8_ABI_TARGET, #NAME, INIT, &dv8}
#endif

/*
 * Optional, in one file of a module: DV8_MODULE_JS("path/to/NAME.js") embeds
 * that file (the path as the assembler sees it: relative to the directory
 * the compiler runs in) as the module's JS layer, the NUL-terminated string
 * `dv8_module_js`. `import ... from 'NAME'` then gives the layer, an ES
 * module evaluated in each context that imports it, which reaches the
 * native exports as 'NAME/raw'; a module without a layer is its native
 * exports under both names. Not part of dv8_module_t, so no ABI change: a
 * dv8 that does not look for it loads the module as before, raw exports
 * only.
 */
#define DV8_MODULE_JS(PATH)                                                    \
  __asm__(                                                                     \
      ".pushsection .rodata\n.global dv8_module_js\n"                          \
      ".type dv8_module_js, @object\ndv8_module_js:\n.incbin \"" PATH          \
      "\"\n.byte 0\n.size dv8_module_js, . - dv8_module_js\n.popsection\n")

/* In a module, `dv8` is the host's API table (defined by DV8_MODULE). The
 * host itself defines DV8_HOST_BUILD and has no such pointer. */
#ifndef DV8_HOST_BUILD
extern DV8_HIDDEN const dv8_api_t *dv8;
#endif

#ifdef __cplusplus
}
#endif
#endif /* DV8_H */
