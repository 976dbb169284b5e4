/*
 * hello: a dv8 native module built outside dv8's tree, against the public
 * header alone (dv8.h) and libuv's.
 *
 * Run:
 *   cd examples/native-module && make && DV8_PATH=. ../../build/dv8 main.js
 * Shows: exporting functions (greet, add); taking arguments, where a wrong
 * type is a TypeError thrown by the host; and keeping a JS function alive to
 * call it later from a libuv timer (later).
 *
 * The timer is registered in the host's handle table, as every long-lived
 * libuv handle in dv8 is: the host can then close it when the runtime ends
 * and pause or hand it over on a reload. Lifetime: a pending struct lives
 * from later() until its timer's handle has closed (after the callback ran,
 * or at the runtime's end); free_pending drops the function's reference.
 */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "dv8.h"

/* greet(name) -> "hello, NAME" */
static dv8_value_t js_greet(dv8_env_t *env, dv8_call_t *call) {
  char *name;
  size_t len;
  /* On a wrong type the host has already thrown a TypeError. */
  if (dv8->arg_string(env, call, 0, &name, &len))
    return NULL;
  static const char prefix[] = "hello, ";
  size_t total = sizeof(prefix) - 1 + len;
  char *text = malloc(total);
  if (text == NULL) {
    free(name);
    return dv8->throw_error(env, UV_ENOMEM, "greet");
  }
  memcpy(text, prefix, sizeof(prefix) - 1);
  memcpy(text + sizeof(prefix) - 1, name, len);
  /* V8 copies the bytes, so both buffers can go right away. */
  dv8_value_t out = dv8->string(env, text, total);
  free(text);
  free(name);
  return out;
}

/* add(a, b) -> a + b */
static dv8_value_t js_add(dv8_env_t *env, dv8_call_t *call) {
  double a, b;
  if (dv8->arg_number(env, call, 0, &a) || dv8->arg_number(env, call, 1, &b))
    return NULL;
  return dv8->number(env, a + b);
}

/* The JS function later() calls: the handle's slot 0, kept by the host
 * (which keeps it alive after later() returns). */
enum { SLOT_FN };

typedef struct pending {
  dv8_handle_t base; /* first, so that the host's pointer is ours too */
  uv_timer_t uv;
  uint64_t due_in;
} pending;

static void on_later(uv_timer_t *uv);

static void free_pending(dv8_handle_t *h) { free(h); }

/* A reload pauses the timer while the new code loads, and resumes it with
 * the time it had left if the reload fails. */
static int pause_pending(dv8_handle_t *h) {
  pending *p = (pending *)h;
  p->due_in = uv_timer_get_due_in(&p->uv);
  return uv_timer_stop(&p->uv);
}

static int resume_pending(dv8_handle_t *h) {
  pending *p = (pending *)h;
  return uv_timer_start(&p->uv, on_later, p->due_in, 0);
}

/* What the host may do with it: like a timer, the old code's pending
 * calls are dropped when new code takes over (by a reload, or in a new
 * process after an upgrade). */
static const dv8_handle_type_t pending_type = {
    DV8_HANDLE_TYPE_INIT,         .name = "hello.later",
    .on_reload = DV8_CROSS_CLEAR, .on_upgrade = DV8_CROSS_CLEAR,
    .pause = pause_pending,       .resume = resume_pending,
    .free = free_pending,
};

static void on_later(uv_timer_t *uv) {
  /* handle_register pointed uv->data at the handle header. */
  pending *p = (pending *)uv->data;
  dv8->counters(&p->base)[DV8_COUNTER_EVENTS]++;
  /* From a libuv callback: slot_emit opens a scope, calls, and reports an
   * exception the function throws as uncaught. */
  dv8->slot_emit(&p->base, SLOT_FN, 0, NULL);
  dv8->handle_close(&p->base);
}

static void on_unregistered_close(uv_handle_t *uv) { free(uv->data); }

/* later(ms, fn) -> id; calls fn() once, ms milliseconds from now. */
static dv8_value_t js_later(dv8_env_t *env, dv8_call_t *call) {
  int64_t ms;
  dv8_value_t fn;
  if (dv8->arg_int64(env, call, 0, &ms) || dv8->arg_function(env, call, 1, &fn))
    return NULL;
  if (ms < 0)
    return dv8->throw_type_error(env, "later: ms must be >= 0");
  pending *p = calloc(1, sizeof(*p));
  if (p == NULL)
    return dv8->throw_error(env, UV_ENOMEM, "later");
  uv_timer_init(dv8->loop(env), &p->uv);
  int err =
      dv8->handle_register(env, &p->base, &pending_type, (uv_handle_t *)&p->uv);
  if (err) {
    /* libuv still knows the handle: free only after it is closed. */
    p->uv.data = p;
    uv_close((uv_handle_t *)&p->uv, on_unregistered_close);
    return dv8->throw_error(env, err, "later");
  }
  /* fn is valid only until this call returns; the slot keeps it. */
  err = dv8->slot_set(env, &p->base, SLOT_FN, fn);
  if (err) {
    dv8->handle_close(&p->base);
    return dv8->throw_error(env, err, "later");
  }
  uv_timer_start(&p->uv, on_later, (uint64_t)ms, 0);
  /* JS knows a handle by its id. */
  return dv8->number(env, (double)dv8->handle_id(&p->base));
}

/* Runs once per context that imports 'hello': fill its exports. */
static int hello_init(dv8_env_t *env, dv8_value_t exports) {
  int err = dv8->set_function(env, exports, "greet", js_greet, NULL);
  if (err == 0)
    err = dv8->set_function(env, exports, "add", js_add, NULL);
  if (err == 0)
    err = dv8->set_function(env, exports, "later", js_later, NULL);
  return err;
}

/* The one exported symbol: the ABI version this was built for, init, and
 * the handle types this module makes (an upgrade finds them here). */
static const dv8_handle_type_t *const hello_types[] = {&pending_type, NULL};

DV8_MODULE_TYPES(hello, hello_init, hello_types, NULL);
