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
/* The live handle with this id, or NULL. */
dv8_handle_t *dv8__handles_find(dv8_handle_table_t *t, uint32_t id);
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

/* ---- the per-thread runtime (runtime.c) ---- */

typedef struct dv8_isolate_s dv8_isolate_t; /* contexts/, opaque here */

typedef struct dv8_runtime_s {
  uv_loop_t loop;
  dv8_handle_table_t handles;
  dv8_isolate_t *isolate;
  dv8_env_t *env; /* the active context */
  int exit_code;  /* what the thread ends with */
  int stopping;   /* set by exit() or a fatal error: no more JS runs */
  int argc;       /* the script's arguments (argv[0] is the script) */
  char **argv;
  uint64_t start_ns; /* uv_hrtime() when the runtime started */
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
/* uv_close h; once closed it leaves the table and type->free(h) runs. */
void dv8__handle_close(dv8_handle_t *h);

#ifdef __cplusplus
}
#endif
#endif
