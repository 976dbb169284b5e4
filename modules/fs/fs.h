/*
 * fs.h — what the two halves of the fs module share: fs.c (descriptors,
 * whole files, the module's init) and fs_paths.c (stat, directories, path
 * operations). Not a public header: only these two files include it.
 */
#ifndef DV8_FS_H
#define DV8_FS_H

#include <uv.h>

#include "dv8.h"

/* Throws a RangeError (out-of-range offsets are programmer errors). */
#define throw_range_error(env, ...)                                            \
  (dv8->throw_range_error(env, __VA_ARGS__), DV8_EEXCEPTION)

enum { STAT_PATH, STAT_LINK, STAT_FD };
enum { RMDIR, UNLINK, RENAME, SYMLINK, COPYFILE, CHMOD, REALPATH, READLINK };

/* What a function returns after a failed step: nothing when an exception is
 * pending (an argument check threw), else the code as a number. */
dv8_value_t fs__reply(dv8_env_t *env, int err);
/* Whether argument i is undefined or null (so a default applies). */
int fs__is_absent(dv8_env_t *env, dv8_call_t *call, int i);
/* Argument i as an integer, or def when it is undefined or null. */
int fs__opt_int64(dv8_env_t *env, dv8_call_t *call, int i, int64_t def,
                  int64_t *out);
/* Argument i as a path (caller frees); UV_EINVAL for a NUL inside it. */
int fs__arg_path(dv8_env_t *env, dv8_call_t *call, int i, char **path);
/* Argument i as a descriptor; UV_EBADF for a negative one. */
int fs__arg_fd(dv8_env_t *env, dv8_call_t *call, int i, uv_file *fd);
/* Ends a synchronous request (frees what libuv kept) and returns result. */
int fs__done(uv_fs_t *req, int result);
/* stat, lstat or fstat (how: STAT_*) into *st; 0 or a code. */
int fs__stat(uv_loop_t *loop, int how, const char *path, uv_file fd,
             uv_stat_t *st);
/* mkdir; 0 or a code. */
int fs__mkdir(uv_loop_t *loop, const char *path, int mode);

/* fs_paths.c: the JS functions of the second half. */
dv8_value_t fs__js_stat(dv8_env_t *env, dv8_call_t *call);
dv8_value_t fs__js_exists(dv8_env_t *env, dv8_call_t *call);
dv8_value_t fs__js_readdir(dv8_env_t *env, dv8_call_t *call);
dv8_value_t fs__js_mkdir(dv8_env_t *env, dv8_call_t *call);
dv8_value_t fs__path_op(dv8_env_t *env, dv8_call_t *call);

#endif
