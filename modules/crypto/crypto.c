/*
 * crypto: what the web's crypto global needs from OpenSSL (the platform's
 * libcrypto). A module rather than part of the core, as DESIGN.md asks of
 * what is not essential: the binary does not link libcrypto, and a program
 * pays for loading it only when it first asks for random bytes.
 *
 * Thread rules: OpenSSL 3's RAND_bytes is safe from any thread (each
 * thread gets its own DRBG); each runtime thread loads this module itself.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include <uv.h>

#include "dv8.h"

/* RAND_bytes takes an int; the global refuses more than 65536 bytes per
 * call anyway (the web's quota), so this bound is never reached from it. */
#define FILL_MAX (1 << 30)

/* randomFill(buffer) -> buffer: fills an ArrayBuffer, typed array or
 * DataView with bytes from OpenSSL's CSPRNG. */
static dv8_value_t js_random_fill(dv8_env_t *env, dv8_call_t *call) {
  void *data;
  size_t len;
  if (dv8->arg_buffer(env, call, 0, &data, &len))
    return NULL;
  if (len > FILL_MAX)
    return dv8->throw_range_error(env, "randomFill: at most %d bytes per call",
                                  FILL_MAX);
  if (len > 0 && RAND_bytes(data, (int)len) != 1) {
    char what[300] = "randomFill: RAND_bytes: ";
    size_t used = strlen(what);
    ERR_error_string_n(ERR_get_error(), what + used, sizeof(what) - used);
    return dv8->throw_error(env, UV_EIO, what);
  }
  return dv8->arg(call, 0);
}

static int crypto_init(dv8_env_t *env, dv8_value_t exports) {
  dv8->set_function(env, exports, "randomFill", js_random_fill, NULL);
  return 0;
}

DV8_MODULE(crypto, crypto_init);
