/*
 * timers: one libuv timer per JS timer, registered in the host's handle
 * table so that reload can hand timers over. JS holds only the handle id.
 *
 * Lifetime: a timer struct lives from start() until its handle is closed:
 * by clear(), after a one-shot timer fired (unless refresh() re-armed it in
 * its callback), or when the runtime shuts down. The callback is the
 * handle's slot 0, kept by the host. A reload clears the old code's timers
 * (the new code starts its own) and an upgrade leaves them behind.
 */
#include <stdlib.h>
#include <uv.h>

#include "dv8.h"

enum { SLOT_CALLBACK };

typedef struct timer {
  dv8_handle_t base;
  uv_timer_t uv;
  uint64_t timeout;
  uint64_t repeat;
  uint64_t due_in; /* remaining at pause, so that resume keeps the schedule */
} timer;

static void free_timer(dv8_handle_t *h) { free(h); }

static void on_timer(uv_timer_t *uv);

static int pause_timer(dv8_handle_t *h) {
  timer *t = (timer *)h;
  t->due_in = uv_timer_get_due_in(&t->uv);
  return uv_timer_stop(&t->uv);
}

static int resume_timer(dv8_handle_t *h) {
  timer *t = (timer *)h;
  return uv_timer_start(&t->uv, on_timer, t->due_in, t->repeat);
}

static const dv8_handle_type_t timer_type = {
    DV8_HANDLE_TYPE_INIT,         .name = "timer",
    .on_reload = DV8_CROSS_CLEAR, .on_upgrade = DV8_CROSS_CLEAR,
    .pause = pause_timer,         .resume = resume_timer,
    .free = free_timer,
};

static void on_timer(uv_timer_t *uv) {
  timer *t = (timer *)uv->data;
  dv8->counters(&t->base)[DV8_COUNTER_EVENTS]++;
  dv8->slot_emit(&t->base, SLOT_CALLBACK, 0, NULL);
  /* A one-shot timer is done unless its callback re-armed it. */
  if (!uv_is_active((uv_handle_t *)uv))
    dv8->handle_close(&t->base);
}

static void on_unregistered_close(uv_handle_t *uv) { free(uv->data); }

/* Argument i as an open timer; NULL if it is not (an exception is then
 * pending if the argument was not an id at all). */
static timer *find_timer(dv8_env_t *env, dv8_call_t *call, int i) {
  dv8_handle_t *h;
  return dv8->arg_handle(env, call, i, &timer_type, &h) ? NULL : (timer *)h;
}

/* Delays are whole milliseconds that a JS number holds exactly. */
#define DELAY_MAX ((INT64_C(1) << 53) - 1)

/* start(callback, ms, repeatMs) -> id. A delay that is not a whole number
 * from 0 to 2^53 - 1 (NaN, a fraction, a negative) is a RangeError: the
 * globals (setTimeout) turn such delays into 1 before they get here. */
static dv8_value_t js_start(dv8_env_t *env, dv8_call_t *call) {
  dv8_value_t fn;
  int64_t ms, repeat;
  if (dv8->arg_function(env, call, 0, &fn) ||
      dv8->arg_integer(env, call, 1, 0, DELAY_MAX, &ms) ||
      dv8->arg_integer(env, call, 2, 0, DELAY_MAX, &repeat))
    return NULL;
  timer *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return dv8->throw_error(env, UV_ENOMEM, "setTimeout");
  uv_timer_init(dv8->loop(env), &t->uv);
  int err =
      dv8->handle_register(env, &t->base, &timer_type, (uv_handle_t *)&t->uv);
  if (err) {
    /* Not registered: close it directly; free once libuv is done with it. */
    t->uv.data = t;
    uv_close((uv_handle_t *)&t->uv, on_unregistered_close);
    return dv8->throw_error(env, err, "setTimeout");
  }
  err = dv8->slot_set(env, &t->base, SLOT_CALLBACK, fn);
  if (err) {
    dv8->handle_close(&t->base);
    return dv8->throw_error(env, err, "setTimeout");
  }
  t->timeout = (uint64_t)ms;
  t->repeat = (uint64_t)repeat;
  /* libuv measures from the loop's cached time, which is stale when JS has
   * been running for a while (a module's top level, a long callback). */
  uv_update_time(dv8->loop(env));
  uv_timer_start(&t->uv, on_timer, t->timeout, t->repeat);
  return dv8->number(env, (double)dv8->handle_id(&t->base));
}

/* clear(id): stops and closes; unknown or finished ids are ignored. */
static dv8_value_t js_clear(dv8_env_t *env, dv8_call_t *call) {
  timer *t = find_timer(env, call, 0);
  if (t != NULL) {
    uv_timer_stop(&t->uv);
    dv8->handle_close(&t->base);
  }
  return NULL;
}

/* refresh(id): restarts the countdown with the original delay. */
static dv8_value_t js_refresh(dv8_env_t *env, dv8_call_t *call) {
  timer *t = find_timer(env, call, 0);
  if (t != NULL) {
    uv_update_time(dv8->loop(env));
    uv_timer_start(&t->uv, on_timer, t->timeout, t->repeat);
  }
  return NULL;
}

static dv8_value_t js_ref(dv8_env_t *env, dv8_call_t *call) {
  timer *t = find_timer(env, call, 0);
  if (t != NULL)
    uv_ref((uv_handle_t *)&t->uv);
  return NULL;
}

static dv8_value_t js_unref(dv8_env_t *env, dv8_call_t *call) {
  timer *t = find_timer(env, call, 0);
  if (t != NULL)
    uv_unref((uv_handle_t *)&t->uv);
  return NULL;
}

static dv8_value_t js_has_ref(dv8_env_t *env, dv8_call_t *call) {
  timer *t = find_timer(env, call, 0);
  return dv8->boolean(env, t != NULL && uv_has_ref((uv_handle_t *)&t->uv));
}

/* counters(id) -> { events, closes, ... } or undefined */
static dv8_value_t js_counters(dv8_env_t *env, dv8_call_t *call) {
  timer *t = find_timer(env, call, 0);
  return t == NULL ? NULL : dv8->handle_counters(env, &t->base);
}

static int timers_init(dv8_env_t *env, dv8_value_t exports) {
  dv8->set_function(env, exports, "start", js_start, NULL);
  dv8->set_function(env, exports, "clear", js_clear, NULL);
  dv8->set_function(env, exports, "refresh", js_refresh, NULL);
  dv8->set_function(env, exports, "ref", js_ref, NULL);
  dv8->set_function(env, exports, "unref", js_unref, NULL);
  dv8->set_function(env, exports, "hasRef", js_has_ref, NULL);
  dv8->set_function(env, exports, "counters", js_counters, NULL);
  return 0;
}

static const dv8_handle_type_t *const timer_types[] = {&timer_type, NULL};

DV8_MODULE_TYPES(timers, timers_init, timer_types, NULL);
