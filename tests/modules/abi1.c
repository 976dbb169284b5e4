/* A module declaring ABI 1, from before handles became opaque (1 -> 2 was
 * incompatible): older than DV8_ABI_MIN, it must be refused. Its descriptor
 * is ABI 1's: version, name, init and the API pointer. */
#include "dv8.h"

static int init(dv8_env_t *env, dv8_value_t exports) {
  (void)env;
  (void)exports;
  return 0;
}

DV8_HIDDEN const dv8_api_t *dv8;
DV8_EXPORT const dv8_module_t dv8_module = {
    .abi_version = 1, .name = "abi1", .init = init, .api = &dv8};
