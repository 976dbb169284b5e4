/* Error names and messages for libuv's codes and dv8's own. */
#include <string.h>

#include "host/host.h"
#include "unit.h"

const dv8_api_t dv8__api_table;

int main(void) {
  ASSERT(strcmp(dv8_err_name(UV_ENOENT), "ENOENT") == 0);
  ASSERT(strcmp(dv8_err_name(UV_EOF), "EOF") == 0);
  ASSERT(strcmp(dv8_err_name(DV8_EABI), "EABI") == 0);
  ASSERT(strcmp(dv8_err_name(DV8_EEXCEPTION), "EEXCEPTION") == 0);
  ASSERT(strcmp(dv8_strerror(UV_ECONNREFUSED), "connection refused") == 0);
  ASSERT(strstr(dv8_strerror(DV8_EABI), "ABI") != NULL);
  /* Unknown codes never reach uv_err_name (it would allocate). */
  ASSERT(strcmp(dv8_err_name(-29999), "UNKNOWN") == 0);
  ASSERT(strcmp(dv8_err_name(12345), "UNKNOWN") == 0);
  ASSERT(strcmp(dv8_strerror(-29999), "unknown error") == 0);
  return 0;
}
