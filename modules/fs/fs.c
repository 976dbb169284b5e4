/*
 * fs: files and directories, synchronously: every call is a uv_fs_* request
 * made without a callback, which libuv runs on the calling thread.
 *
 * Expected failures (a missing file, a full disk) come back to JS as
 * negative libuv codes, never as exceptions; only wrong argument types and
 * offsets outside a buffer throw. read() and write() move bytes between a
 * descriptor and memory JS owns, so the hot path allocates nothing.
 * Descriptors are always opened with O_CLOEXEC so none leaks into children.
 *
 * Memory: readFile's bytes are malloc'd here and handed to V8 as an external
 * ArrayBuffer, freed (with free) when V8 releases it, on whatever thread V8
 * picks; everything else is freed before the call returns.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "dv8.h"
#include "fs.h"

/* Linux moves at most this much in one read or write; asking for more only
 * risks overflowing libuv's unsigned int buffer length. */
#define IO_MAX 0x7ffff000u

/* A file whose size is unknown (a pipe, or 0 in stat as in /proc) is read
 * into a block of this size first, doubled as needed. */
#define UNKNOWN_SIZE_START (64 * 1024)

/* ---- arguments ---- */

/* What a function returns after a failed step: nothing when an exception is
 * already pending (an argument check threw), else the code as a number. */
dv8_value_t fs__reply(dv8_env_t *env, int err) {
  if (err == DV8_ETYPE || err == DV8_EEXCEPTION)
    return NULL;
  return dv8->number(env, err);
}

int fs__is_absent(dv8_env_t *env, dv8_call_t *call, int i) {
  dv8_type_t t = dv8->type_of(env, dv8->arg(call, i));
  return t == DV8_TYPE_UNDEFINED || t == DV8_TYPE_NULL;
}

/* Argument i as an integer, or def when it is undefined or null. */
int fs__opt_int64(dv8_env_t *env, dv8_call_t *call, int i, int64_t def,
                  int64_t *out) {
  if (fs__is_absent(env, call, i)) {
    *out = def;
    return 0;
  }
  return dv8->arg_int64(env, call, i, out);
}

/* Argument i as a path; caller frees *path. A NUL inside the string would
 * silently cut the path short, so such a path fails with UV_EINVAL. */
int fs__arg_path(dv8_env_t *env, dv8_call_t *call, int i, char **path) {
  size_t len;
  *path = NULL;
  if (dv8->arg_string(env, call, i, path, &len))
    return DV8_EEXCEPTION;
  if (strlen(*path) != len) {
    free(*path);
    *path = NULL;
    return UV_EINVAL;
  }
  return 0;
}

/* Argument i as a descriptor. A failed open's code passed on as an fd is no
 * type error: the call fails with EBADF, as the syscall would. */
int fs__arg_fd(dv8_env_t *env, dv8_call_t *call, int i, uv_file *fd) {
  int64_t n;
  int err = dv8->arg_int64(env, call, i, &n);
  if (err)
    return err;
  *fd = n < 0 || n > INT_MAX ? -1 : (uv_file)n;
  return 0;
}

/* Argument i as bytes: a string's UTF-8 (copied into *owned, which the caller
 * frees) or the memory of an ArrayBuffer or view (borrowed). */
static int arg_bytes(dv8_env_t *env, dv8_call_t *call, int i, const char *fn,
                     char **owned, char **data, size_t *len) {
  dv8_value_t v = dv8->arg(call, i);
  *owned = NULL;
  switch (dv8->type_of(env, v)) {
  case DV8_TYPE_STRING:
    *data = NULL;
    if (dv8->arg_string(env, call, i, owned, len))
      return DV8_EEXCEPTION;
    *data = *owned;
    return 0;
  case DV8_TYPE_ARRAYBUFFER:
  case DV8_TYPE_TYPEDARRAY:
    return dv8->arg_buffer(env, call, i, (void **)data, len);
  default:
    dv8->throw_type_error(env,
                          "%s: argument %d must be a string, an ArrayBuffer "
                          "or a typed array",
                          fn, i + 1);
    return DV8_EEXCEPTION;
  }
}

/* Arguments i and i+1: offset (default 0) and length (default the rest) of a
 * range inside size bytes. A range outside is a programmer error. */
static int arg_range(dv8_env_t *env, dv8_call_t *call, int i, size_t size,
                     const char *fn, size_t *offset, size_t *length) {
  int64_t off, len;
  int err = fs__opt_int64(env, call, i, 0, &off);
  if (err)
    return err;
  if (off < 0 || (uint64_t)off > size)
    return throw_range_error(env,
                             "%s: offset %lld is outside the buffer (%zu "
                             "bytes)",
                             fn, (long long)off, size);
  err = fs__opt_int64(env, call, i + 1, (int64_t)(size - (size_t)off), &len);
  if (err)
    return err;
  if (len < 0 || (uint64_t)len > size - (size_t)off)
    return throw_range_error(env,
                             "%s: length %lld from offset %lld is "
                             "outside the buffer (%zu bytes)",
                             fn, (long long)len, (long long)off, size);
  *offset = (size_t)off;
  *length = (size_t)len;
  return 0;
}

/* ---- synchronous requests ---- */

/* Ends a synchronous request: frees what libuv kept in it (scandir's
 * entries, realpath's string) and passes its result on. */
int fs__done(uv_fs_t *req, int result) {
  uv_fs_req_cleanup(req);
  return result;
}

static int fs_open(uv_loop_t *loop, const char *path, int flags, int mode) {
  uv_fs_t req;
  return fs__done(&req,
                  uv_fs_open(loop, &req, path, flags | O_CLOEXEC, mode, NULL));
}

static int fs_close(uv_loop_t *loop, uv_file fd) {
  uv_fs_t req;
  return fs__done(&req, uv_fs_close(loop, &req, fd, NULL));
}

/* Bytes read (0 at EOF) or a code; pos < 0 reads at the current position. */
static ssize_t fs_read(uv_loop_t *loop, uv_file fd, char *data, size_t len,
                       int64_t pos) {
  uv_fs_t req;
  uv_buf_t buf = uv_buf_init(data, (unsigned)(len > IO_MAX ? IO_MAX : len));
  return fs__done(&req, uv_fs_read(loop, &req, fd, &buf, 1, pos, NULL));
}

/* Bytes written or a code; pos < 0 writes at the current position. */
static ssize_t fs_write(uv_loop_t *loop, uv_file fd, const char *data,
                        size_t len, int64_t pos) {
  uv_fs_t req;
  uv_buf_t buf =
      uv_buf_init((char *)data, (unsigned)(len > IO_MAX ? IO_MAX : len));
  return fs__done(&req, uv_fs_write(loop, &req, fd, &buf, 1, pos, NULL));
}

/* stat (follows symlinks), lstat (does not) or fstat, as how says. */
int fs__stat(uv_loop_t *loop, int how, const char *path, uv_file fd,
             uv_stat_t *st) {
  uv_fs_t req;
  int r = how == STAT_FD     ? uv_fs_fstat(loop, &req, fd, NULL)
          : how == STAT_LINK ? uv_fs_lstat(loop, &req, path, NULL)
                             : uv_fs_stat(loop, &req, path, NULL);
  if (r == 0)
    *st = req.statbuf;
  return fs__done(&req, r);
}

int fs__mkdir(uv_loop_t *loop, const char *path, int mode) {
  uv_fs_t req;
  return fs__done(&req, uv_fs_mkdir(loop, &req, path, mode, NULL));
}

/* ---- open, close, read, write ---- */

static const struct {
  const char *name;
  int flags;
} open_flags[] = {
    {"r", O_RDONLY},
    {"rs", O_RDONLY | O_SYNC},
    {"r+", O_RDWR},
    {"rs+", O_RDWR | O_SYNC},
    {"w", O_WRONLY | O_CREAT | O_TRUNC},
    {"wx", O_WRONLY | O_CREAT | O_TRUNC | O_EXCL},
    {"w+", O_RDWR | O_CREAT | O_TRUNC},
    {"wx+", O_RDWR | O_CREAT | O_TRUNC | O_EXCL},
    {"a", O_WRONLY | O_CREAT | O_APPEND},
    {"ax", O_WRONLY | O_CREAT | O_APPEND | O_EXCL},
    {"as", O_WRONLY | O_CREAT | O_APPEND | O_SYNC},
    {"a+", O_RDWR | O_CREAT | O_APPEND},
    {"ax+", O_RDWR | O_CREAT | O_APPEND | O_EXCL},
    {"as+", O_RDWR | O_CREAT | O_APPEND | O_SYNC},
};

/* Argument i as open(2) flags: a name from open_flags or a number. */
static int arg_flags(dv8_env_t *env, dv8_call_t *call, int i, int *flags) {
  dv8_value_t v = dv8->arg(call, i);
  dv8_type_t t = dv8->type_of(env, v);
  if (t == DV8_TYPE_UNDEFINED) {
    *flags = O_RDONLY;
    return 0;
  }
  if (t == DV8_TYPE_NUMBER) {
    int64_t n;
    int err = dv8->arg_int64(env, call, i, &n);
    if (err)
      return err;
    if (n < 0 || n > INT_MAX) {
      dv8->throw_type_error(env, "open: flags %lld are not open(2) flags",
                            (long long)n);
      return DV8_EEXCEPTION;
    }
    *flags = (int)n;
    return 0;
  }
  char name[8];
  size_t len = t == DV8_TYPE_STRING ? dv8->to_utf8(env, v, name, sizeof(name))
                                    : sizeof(name);
  /* strlen catches a NUL inside the string ('r\0x'). */
  if (len < sizeof(name) && strlen(name) == len) {
    for (size_t k = 0; k < sizeof(open_flags) / sizeof(open_flags[0]); k++) {
      if (strcmp(name, open_flags[k].name) == 0) {
        *flags = open_flags[k].flags;
        return 0;
      }
    }
  }
  dv8->throw_type_error(env, "open: flags must be a number or one of r, rs, "
                             "r+, rs+, w, wx, w+, wx+, a, ax, as, a+, ax+, "
                             "as+");
  return DV8_EEXCEPTION;
}

/* open(path, flags = 'r', mode = 0o666) -> fd or code */
static dv8_value_t js_open(dv8_env_t *env, dv8_call_t *call) {
  char *path;
  int flags;
  int64_t mode;
  int err = fs__arg_path(env, call, 0, &path);
  if (err)
    return fs__reply(env, err);
  err = arg_flags(env, call, 1, &flags);
  if (err == 0)
    err = fs__opt_int64(env, call, 2, 0666, &mode);
  if (err == 0)
    err = fs_open(dv8->loop(env), path, flags, (int)(mode & 07777));
  free(path);
  return fs__reply(env, err);
}

/* read(fd, buffer, offset = 0, length = rest, position = -1) -> bytes read
 * (0 at EOF) or code. position -1 (or null) reads at the current position. */
static dv8_value_t js_read(dv8_env_t *env, dv8_call_t *call) {
  uv_file fd;
  void *data;
  size_t size, offset, length;
  int64_t pos;
  int err = fs__arg_fd(env, call, 0, &fd);
  if (err == 0)
    err = dv8->arg_buffer(env, call, 1, &data, &size);
  if (err == 0)
    err = arg_range(env, call, 2, size, "read", &offset, &length);
  if (err == 0)
    err = fs__opt_int64(env, call, 4, -1, &pos);
  if (err)
    return fs__reply(env, err);
  ssize_t n = fs_read(dv8->loop(env), fd, (char *)data + offset, length, pos);
  return dv8->number(env, (double)n);
}

/* write(fd, bufferOrString, offset = 0, length = rest, position = -1) ->
 * bytes written or code. A string is written as UTF-8; offset and length
 * then count bytes of that encoding. */
static dv8_value_t js_write(dv8_env_t *env, dv8_call_t *call) {
  uv_file fd;
  char *owned = NULL, *data;
  size_t size, offset, length;
  int64_t pos;
  int err = fs__arg_fd(env, call, 0, &fd);
  if (err == 0)
    err = arg_bytes(env, call, 1, "write", &owned, &data, &size);
  if (err == 0)
    err = arg_range(env, call, 2, size, "write", &offset, &length);
  if (err == 0)
    err = fs__opt_int64(env, call, 4, -1, &pos);
  if (err) {
    free(owned);
    return fs__reply(env, err);
  }
  ssize_t n = fs_write(dv8->loop(env), fd, data + offset, length, pos);
  free(owned);
  return dv8->number(env, (double)n);
}

/* ---- whole files ---- */

static void free_block(void *data, void *hint) {
  (void)hint;
  free(data);
}

/* Reads fd from its position to EOF into one malloc'd block (*out, caller
 * frees). When stat knows the size the block is allocated once, at that
 * size; a file that reports 0 (/proc) or none (a pipe) grows by doubling. A
 * full block is probed with a small read before it grows, so a file of
 * exactly its stat size costs no copy. */
static int read_to_end(uv_loop_t *loop, uv_file fd, char **out, size_t *len) {
  uv_stat_t st;
  int err = fs__stat(loop, STAT_FD, NULL, fd, &st);
  if (err)
    return err;
  size_t cap = UNKNOWN_SIZE_START;
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    if (st.st_size > SIZE_MAX / 2)
      return UV_EFBIG;
    cap = (size_t)st.st_size;
  }
  char *data = malloc(cap);
  if (data == NULL)
    return UV_ENOMEM;
  size_t used = 0;
  for (;;) {
    char probe[4096];
    int full = used == cap;
    ssize_t n = full ? fs_read(loop, fd, probe, sizeof(probe), -1)
                     : fs_read(loop, fd, data + used, cap - used, -1);
    if (n < 0) {
      free(data);
      return (int)n;
    }
    if (n == 0)
      break;
    if (full) {
      size_t grown = cap > SIZE_MAX / 4 ? 0 : cap * 2;
      if (grown < UNKNOWN_SIZE_START)
        grown = UNKNOWN_SIZE_START;
      char *p = grown ? realloc(data, grown) : NULL;
      if (p == NULL) {
        free(data);
        return UV_ENOMEM;
      }
      data = p;
      cap = grown;
      memcpy(data + used, probe, (size_t)n);
    }
    used += (size_t)n;
  }
  /* Give back the slack of a grown block: JS may keep the bytes for long. */
  if (used > 0 && used < cap) {
    char *p = realloc(data, used);
    if (p != NULL)
      data = p;
  }
  *out = data;
  *len = used;
  return 0;
}

/* readFile(path, encoding) -> a string for 'utf8', else a Uint8Array; or a
 * code. */
static dv8_value_t js_read_file(dv8_env_t *env, dv8_call_t *call) {
  char *path, encoding[8] = "";
  int err = fs__arg_path(env, call, 0, &path);
  if (err)
    return fs__reply(env, err);
  if (!fs__is_absent(env, call, 1)) {
    dv8_value_t v = dv8->arg(call, 1);
    if (dv8->type_of(env, v) != DV8_TYPE_STRING ||
        dv8->to_utf8(env, v, encoding, sizeof(encoding)) >= sizeof(encoding) ||
        (strcmp(encoding, "utf8") != 0 && strcmp(encoding, "utf-8") != 0)) {
      free(path);
      return dv8->throw_type_error(env, "readFile: encoding must be 'utf8' "
                                        "or absent (bytes)");
    }
  }
  uv_loop_t *loop = dv8->loop(env);
  uv_file fd = fs_open(loop, path, O_RDONLY, 0);
  free(path);
  if (fd < 0)
    return dv8->number(env, fd);
  char *data = NULL;
  size_t len = 0;
  err = read_to_end(loop, fd, &data, &len);
  fs_close(loop, fd);
  if (err)
    return dv8->number(env, err);
  if (encoding[0] != '\0') {
    /* Larger than V8's longest string (about 512 MiB): no string. */
    dv8_value_t s = dv8->string(env, data, len);
    free(data);
    return s != NULL ? s : dv8->number(env, UV_EFBIG);
  }
  dv8_value_t ab;
  if (len == 0) {
    free(data);
    ab = dv8->arraybuffer(env, 0, NULL);
  } else {
    ab = dv8->arraybuffer_external(env, data, len, free_block, NULL);
    if (ab == NULL) {
      free(data);
      return dv8->number(env, UV_ENOMEM);
    }
  }
  return ab != NULL ? dv8->uint8array(env, ab, 0, len) : NULL;
}

/* writeFile(path, stringOrBuffer, mode = 0o666) and appendFile (the same
 * with O_APPEND in the call data) -> 0 or code. Short writes go on until
 * all of the data is written. */
static dv8_value_t js_write_file(dv8_env_t *env, dv8_call_t *call) {
  int flags = (int)(intptr_t)dv8->call_data(call);
  const char *fn = flags & O_APPEND ? "appendFile" : "writeFile";
  char *path, *owned = NULL, *data;
  size_t len;
  int64_t mode;
  int err = fs__arg_path(env, call, 0, &path);
  if (err)
    return fs__reply(env, err);
  err = arg_bytes(env, call, 1, fn, &owned, &data, &len);
  if (err == 0)
    err = fs__opt_int64(env, call, 2, 0666, &mode);
  uv_loop_t *loop = dv8->loop(env);
  uv_file fd = err ? err : fs_open(loop, path, flags, (int)(mode & 07777));
  free(path);
  if (fd < 0) {
    free(owned);
    return fs__reply(env, fd);
  }
  for (size_t written = 0; written < len && err == 0;) {
    ssize_t n = fs_write(loop, fd, data + written, len - written, -1);
    if (n < 0)
      err = (int)n;
    else
      written += (size_t)n;
  }
  free(owned);
  /* close reports what a delayed write-back failed with (NFS, quotas). */
  int close_err = fs_close(loop, fd);
  return dv8->number(env, err ? err : close_err);
}

enum { CLOSE, FSYNC, FTRUNCATE };

/* close(fd), fsync(fd), ftruncate(fd, length = 0) -> 0 or code */
static dv8_value_t fd_op(dv8_env_t *env, dv8_call_t *call) {
  int op = (int)(intptr_t)dv8->call_data(call);
  uv_file fd;
  int64_t len = 0;
  int err = fs__arg_fd(env, call, 0, &fd);
  if (err == 0 && op == FTRUNCATE)
    err = fs__opt_int64(env, call, 1, 0, &len);
  if (err)
    return fs__reply(env, err);
  uv_loop_t *loop = dv8->loop(env);
  uv_fs_t req;
  if (op == CLOSE)
    err = fs_close(loop, fd);
  else if (op == FSYNC)
    err = fs__done(&req, uv_fs_fsync(loop, &req, fd, NULL));
  else
    err = fs__done(&req, uv_fs_ftruncate(loop, &req, fd, len, NULL));
  return dv8->number(env, err);
}

/* ---- error codes ---- */

/* errname(code) -> 'ENOENT' ('UNKNOWN' for codes nobody knows);
 * strerror(code) -> 'no such file or directory' */
/* error(code, what?) -> an Error with .code (its name), .errno (code) and a
 * message naming what, made where every system error is; fs.js adds
 * .syscall and .path. */
static dv8_value_t js_error(dv8_env_t *env, dv8_call_t *call) {
  int64_t code;
  if (dv8->arg_integer(env, call, 0, INT32_MIN, -1, &code))
    return NULL;
  char *what = NULL;
  if (!fs__is_absent(env, call, 1) &&
      dv8->arg_string(env, call, 1, &what, NULL))
    return NULL;
  dv8_value_t err = dv8->error(env, (int)code, what);
  free(what);
  return err;
}

static dv8_value_t js_errname(dv8_env_t *env, dv8_call_t *call) {
  int64_t n;
  if (dv8->arg_int64(env, call, 0, &n))
    return NULL;
  int code = n < INT_MIN || n > INT_MAX ? INT_MIN : (int)n;
  const char *s =
      dv8->call_data(call) ? dv8->strerror(code) : dv8->err_name(code);
  return dv8->string(env, s, SIZE_MAX);
}

static const struct {
  const char *name;
  int value;
} constants[] = {
    {"ENOENT", UV_ENOENT},        {"EEXIST", UV_EEXIST},
    {"EACCES", UV_EACCES},        {"EPERM", UV_EPERM},
    {"EISDIR", UV_EISDIR},        {"ENOTDIR", UV_ENOTDIR},
    {"ENOTEMPTY", UV_ENOTEMPTY},  {"EBADF", UV_EBADF},
    {"EINVAL", UV_EINVAL},        {"EMFILE", UV_EMFILE},
    {"ENOSPC", UV_ENOSPC},        {"EXDEV", UV_EXDEV},
    {"ELOOP", UV_ELOOP},          {"ENAMETOOLONG", UV_ENAMETOOLONG},
    {"EFBIG", UV_EFBIG},          {"ENOMEM", UV_ENOMEM},
    {"O_RDONLY", O_RDONLY},       {"O_WRONLY", O_WRONLY},
    {"O_RDWR", O_RDWR},           {"O_CREAT", O_CREAT},
    {"O_EXCL", O_EXCL},           {"O_TRUNC", O_TRUNC},
    {"O_APPEND", O_APPEND},       {"O_SYNC", O_SYNC},
    {"O_DIRECTORY", O_DIRECTORY}, {"O_NOFOLLOW", O_NOFOLLOW},
    {"O_NONBLOCK", O_NONBLOCK},
};

static int fs_init(dv8_env_t *env, dv8_value_t exports) {
  static const struct {
    const char *name;
    dv8_function_cb fn;
    intptr_t data;
  } functions[] = {
      {"open", js_open, 0},
      {"close", fd_op, CLOSE},
      {"read", js_read, 0},
      {"write", js_write, 0},
      {"readFile", js_read_file, 0},
      {"writeFile", js_write_file, O_WRONLY | O_CREAT | O_TRUNC},
      {"appendFile", js_write_file, O_WRONLY | O_CREAT | O_APPEND},
      {"stat", fs__js_stat, STAT_PATH},
      {"lstat", fs__js_stat, STAT_LINK},
      {"fstat", fs__js_stat, STAT_FD},
      {"exists", fs__js_exists, 0},
      {"readdir", fs__js_readdir, 0},
      {"mkdir", fs__js_mkdir, 0},
      {"rmdir", fs__path_op, RMDIR},
      {"unlink", fs__path_op, UNLINK},
      {"rename", fs__path_op, RENAME},
      {"symlink", fs__path_op, SYMLINK},
      {"copyFile", fs__path_op, COPYFILE},
      {"chmod", fs__path_op, CHMOD},
      {"realpath", fs__path_op, REALPATH},
      {"readlink", fs__path_op, READLINK},
      {"fsync", fd_op, FSYNC},
      {"ftruncate", fd_op, FTRUNCATE},
      {"error", js_error, 0},
      {"errname", js_errname, 0},
      {"strerror", js_errname, 1},
  };
  for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
    int err = dv8->set_function(env, exports, functions[i].name,
                                functions[i].fn, (void *)functions[i].data);
    if (err)
      return err;
  }
  for (size_t i = 0; i < sizeof(constants) / sizeof(constants[0]); i++) {
    int err =
        dv8->set_number(env, exports, constants[i].name, constants[i].value);
    if (err)
      return err;
  }
  return 0;
}

DV8_MODULE(fs, fs_init);
DV8_MODULE_JS("modules/fs/fs.js");
