/* The native module search: missing modules name every directory searched,
 * bad names never reach the file system, a wrong ABI (newer than the host's,
 * older than its oldest) or a missing symbol is refused with a message, the
 * previous ABI loads, and a good module loads once. */
#include <string.h>

#include "host/host.h"
#include "unit.h"

const dv8_api_t dv8__api_table;

int main(void) {
  const char *dir = getenv("DV8_TEST_MODULES");
  ASSERT(dir != NULL); /* set by tests/run-all */
  char err[8192];
  const dv8_module_t *m = NULL;

  setenv("DV8_PATH", "/nonexistent-a:/nonexistent-b", 1);
  dv8__native_set_exe_dir("/nonexistent-exe");
  ASSERT_EQ(dv8__native_load("nosuch", &m, err, sizeof(err)), DV8_ENOMODULE);
  ASSERT(strstr(err, "cannot find module 'nosuch'") != NULL);
  ASSERT(strstr(err, "/nonexistent-a") != NULL);
  ASSERT(strstr(err, "/nonexistent-b") != NULL);
  ASSERT(strstr(err, "/nonexistent-exe/../lib/dv8") != NULL);

  ASSERT_EQ(dv8__native_load("../etc/passwd", &m, err, sizeof(err)),
            DV8_ENOMODULE);
  ASSERT(strstr(err, "invalid native module name") != NULL);
  ASSERT_EQ(dv8__native_load("", &m, err, sizeof(err)), DV8_ENOMODULE);

  setenv("DV8_PATH", dir, 1);
  ASSERT_EQ(dv8__native_load("badabi", &m, err, sizeof(err)), DV8_EABI);
  ASSERT(strstr(err, "ABI 999") != NULL);
  ASSERT_EQ(dv8__native_load("abi1", &m, err, sizeof(err)), DV8_EABI);
  ASSERT(strstr(err, "ABI 1, but this dv8 loads ABI 2 to 7") != NULL);
  ASSERT_EQ(dv8__native_load("nosym", &m, err, sizeof(err)), DV8_ENOSYM);
  ASSERT(strstr(err, "dv8_module") != NULL);

  /* The previous ABI loads; its shorter descriptor lists no types. */
  ASSERT_EQ(dv8__native_load("abi2", &m, err, sizeof(err)), 0);
  ASSERT_EQ(m->abi_version, 2);
  ASSERT(*m->api == &dv8__api_table);
  ASSERT(dv8__native_type("abi2", "abi2-ticker") == NULL);

  const dv8_module_t *again = NULL;
  ASSERT_EQ(dv8__native_load("apitest", &m, err, sizeof(err)), 0);
  ASSERT_EQ(dv8__native_load("apitest", &again, err, sizeof(err)), 0);
  ASSERT(m == again);
  ASSERT(strcmp(m->name, "apitest") == 0);
  ASSERT(*m->api == &dv8__api_table);
  /* ABI 3 lists its handle types: found by name, and back to the module. */
  const dv8_handle_type_t *later = dv8__native_type("apitest", "apitest-later");
  ASSERT(later != NULL);
  ASSERT(strcmp(dv8__native_module_of(later), "apitest") == 0);
  ASSERT(dv8__native_type("apitest", "nosuch") == NULL);
  dv8__native_unload_all();
  return 0;
}
