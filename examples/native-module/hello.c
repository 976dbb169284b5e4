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

typedef struct pending {
  dv8_handle_t base; /* first, so that the host's pointer is ours too */
  uv_timer_t uv;
  dv8_ref_t *fn; /* keeps the JS function alive after later() returns */
  uint64_t due_in;
} pending;

static void on_later(uv_timer_t *uv);

static void free_pending(dv8_handle_t *h) {
  pending *p = (pending *)h;
  dv8->ref_free(p->fn);
  free(p);
}

/* JS sees a handle as its id. */
static dv8_value_t wrap_pending(dv8_env_t *env, dv8_handle_t *h) {
  return dv8->number(env, h->id);
}

/* A reload pauses the timer and resumes it with the time it had left. */
static int pause_pending(dv8_handle_t *h) {
  pending *p = (pending *)h;
  p->due_in = uv_timer_get_due_in(&p->uv);
  return uv_timer_stop(&p->uv);
}

static int resume_pending(dv8_handle_t *h) {
  pending *p = (pending *)h;
  return uv_timer_start(&p->uv, on_later, p->due_in, 0);
}

static const dv8_handle_type_t pending_type = {
    "hello.later", wrap_pending, pause_pending, resume_pending,
    free_pending,  NULL,         NULL, /* no descriptor to hand over */
};

static void on_later(uv_timer_t *uv) {
  /* handle_register pointed uv->data at the handle header. */
  pending *p = (pending *)uv->data;
  dv8_env_t *env = p->base.env;
  p->base.counters[DV8_COUNTER_EVENTS]++;
  /* Outside a JS call there is no scope: open one to touch JS values. If
   * the function throws, the host reports the exception as uncaught. */
  dv8_scope_t scope;
  dv8->scope_open(env, &scope);
  dv8->call(env, dv8->ref_get(env, p->fn), NULL, 0, NULL, NULL);
  dv8->scope_close(env, &scope);
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
  /* fn is valid only until this call returns; the reference keeps it. */
  p->fn = dv8->ref_new(env, fn);
  uv_timer_start(&p->uv, on_later, (uint64_t)ms, 0);
  return dv8->number(env, p->base.id);
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

/* The one exported symbol: the ABI version this was built for, and init. */
DV8_MODULE(hello, hello_init);
