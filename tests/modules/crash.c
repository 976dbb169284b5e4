/* crash: functions that crash on purpose, for tests/shell/test-crash.sh
 * (what a fatal signal prints, and that the process still dies of it). */
#include <stdlib.h>

#include "dv8.h"

/* Read through a volatile so that the compiler cannot see the NULL and turn
 * the store into a trap instruction (SIGILL instead of SIGSEGV). */
static int *volatile null_pointer;

/* In an UndefinedBehaviorSanitizer build the store would be reported (and
 * end the process) before it faults: the null check is off here, where the
 * fault is the point. */
__attribute__((no_sanitize("null"))) static dv8_value_t
js_null_deref(dv8_env_t *env, dv8_call_t *call) {
  (void)env;
  (void)call;
  *null_pointer = 42;
  return NULL;
}

static dv8_value_t js_abort(dv8_env_t *env, dv8_call_t *call) {
  (void)env;
  (void)call;
  abort();
}

/* Each call keeps a frame of 1 KiB alive below the next; the limit (far
 * beyond any stack) only keeps the compiler from calling it endless. */
static int recurse(volatile char *below, unsigned depth, unsigned limit) {
  volatile char frame[1024];
  frame[0] = (char)depth;
  frame[sizeof(frame) - 1] = below != NULL ? below[0] : 0;
  if (depth >= limit)
    return frame[0];
  return recurse(frame, depth + 1, limit) + frame[sizeof(frame) - 1];
}

static dv8_value_t js_overflow(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  return dv8->number(env, recurse(NULL, 0, 1u << 30));
}

static int crash_init(dv8_env_t *env, dv8_value_t exports) {
  int err = dv8->set_function(env, exports, "nullDeref", js_null_deref, NULL);
  if (err == 0)
    err = dv8->set_function(env, exports, "abort", js_abort, NULL);
  if (err == 0)
    err = dv8->set_function(env, exports, "overflow", js_overflow, NULL);
  return err;
}

DV8_MODULE(crash, crash_init);
