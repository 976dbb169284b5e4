/* A module built for an ABI version no dv8 knows: must be refused. */
#include "dv8.h"

static int init(dv8_env_t *env, dv8_value_t exports) {
  (void)env;
  (void)exports;
  return 0;
}

DV8_HIDDEN const dv8_api_t *dv8;
DV8_EXPORT const dv8_module_t dv8_module = {999,  "badabi", init,
                                            &dv8, NULL,     NULL};
