/* A module built for an ABI no dv8 knows, with a constructor that leaves a
 * trace: the file named by $DV8_TEST_CTOR_FILE. dv8 reads the ABI from the
 * file and refuses the module before opening it, so the constructor never
 * runs (tests/shell/test-module-abi.sh). */
#include <stdio.h>
#include <stdlib.h>

#include "dv8.h"

__attribute__((constructor)) static void leave_trace(void) {
  const char *path = getenv("DV8_TEST_CTOR_FILE");
  FILE *f = path != NULL ? fopen(path, "w") : NULL;
  if (f != NULL) {
    fputs("the constructor of ctorabi.so ran\n", f);
    fclose(f);
  }
}

static int init(dv8_env_t *env, dv8_value_t exports) {
  (void)env;
  (void)exports;
  return 0;
}

DV8_HIDDEN const dv8_api_t *dv8;
DV8_EXPORT const dv8_module_t dv8_module = {998,  "ctorabi", init,
                                            &dv8, NULL,      NULL};
