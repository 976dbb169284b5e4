/* apitest: exercises every function of the module C API, for the JS tests
 * in tests/js/test-api-*.js (DV8_PATH points at this module's directory).
 *
 * Threads: every runtime thread may import it; what one thread counts is
 * kept in its runtime_data block (ABI 3), never in statics, except
 * external_freed, which V8 may bump from a background thread. With
 * DV8_APITEST_LOG set to a file, the module appends a line there when a
 * runtime's block is destroyed and when the module is unloaded. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "dv8.h"

static int external_freed;

/* ---- per-runtime data (ABI 3) ---- */

typedef struct apitest_runtime {
  int counter;         /* counter() */
  int wraps_finalized; /* wraps of this runtime whose finalizer ran */
  int last_pending;    /* exception_pending, as pendingAfter* saw it */
} apitest_runtime;

/* One line appended to $DV8_APITEST_LOG (one write: threads' lines do not
 * mix), if it is set. */
static void log_line(const char *fmt, ...) {
  const char *path = getenv("DV8_APITEST_LOG");
  if (path == NULL)
    return;
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof(line) - 1)
    return;
  line[n++] = '\n';
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return;
  ssize_t written = write(fd, line, (size_t)n);
  (void)written; /* a test log: a failed write shows as a missing line */
  close(fd);
}

static void destroy_runtime(void *data) {
  apitest_runtime *rt = data;
  log_line("runtime data destroyed: counter %d, wraps finalized %d",
           rt->counter, rt->wraps_finalized);
  free(rt);
}

static const char runtime_key = 0; /* its address is this module's key */

/* This runtime thread's block, or NULL (a RangeError thrown) without
 * memory. */
static apitest_runtime *runtime_of(dv8_env_t *env) {
  apitest_runtime *rt =
      dv8->runtime_data(env, &runtime_key, sizeof(*rt), destroy_runtime);
  if (rt == NULL)
    dv8->throw_range_error(env, "apitest: out of memory");
  return rt;
}

static void apitest_unload(void) { log_line("unloaded"); }

static dv8_value_t js_echo(dv8_env_t *env, dv8_call_t *call) {
  (void)env;
  return dv8->arg(call, 0);
}

static dv8_value_t js_type_of(dv8_env_t *env, dv8_call_t *call) {
  static const char *names[] = {"undefined",   "null",       "boolean",
                                "number",      "bigint",     "string",
                                "symbol",      "function",   "array",
                                "arraybuffer", "typedarray", "object"};
  return dv8->string(env, names[dv8->type_of(env, dv8->arg(call, 0))],
                     SIZE_MAX);
}

static dv8_value_t js_add(dv8_env_t *env, dv8_call_t *call) {
  double a, b;
  if (dv8->arg_number(env, call, 0, &a) || dv8->arg_number(env, call, 1, &b))
    return NULL;
  return dv8->number(env, a + b);
}

static dv8_value_t js_int64(dv8_env_t *env, dv8_call_t *call) {
  int64_t n;
  if (dv8->arg_int64(env, call, 0, &n))
    return NULL;
  return dv8->bigint(env, n);
}

static dv8_value_t js_upper(dv8_env_t *env, dv8_call_t *call) {
  char *s;
  size_t len;
  if (dv8->arg_string(env, call, 0, &s, &len))
    return NULL;
  for (size_t i = 0; i < len; i++)
    if (s[i] >= 'a' && s[i] <= 'z')
      s[i] = (char)(s[i] - 32);
  dv8_value_t out = dv8->string(env, s, len);
  free(s);
  return out;
}

static dv8_value_t js_sum(dv8_env_t *env, dv8_call_t *call) {
  void *data;
  size_t len;
  if (dv8->arg_buffer(env, call, 0, &data, &len))
    return NULL;
  double sum = 0;
  for (size_t i = 0; i < len; i++)
    sum += ((unsigned char *)data)[i];
  return dv8->number(env, sum);
}

static dv8_value_t js_fill(dv8_env_t *env, dv8_call_t *call) {
  void *data;
  size_t len;
  int64_t byte;
  if (dv8->arg_buffer(env, call, 0, &data, &len) ||
      dv8->arg_integer(env, call, 1, 0, 255, &byte))
    return NULL;
  memset(data, (int)byte, len);
  return dv8->number(env, (double)len);
}

/* callNow(fn, ...args): calls fn synchronously with the remaining args. */
static dv8_value_t js_call_now(dv8_env_t *env, dv8_call_t *call) {
  dv8_value_t fn, argv[8], result;
  if (dv8->arg_function(env, call, 0, &fn))
    return NULL;
  int argc = dv8->argc(call) - 1;
  if (argc > 8)
    argc = 8;
  for (int i = 0; i < argc; i++)
    argv[i] = dv8->arg(call, i + 1);
  if (dv8->call(env, fn, dv8->this_value(call), argc, argv, &result))
    return NULL;
  return result;
}

enum { SLOT_FN, SLOT_ARG };

typedef struct later {
  dv8_handle_t base;
  uv_timer_t uv;
} later;

static void free_later(dv8_handle_t *h) { free(h); }

static const dv8_handle_type_t later_type = {
    DV8_HANDLE_TYPE_INIT, .name = "apitest-later", .free = free_later};

static void on_later(uv_timer_t *uv) {
  later *l = (later *)uv->data;
  dv8_env_t *env = dv8->handle_env(&l->base);
  dv8_scope_t scope;
  dv8->scope_open(env, &scope);
  dv8_value_t arg = dv8->slot_get(&l->base, SLOT_ARG);
  dv8->call(env, dv8->slot_get(&l->base, SLOT_FN), NULL, 1, &arg, NULL);
  dv8->scope_close(env, &scope);
  dv8->handle_close(&l->base);
}

/* callLater(fn, ms, arg): calls fn(arg) from a libuv timer; returns the
 * handle id. */
static dv8_value_t js_call_later(dv8_env_t *env, dv8_call_t *call) {
  dv8_value_t fn;
  int64_t ms;
  if (dv8->arg_function(env, call, 0, &fn) ||
      dv8->arg_integer(env, call, 1, 0, INT32_MAX, &ms))
    return NULL;
  later *l = calloc(1, sizeof(*l));
  if (l == NULL)
    return dv8->throw_error(env, UV_ENOMEM, "callLater");
  uv_timer_init(dv8->loop(env), &l->uv);
  int err =
      dv8->handle_register(env, &l->base, &later_type, (uv_handle_t *)&l->uv);
  if (err) {
    free(l);
    return dv8->throw_error(env, err, "callLater");
  }
  dv8->slot_set(env, &l->base, SLOT_FN, fn);
  dv8->slot_set(env, &l->base, SLOT_ARG, dv8->arg(call, 2));
  uv_timer_start(&l->uv, on_later, (uint64_t)ms, 0);
  return dv8->number(env, (double)dv8->handle_id(&l->base));
}

/* handleType(id): the type name of a live handle, or undefined. */
static dv8_value_t js_handle_type(dv8_env_t *env, dv8_call_t *call) {
  dv8_handle_t *h;
  int err = dv8->arg_handle(env, call, 0, NULL, &h);
  if (err == DV8_ECLOSED)
    return dv8->undefined(env);
  return err ? NULL : dv8->string(env, dv8->handle_type(h)->name, SIZE_MAX);
}

static dv8_value_t js_make_object(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  dv8_value_t obj = dv8->object(env);
  dv8->set_number(env, obj, "n", 1);
  dv8->set_string(env, obj, "s", "two");
  dv8_value_t arr = dv8->array(env, 3);
  for (uint32_t i = 0; i < 3; i++)
    dv8->set_index(env, arr, i, dv8->number(env, i + 1));
  dv8->set(env, obj, "arr", arr);
  dv8_value_t nested = dv8->object(env);
  dv8->set(env, nested, "ok", dv8->boolean(env, 1));
  dv8->set(env, nested, "nothing", dv8->null(env));
  dv8->set(env, nested, "undef", dv8->undefined(env));
  dv8->set(env, obj, "nested", nested);
  return obj;
}

static dv8_value_t js_get_prop(dv8_env_t *env, dv8_call_t *call) {
  dv8_value_t obj;
  char *name;
  if (dv8->arg_object(env, call, 0, &obj) ||
      dv8->arg_string(env, call, 1, &name, NULL))
    return NULL;
  dv8_value_t v = dv8->get(env, obj, name);
  free(name);
  return v;
}

static dv8_value_t js_get_index(dv8_env_t *env, dv8_call_t *call) {
  dv8_value_t arr;
  int64_t i;
  if (dv8->arg_object(env, call, 0, &arr) ||
      dv8->arg_integer(env, call, 1, 0, UINT32_MAX, &i))
    return NULL;
  return dv8->get_index(env, arr, (uint32_t)i);
}

static void free_external(void *data, void *hint) {
  (void)hint;
  free(data);
  external_freed++;
}

/* external(n): an ArrayBuffer over malloc'd memory, bytes i & 255. */
static dv8_value_t js_external(dv8_env_t *env, dv8_call_t *call) {
  int64_t n;
  if (dv8->arg_integer(env, call, 0, 0, INT32_MAX, &n))
    return NULL;
  unsigned char *mem = malloc((size_t)n);
  if (mem == NULL)
    return dv8->throw_error(env, UV_ENOMEM, "external");
  for (size_t i = 0; i < (size_t)n; i++)
    mem[i] = (unsigned char)(i & 255);
  return dv8->arraybuffer_external(env, mem, (size_t)n, free_external, NULL);
}

static dv8_value_t js_external_freed(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  return dv8->number(env, external_freed);
}

/* newBuffer(n): a V8-owned ArrayBuffer, bytes 7. */
static dv8_value_t js_new_buffer(dv8_env_t *env, dv8_call_t *call) {
  int64_t n;
  void *data;
  if (dv8->arg_integer(env, call, 0, 0, INT64_MAX, &n))
    return NULL;
  dv8_value_t ab = dv8->arraybuffer(env, (size_t)n, &data);
  if (ab != NULL)
    memset(data, 7, (size_t)n);
  return ab;
}

static dv8_value_t js_u8(dv8_env_t *env, dv8_call_t *call) {
  int64_t off, len;
  if (dv8->arg_integer(env, call, 1, 0, INT64_MAX, &off) ||
      dv8->arg_integer(env, call, 2, 0, INT64_MAX, &len))
    return NULL;
  return dv8->uint8array(env, dv8->arg(call, 0), (size_t)off, (size_t)len);
}

/* hint: the wrapping runtime's block, which outlives every finalizer run
 * there (those at the context's disposal included). */
static void finalize_wrap(void *ptr, void *hint) {
  apitest_runtime *rt = hint;
  free(ptr);
  rt->wraps_finalized++;
}

static dv8_value_t js_wrap(dv8_env_t *env, dv8_call_t *call) {
  double n;
  apitest_runtime *rt = runtime_of(env);
  if (rt == NULL || dv8->arg_number(env, call, 0, &n))
    return NULL;
  double *p = malloc(sizeof(*p));
  if (p == NULL)
    return dv8->throw_error(env, UV_ENOMEM, "wrap");
  *p = n;
  return dv8->wrap(env, p, finalize_wrap, rt);
}

static dv8_value_t js_unwrap(dv8_env_t *env, dv8_call_t *call) {
  double *p = dv8->unwrap(env, dv8->arg(call, 0));
  return p ? dv8->number(env, *p) : NULL;
}

static dv8_value_t js_wraps_finalized(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  apitest_runtime *rt = runtime_of(env);
  return rt ? dv8->number(env, rt->wraps_finalized) : NULL;
}

static dv8_value_t js_throw_type(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  return dv8->throw_type_error(env, "bad thing number %d", 42);
}

static dv8_value_t js_throw_range(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  return dv8->throw_range_error(env, "out of range: %s", "far");
}

static dv8_value_t js_throw_value(dv8_env_t *env, dv8_call_t *call) {
  return dv8->throw_value(env, dv8->arg(call, 0));
}

static dv8_value_t js_sys_error(dv8_env_t *env, dv8_call_t *call) {
  int64_t code;
  if (dv8->arg_integer(env, call, 0, INT32_MIN, INT32_MAX, &code))
    return NULL;
  return dv8->error(env, (int)code, "while testing");
}

static dv8_value_t js_throw_sys(dv8_env_t *env, dv8_call_t *call) {
  int64_t code;
  if (dv8->arg_integer(env, call, 0, INT32_MIN, INT32_MAX, &code))
    return NULL;
  return dv8->throw_error(env, (int)code, "while testing");
}

static dv8_value_t js_err_name(dv8_env_t *env, dv8_call_t *call) {
  int64_t code;
  if (dv8->arg_integer(env, call, 0, INT32_MIN, INT32_MAX, &code))
    return NULL;
  return dv8->string(env, dv8->err_name((int)code), SIZE_MAX);
}

static dv8_value_t js_strerror(dv8_env_t *env, dv8_call_t *call) {
  int64_t code;
  if (dv8->arg_integer(env, call, 0, INT32_MIN, INT32_MAX, &code))
    return NULL;
  return dv8->string(env, dv8->strerror((int)code), SIZE_MAX);
}

/* toUtf8(v, cap) -> [what fit in cap bytes, the full length needed] */
static dv8_value_t js_to_utf8(dv8_env_t *env, dv8_call_t *call) {
  int64_t cap;
  char buf[256];
  if (dv8->arg_integer(env, call, 1, 0, sizeof(buf), &cap))
    return NULL;
  size_t need = dv8->to_utf8(env, dv8->arg(call, 0), buf, (size_t)cap);
  dv8_value_t out = dv8->array(env, 2);
  dv8->set_index(env, out, 0, dv8->string(env, buf, SIZE_MAX));
  dv8->set_index(env, out, 1, dv8->number(env, (double)need));
  return out;
}

static dv8_value_t js_to_bool(dv8_env_t *env, dv8_call_t *call) {
  return dv8->boolean(env, dv8->to_bool(env, dv8->arg(call, 0)));
}

static dv8_value_t js_to_number(dv8_env_t *env, dv8_call_t *call) {
  return dv8->number(env, dv8->to_number(env, dv8->arg(call, 0)));
}

static dv8_value_t js_buffer_length(dv8_env_t *env, dv8_call_t *call) {
  void *data;
  size_t len;
  int err = dv8->buffer_data(env, dv8->arg(call, 0), &data, &len);
  return dv8->number(env, err ? err : (double)len);
}

/* integer(v, min = INT64_MIN, max = INT64_MAX): v through arg_integer. */
static dv8_value_t js_integer(dv8_env_t *env, dv8_call_t *call) {
  int64_t min = INT64_MIN, max = INT64_MAX, n;
  if ((dv8->argc(call) > 1 && dv8->arg_int64(env, call, 1, &min)) ||
      (dv8->argc(call) > 2 && dv8->arg_int64(env, call, 2, &max)) ||
      dv8->arg_integer(env, call, 0, min, max, &n))
    return NULL;
  return dv8->number(env, (double)n);
}

/* counter(): this runtime thread's count of calls, this one included. */
static dv8_value_t js_counter(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  apitest_runtime *rt = runtime_of(env);
  return rt ? dv8->number(env, ++rt->counter) : NULL;
}

/* pendingAtStart(): exception_pending as a call finds it. */
static dv8_value_t js_pending_at_start(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  return dv8->boolean(env, dv8->exception_pending(env));
}

/* pendingAfterGet(obj, name): obj[name] through dv8->get; what
 * exception_pending said right after is kept for lastPending(). */
static dv8_value_t js_pending_after_get(dv8_env_t *env, dv8_call_t *call) {
  apitest_runtime *rt = runtime_of(env);
  dv8_value_t obj;
  char *name;
  if (rt == NULL || dv8->arg_object(env, call, 0, &obj) ||
      dv8->arg_string(env, call, 1, &name, NULL))
    return NULL;
  dv8_value_t v = dv8->get(env, obj, name);
  free(name);
  rt->last_pending = dv8->exception_pending(env);
  return v;
}

/* pendingAfterCall(fn): fn() through dv8->call; what exception_pending said
 * right after is kept for lastPending(). */
static dv8_value_t js_pending_after_call(dv8_env_t *env, dv8_call_t *call) {
  apitest_runtime *rt = runtime_of(env);
  dv8_value_t fn, result = NULL;
  if (rt == NULL || dv8->arg_function(env, call, 0, &fn))
    return NULL;
  int err = dv8->call(env, fn, NULL, 0, NULL, &result);
  rt->last_pending = dv8->exception_pending(env);
  return err ? NULL : result;
}

static dv8_value_t js_last_pending(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  apitest_runtime *rt = runtime_of(env);
  return rt ? dv8->boolean(env, rt->last_pending) : NULL;
}

/* data(): the pointer given to set_function comes back. */
static dv8_value_t js_data(dv8_env_t *env, dv8_call_t *call) {
  return dv8->string(env, dv8->call_data(call), SIZE_MAX);
}

static int apitest_init(dv8_env_t *env, dv8_value_t exports) {
  static const struct {
    const char *name;
    dv8_function_cb fn;
  } fns[] = {
      {"echo", js_echo},
      {"typeOf", js_type_of},
      {"add", js_add},
      {"int64", js_int64},
      {"upper", js_upper},
      {"sum", js_sum},
      {"fill", js_fill},
      {"callNow", js_call_now},
      {"callLater", js_call_later},
      {"handleType", js_handle_type},
      {"makeObject", js_make_object},
      {"getProp", js_get_prop},
      {"getIndex", js_get_index},
      {"external", js_external},
      {"externalFreed", js_external_freed},
      {"newBuffer", js_new_buffer},
      {"u8", js_u8},
      {"wrap", js_wrap},
      {"unwrap", js_unwrap},
      {"wrapsFinalized", js_wraps_finalized},
      {"throwType", js_throw_type},
      {"sysError", js_sys_error},
      {"throwRange", js_throw_range},
      {"throwValue", js_throw_value},
      {"throwSys", js_throw_sys},
      {"errName", js_err_name},
      {"strerror", js_strerror},
      {"toUtf8", js_to_utf8},
      {"toBool", js_to_bool},
      {"toNumber", js_to_number},
      {"bufferLength", js_buffer_length},
      {"integer", js_integer},
      {"counter", js_counter},
      {"pendingAtStart", js_pending_at_start},
      {"pendingAfterGet", js_pending_after_get},
      {"pendingAfterCall", js_pending_after_call},
      {"lastPending", js_last_pending},
  };
  for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
    if (dv8->set_function(env, exports, fns[i].name, fns[i].fn, NULL))
      return DV8_EEXCEPTION;
  dv8->set_function(env, exports, "data", js_data, "the data pointer");
  dv8->set_number(env, exports, "ABI", DV8_ABI_VERSION);
  dv8->set_string(env, exports, "name", "apitest");
  return 0;
}

/* Listed so that the host knows which module a handle of this type
 * belongs to (dv8.handles() shows it; an upgrade finds types by it). */
static const dv8_handle_type_t *const apitest_types[] = {&later_type, NULL};

DV8_MODULE_TYPES(apitest, apitest_init, apitest_types, apitest_unload);
