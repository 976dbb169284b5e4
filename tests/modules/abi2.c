/* abi2: a module built for the previous ABI, as one compiled against an
 * older dv8.h is. DV8_ABI_TARGET 2 ends the API table and dv8_module_t where
 * ABI 2 ended them, and DV8_MODULE declares ABI 2; this dv8 must load it and
 * serve it (tests/js/test-module-abi2.js): exported functions, a handle with
 * callback slots, a libuv timer calling back. */
#define DV8_ABI_TARGET 2

#include <stdlib.h>
#include <uv.h>

#include "dv8.h"

/* The header really is ABI 2's: its table ends with slot_emit, and the
 * module descriptor with api (no types, no unload). */
_Static_assert(sizeof(dv8_api_t) ==
                   offsetof(dv8_api_t, slot_emit) + sizeof(dv8->slot_emit),
               "the ABI 2 table ends with slot_emit");
_Static_assert(sizeof(dv8_module_t) == offsetof(dv8_module_t, api) +
                                           sizeof(((dv8_module_t *)0)->api),
               "the ABI 2 descriptor ends with api");

enum { SLOT_ON_TICK, SLOT_ON_DONE };

typedef struct ticker {
  dv8_handle_t base;
  uv_timer_t uv;
  int64_t left; /* ticks still to come */
} ticker;

/* The last callback, with the number of ticks delivered: slots can still
 * be called from free (not once the runtime is ending: nothing runs then). */
static void free_ticker(dv8_handle_t *h) {
  double ticks = (double)dv8->counters(h)[DV8_COUNTER_EVENTS];
  dv8->slot_emit(h, SLOT_ON_DONE, 1, &ticks);
  free(h);
}

static const dv8_handle_type_t ticker_type = {
    DV8_HANDLE_TYPE_INIT, .name = "abi2-ticker", .free = free_ticker};

static void on_tick(uv_timer_t *uv) {
  ticker *t = (ticker *)uv->data;
  uint64_t *c = dv8->counters(&t->base);
  double n = (double)++c[DV8_COUNTER_EVENTS];
  dv8->slot_emit(&t->base, SLOT_ON_TICK, 1, &n);
  if (--t->left == 0) {
    uv_timer_stop(uv);
    dv8->handle_close(&t->base);
  }
}

static void on_unregistered_close(uv_handle_t *uv) { free(uv->data); }

/* tick(ms, times, onTick(n), onDone(ticks)) -> id: onTick(1) .. onTick(times)
 * every ms, then the handle closes and onDone gets the count. */
static dv8_value_t js_tick(dv8_env_t *env, dv8_call_t *call) {
  int64_t ms, times;
  dv8_value_t on_tick_fn, on_done_fn;
  if (dv8->arg_integer(env, call, 0, 0, INT32_MAX, &ms) ||
      dv8->arg_integer(env, call, 1, 1, INT32_MAX, &times) ||
      dv8->arg_function(env, call, 2, &on_tick_fn) ||
      dv8->arg_function(env, call, 3, &on_done_fn))
    return NULL;
  ticker *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return dv8->throw_error(env, UV_ENOMEM, "tick");
  uv_timer_init(dv8->loop(env), &t->uv);
  int err =
      dv8->handle_register(env, &t->base, &ticker_type, (uv_handle_t *)&t->uv);
  if (err) { /* not registered: libuv still has to let go of the timer */
    t->uv.data = t;
    uv_close((uv_handle_t *)&t->uv, on_unregistered_close);
    return dv8->throw_error(env, err, "tick");
  }
  t->left = times;
  if ((err = dv8->slot_set(env, &t->base, SLOT_ON_TICK, on_tick_fn)) ||
      (err = dv8->slot_set(env, &t->base, SLOT_ON_DONE, on_done_fn))) {
    dv8->handle_close(&t->base);
    return dv8->throw_error(env, err, "tick");
  }
  uv_timer_start(&t->uv, on_tick, (uint64_t)ms, (uint64_t)ms);
  return dv8->number(env, (double)dv8->handle_id(&t->base));
}

/* ticks(id) -> ticks delivered so far, or undefined once it closed. */
static dv8_value_t js_ticks(dv8_env_t *env, dv8_call_t *call) {
  dv8_handle_t *h;
  int err = dv8->arg_handle(env, call, 0, &ticker_type, &h);
  if (err == DV8_ECLOSED)
    return dv8->undefined(env);
  if (err)
    return NULL;
  return dv8->number(env, (double)dv8->counters(h)[DV8_COUNTER_EVENTS]);
}

static dv8_value_t js_add(dv8_env_t *env, dv8_call_t *call) {
  double a, b;
  if (dv8->arg_number(env, call, 0, &a) || dv8->arg_number(env, call, 1, &b))
    return NULL;
  return dv8->number(env, a + b);
}

/* info() -> the ABI and table size this module was built with, and the
 * host's. */
static dv8_value_t js_info(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  dv8_value_t out = dv8->object(env);
  dv8->set_number(env, out, "abi", DV8_ABI_TARGET);
  dv8->set_number(env, out, "tableSize", sizeof(dv8_api_t));
  dv8->set_number(env, out, "hostAbi", dv8->abi_version);
  dv8->set_number(env, out, "hostTableSize", dv8->size);
  return out;
}

static int abi2_init(dv8_env_t *env, dv8_value_t exports) {
  int err = dv8->set_function(env, exports, "tick", js_tick, NULL);
  if (!err)
    err = dv8->set_function(env, exports, "ticks", js_ticks, NULL);
  if (!err)
    err = dv8->set_function(env, exports, "add", js_add, NULL);
  if (!err)
    err = dv8->set_function(env, exports, "info", js_info, NULL);
  return err;
}

DV8_MODULE(abi2, abi2_init);
