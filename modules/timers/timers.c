/*
 * timers: one libuv timer per JS timer, registered in the host's handle
 * table so that reload can hand timers over. JS holds only the handle id.
 *
 * Lifetime: a timer struct lives from start() until its handle is closed:
 * by clear(), after a one-shot timer fired (unless refresh() re-armed it in
 * its callback), or when the runtime shuts down. The callback is the
 * handle's slot 0, kept by the host. A reload clears the old code's timers
 * and an upgrade leaves them behind; a timer the old code hands on in its
 * state crosses a reload all the same: the new code's rebind() (in load())
 * starts a timer of its own that goes on with the old one's schedule, and
 * the old one is cleared with the rest when the new code takes over (or,
 * if load() fails, the new one is discarded with the new code and the old
 * one resumes): a reload's transaction needs nothing more of the host.
 *
 * setImmediate: one "immediate" handle per context (made at the first
 * setImmediate), a uv_check_t that runs the queue kept in JS after the
 * loop's I/O, as node's check phase does, and a uv_idle_t active while
 * immediates wait so that the loop does not block in poll. The struct is
 * freed by whichever of the two closes last.
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
 * pending if the argument was not an id at all). A timer closing (cleared,
 * or a one-shot that has fired) is in the table until libuv is done with
 * it, but open no more. */
static timer *find_timer(dv8_env_t *env, dv8_call_t *call, int i) {
  dv8_handle_t *h;
  if (dv8->arg_handle(env, call, i, &timer_type, &h))
    return NULL;
  timer *t = (timer *)h;
  return uv_is_closing((uv_handle_t *)&t->uv) ? NULL : t;
}

/* Delays are whole milliseconds that a JS number holds exactly. */
#define DELAY_MAX ((INT64_C(1) << 53) - 1)

/* A new timer of env calling fn, first after due ms, then every repeat ms
 * (refresh() restarts it with timeout); NULL with an exception pending. */
static timer *timer_new(dv8_env_t *env, dv8_value_t fn, uint64_t timeout,
                        uint64_t due, uint64_t repeat) {
  timer *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return dv8->throw_error(env, UV_ENOMEM, "setTimeout"), NULL;
  uv_timer_init(dv8->loop(env), &t->uv);
  int err =
      dv8->handle_register(env, &t->base, &timer_type, (uv_handle_t *)&t->uv);
  if (err) {
    /* Not registered: close it directly; free once libuv is done with it. */
    t->uv.data = t;
    uv_close((uv_handle_t *)&t->uv, on_unregistered_close);
    return dv8->throw_error(env, err, "setTimeout"), NULL;
  }
  err = dv8->slot_set(env, &t->base, SLOT_CALLBACK, fn);
  if (err) {
    dv8->handle_close(&t->base);
    return dv8->throw_error(env, err, "setTimeout"), NULL;
  }
  t->timeout = timeout;
  t->repeat = repeat;
  /* libuv measures from the loop's cached time, which is stale when JS has
   * been running for a while (a module's top level, a long callback). */
  uv_update_time(dv8->loop(env));
  uv_timer_start(&t->uv, on_timer, due, t->repeat);
  return t;
}

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
  timer *t = timer_new(env, fn, (uint64_t)ms, (uint64_t)ms, (uint64_t)repeat);
  return t == NULL ? NULL : dv8->number(env, (double)dv8->handle_id(&t->base));
}

/* rebind(id, callback) -> id, or ECLOSED if id is no open timer. A timer of
 * this code gets the callback; one of the code a reload is replacing (it
 * came in unload()'s state, and is paused) is taken over: a new timer of
 * this code goes on with its schedule (the time it had left, its repeat,
 * whether it keeps the program alive, its counters) and its id is
 * returned; the old one is cleared when this code takes over. */
static dv8_value_t js_rebind(dv8_env_t *env, dv8_call_t *call) {
  dv8_value_t fn;
  timer *old = find_timer(env, call, 0);
  if (old == NULL)
    return dv8->exception_pending(env) ? NULL : dv8->number(env, DV8_ECLOSED);
  if (dv8->arg_function(env, call, 1, &fn))
    return NULL;
  dv8_handle_t *h = &old->base;
  int err;
  if (dv8->handle_env(h) == env) {
    err = dv8->slot_set(env, h, SLOT_CALLBACK, fn);
    return err ? dv8->throw_error(env, err, "Timer.reload")
               : dv8->number(env, (double)dv8->handle_id(h));
  }
  /* The old code's timer is paused: due_in is what it had left. */
  timer *t = timer_new(env, fn, old->timeout, old->due_in, old->repeat);
  if (t == NULL)
    return NULL;
  if (!uv_has_ref((uv_handle_t *)&old->uv))
    uv_unref((uv_handle_t *)&t->uv);
  uint64_t *from = dv8->counters(h), *to = dv8->counters(&t->base);
  for (int i = 0; i < DV8_COUNTER_COUNT; i++)
    to[i] = from[i];
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

/* ---- immediates ---- */

typedef struct immediate {
  dv8_handle_t base;
  uv_check_t uv;
  uv_idle_t idle;
  int armed;    /* the check runs at the end of this loop turn */
  int more;     /* JS has more of the current batch to run */
  int open_uvs; /* uv handles not yet closed: the last frees the struct */
} immediate;

static void on_check(uv_check_t *uv);
static void on_idle(uv_idle_t *idle) { (void)idle; }

static void immediate_arm(immediate *im) {
  im->armed = 1;
  uv_check_start(&im->uv, on_check);
  uv_idle_start(&im->idle, on_idle);
}

static void immediate_disarm(immediate *im) {
  uv_check_stop(&im->uv);
  uv_idle_stop(&im->idle);
}

static int pause_immediate(dv8_handle_t *h) {
  immediate_disarm((immediate *)h);
  return 0;
}

static int resume_immediate(dv8_handle_t *h) {
  immediate *im = (immediate *)h;
  if (im->armed)
    immediate_arm(im);
  return 0;
}

static void release_immediate(immediate *im) {
  if (--im->open_uvs == 0)
    free(im);
}

static void on_idle_close(uv_handle_t *uv) { release_immediate(uv->data); }

static void close_immediate(dv8_handle_t *h) {
  immediate *im = (immediate *)h;
  immediate_disarm(im);
  uv_close((uv_handle_t *)&im->idle, on_idle_close);
}

static void free_immediate(dv8_handle_t *h) {
  release_immediate((immediate *)h);
}

static const dv8_handle_type_t immediate_type = {
    DV8_HANDLE_TYPE_INIT,         .name = "immediate",
    .on_reload = DV8_CROSS_CLEAR, .on_upgrade = DV8_CROSS_CLEAR,
    .pause = pause_immediate,     .resume = resume_immediate,
    .close = close_immediate,     .free = free_immediate,
};

/* One callback per immediate, each in its own scope so that the promise
 * jobs an immediate queues run before the next one (as in node); JS says
 * through immediateMore whether its batch has more. Immediates queued by
 * these callbacks wait for the next turn (JS arms the check again). */
static void on_check(uv_check_t *uv) {
  immediate *im = (immediate *)uv->data;
  immediate_disarm(im);
  im->armed = 0;
  do {
    im->more = 0;
    dv8->counters(&im->base)[DV8_COUNTER_EVENTS]++;
    if (dv8->slot_emit(&im->base, SLOT_CALLBACK, 0, NULL) != 0)
      break;
  } while (im->more && !uv_is_closing((uv_handle_t *)uv));
}

static immediate *find_immediate(dv8_env_t *env, dv8_call_t *call, int i) {
  dv8_handle_t *h;
  return dv8->arg_handle(env, call, i, &immediate_type, &h) ? NULL
                                                            : (immediate *)h;
}

/* immediateOpen(callback) -> id: the context's immediate handle, unarmed
 * and unreferenced (immediateRef references it while a referenced
 * immediate waits). */
static dv8_value_t js_immediate_open(dv8_env_t *env, dv8_call_t *call) {
  dv8_value_t fn;
  if (dv8->arg_function(env, call, 0, &fn))
    return NULL;
  immediate *im = calloc(1, sizeof(*im));
  if (im == NULL)
    return dv8->throw_error(env, UV_ENOMEM, "setImmediate");
  uv_check_init(dv8->loop(env), &im->uv);
  uv_idle_init(dv8->loop(env), &im->idle);
  im->idle.data = im;
  im->open_uvs = 2;
  uv_unref((uv_handle_t *)&im->uv);
  uv_unref((uv_handle_t *)&im->idle);
  int err = dv8->handle_register(env, &im->base, &immediate_type,
                                 (uv_handle_t *)&im->uv);
  if (err) {
    im->uv.data = im;
    uv_close((uv_handle_t *)&im->idle, on_idle_close);
    uv_close((uv_handle_t *)&im->uv, on_idle_close);
    return dv8->throw_error(env, err, "setImmediate");
  }
  err = dv8->slot_set(env, &im->base, SLOT_CALLBACK, fn);
  if (err) {
    dv8->handle_close(&im->base);
    return dv8->throw_error(env, err, "setImmediate");
  }
  return dv8->number(env, (double)dv8->handle_id(&im->base));
}

/* immediateArm(id): run the callback at the end of this loop turn. */
static dv8_value_t js_immediate_arm(dv8_env_t *env, dv8_call_t *call) {
  immediate *im = find_immediate(env, call, 0);
  if (im != NULL && !im->armed)
    immediate_arm(im);
  return NULL;
}

/* immediateMore(id, more): whether on_check calls again this turn. */
static dv8_value_t js_immediate_more(dv8_env_t *env, dv8_call_t *call) {
  immediate *im = find_immediate(env, call, 0);
  if (im != NULL)
    im->more = dv8->to_bool(env, dv8->arg(call, 1));
  return NULL;
}

/* immediateRef(id, on): whether waiting immediates keep the loop alive. */
static dv8_value_t js_immediate_ref(dv8_env_t *env, dv8_call_t *call) {
  immediate *im = find_immediate(env, call, 0);
  if (im == NULL)
    return NULL;
  if (dv8->to_bool(env, dv8->arg(call, 1)))
    uv_ref((uv_handle_t *)&im->uv);
  else
    uv_unref((uv_handle_t *)&im->uv);
  return NULL;
}

static int timers_init(dv8_env_t *env, dv8_value_t exports) {
  dv8->set_function(env, exports, "start", js_start, NULL);
  dv8->set_function(env, exports, "rebind", js_rebind, NULL);
  dv8->set_function(env, exports, "clear", js_clear, NULL);
  dv8->set_function(env, exports, "refresh", js_refresh, NULL);
  dv8->set_function(env, exports, "ref", js_ref, NULL);
  dv8->set_function(env, exports, "unref", js_unref, NULL);
  dv8->set_function(env, exports, "hasRef", js_has_ref, NULL);
  dv8->set_function(env, exports, "counters", js_counters, NULL);
  dv8->set_function(env, exports, "immediateOpen", js_immediate_open, NULL);
  dv8->set_function(env, exports, "immediateArm", js_immediate_arm, NULL);
  dv8->set_function(env, exports, "immediateMore", js_immediate_more, NULL);
  dv8->set_function(env, exports, "immediateRef", js_immediate_ref, NULL);
  return 0;
}

static const dv8_handle_type_t *const timer_types[] = {&timer_type,
                                                       &immediate_type, NULL};

DV8_MODULE_TYPES(timers, timers_init, timer_types, NULL);
