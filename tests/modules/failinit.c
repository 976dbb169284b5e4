/* A module whose init fails with a code: importing it is an error naming
 * the module and the code. */
#include <uv.h>

#include "dv8.h"

static int init(dv8_env_t *env, dv8_value_t exports) {
  (void)env;
  (void)exports;
  return UV_ENOMEM;
}

DV8_MODULE(failinit, init);
