/*
 * serdes.h — the host's side of serdes: writing messages that serdes.js
 * decodes (msgpack-c's packer plus dv8's extension types), and checking
 * and walking messages without building them (bounded, no allocation), to
 * find the handles and transferred buffers a message refers to.
 * docs/serdes.md has the type table these follow.
 */
#ifndef DV8_SERDES_H
#define DV8_SERDES_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* dv8's extension types (the table in docs/serdes.md). */
enum {
  DV8_EXT_TIMESTAMP = -1,
  DV8_EXT_SPECIAL = 0x50,
  DV8_EXT_MAP = 0x51,
  DV8_EXT_SET = 0x52,
  DV8_EXT_BIGINT = 0x53,
  DV8_EXT_TYPED = 0x54,
  DV8_EXT_ERROR = 0x55,
  DV8_EXT_REGEXP = 0x56,
  DV8_EXT_HANDLE = 0x57,
  DV8_EXT_TRANSFER = 0x58,
  DV8_EXT_HANDLE_DATA = 0x59,
};

/* Nesting allowed by default and at most, as in serdes.js. */
#define DV8_SERDES_DEFAULT_DEPTH 32
#define DV8_SERDES_MAX_DEPTH 1000

/* Packs undefined (the special extension, payload 0). */
int dv8_serdes_pack_undefined(msgpack_packer *pk);

/* Packs a NUL-terminated string as a MessagePack str. */
int dv8_serdes_pack_cstr(msgpack_packer *pk, const char *s);

/* Packs a timestamp (extension -1) in its narrowest form; nsec < 1e9. */
int dv8_serdes_pack_timestamp(msgpack_packer *pk, int64_t sec, uint32_t nsec);

/* Packs an Error that decodes as `new Error(message)` named name, with
 * stack (NULL for none) as its stack. */
int dv8_serdes_pack_error(msgpack_packer *pk, const char *name,
                          const char *message, const char *stack);

/* Packs a reference to host handle id (decoded by the handles option). */
int dv8_serdes_pack_handle(msgpack_packer *pk, uint64_t id);

/* Where and why a message was refused. */
typedef struct dv8_serdes_error {
  size_t offset;     /* byte of the message where the problem is */
  char message[120]; /* e.g. "truncated: 3 of 8 bytes of a str" */
} dv8_serdes_error;

/* Called for each extension met, nested ones included, in message order;
 * a non-zero return stops the walk and is returned by dv8_serdes_walk. */
typedef int (*dv8_serdes_ext_cb)(int8_t type, const uint8_t *payload,
                                 uint32_t size, size_t offset, void *ud);

/* Checks that data[0, len) is exactly one value nested at most max_depth
 * deep, calling on_ext (may be NULL) for its extensions: 0, DV8_ESERDES
 * with err filled, or what on_ext returned. */
int dv8_serdes_walk(const uint8_t *data, size_t len, int max_depth,
                    dv8_serdes_ext_cb on_ext, void *ud, dv8_serdes_error *err);

/* Reads the id of a handle reference from its extension payload. */
int dv8_serdes_handle_id(const uint8_t *payload, uint32_t size, uint64_t *id);

#ifdef __cplusplus
}
#endif

#endif
