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
 * This header compiles as C11 -pedantic and as C++; no V8 type crosses it.
 */
#ifndef DV8_H
#define DV8_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on every incompatible change of struct dv8_api or dv8_handle_t. */
#define DV8_ABI_VERSION 1

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
 * embeds dv8_handle_t first in its own struct, the uv handle after it:
 *   struct timer { dv8_handle_t base; uv_timer_t uv; ... };
 * and describes its type with a dv8_handle_type_t.
 */
typedef struct dv8_handle_s dv8_handle_t;
struct uv_handle_s;
struct uv_loop_s;

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

typedef struct dv8_handle_type_s {
  const char *name; /* "timer", "tcp", ...: shown in errors and stats */
  /* Make the JS object that stands for this handle in env's context. */
  dv8_value_t (*wrap)(dv8_env_t *env, dv8_handle_t *h);
  /* Stop delivering events (reads stop at the libuv level); 0 or error. */
  int (*pause)(dv8_handle_t *h);
  /* Deliver events again after pause; 0 or error. */
  int (*resume)(dv8_handle_t *h);
  /* Free the module's struct; runs after uv_close has finished. */
  void (*free)(dv8_handle_t *h);
  /* The descriptor behind h, to hand it to another thread or process
   * (SCM_RIGHTS); NULL for handles that have none, such as timers. */
  int (*export_fd)(dv8_handle_t *h, int *fd);
  /* Make a handle of this type around fd, received from elsewhere, in env's
   * thread; NULL for types that cannot be moved. */
  int (*import_fd)(dv8_env_t *env, int fd, dv8_handle_t **out);
} dv8_handle_type_t;

/*
 * The header of every host-owned handle. The host fills it in at
 * dv8->handle_register(); modules read it and bump counters.
 */
struct dv8_handle_s {
  const dv8_handle_type_t *type;
  struct uv_handle_s *uv; /* the module's uv handle, inside the same struct */
  dv8_env_t *env;         /* the context currently driving this handle */
  uint32_t id;            /* index in the thread's table + generation */
  uint32_t flags;         /* host-private */
  uint64_t counters[DV8_COUNTER_COUNT];
};

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
   * table; assigns h->id. */
  int (*handle_register)(dv8_env_t *env, dv8_handle_t *h,
                         const dv8_handle_type_t *type, struct uv_handle_s *uv);
  /* Close h: uv_close, unregister, then type->free(h). Idempotent. */
  void (*handle_close)(dv8_handle_t *h);
  /* The handle with this id on env's thread, or NULL. */
  dv8_handle_t *(*handle_find)(dv8_env_t *env, uint32_t id);
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
};

typedef struct dv8_api dv8_api_t;

/* The one symbol a module exports. */
typedef struct dv8_module_s {
  uint32_t abi_version; /* DV8_ABI_VERSION the module was built with */
  const char *name;
  /* Fill exports (a plain object) for env's context; 0 or error (throw
   * first to give JS a message). Runs once per context that imports it. */
  int (*init)(dv8_env_t *env, dv8_value_t exports);
  /* Set by the host before the first init: the API table. */
  const dv8_api_t **api;
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
 */
#define DV8_MODULE(NAME, INIT)                                                 \
  DV8_HIDDEN const dv8_api_t *dv8;                                             \
  DV8_EXPORT const dv8_module_t dv8_module = {DV8_ABI_VERSION, #NAME, INIT,    \
                                              &dv8}

/* In a module, `dv8` is the host's API table (defined by DV8_MODULE). The
 * host itself defines DV8_HOST_BUILD and has no such pointer. */
#ifndef DV8_HOST_BUILD
extern DV8_HIDDEN const dv8_api_t *dv8;
#endif

#ifdef __cplusplus
}
#endif
#endif /* DV8_H */
