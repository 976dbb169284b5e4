/*
 * Error codes: libuv's UV_E* (negative errno values) and dv8's own DV8_E*,
 * named and described in one place for C and JS alike.
 */
#include "host/host.h"

#include <uv.h>

const char *dv8_err_name(int code) {
  switch (code) {
#define DV8_ERR_NAME_CASE(name, c, msg)                                        \
  case DV8_##name:                                                             \
    return #name;
    DV8_ERRNO_MAP(DV8_ERR_NAME_CASE)
#undef DV8_ERR_NAME_CASE
  }
  /* uv_err_name() allocates (and leaks) a string for codes it does not
   * know, so only known codes reach it. */
  switch (code) {
#define DV8_UV_NAME_CASE(name, msg)                                            \
  case UV_##name:                                                              \
    return #name;
    UV_ERRNO_MAP(DV8_UV_NAME_CASE)
#undef DV8_UV_NAME_CASE
  }
  return "UNKNOWN";
}

const char *dv8_strerror(int code) {
  switch (code) {
#define DV8_ERR_MSG_CASE(name, c, msg)                                         \
  case DV8_##name:                                                             \
    return msg;
    DV8_ERRNO_MAP(DV8_ERR_MSG_CASE)
#undef DV8_ERR_MSG_CASE
  }
  switch (code) {
#define DV8_UV_MSG_CASE(name, msg)                                             \
  case UV_##name:                                                              \
    return msg;
    UV_ERRNO_MAP(DV8_UV_MSG_CASE)
#undef DV8_UV_MSG_CASE
  }
  return "unknown error";
}
