/*
 * fs, second half: stat, directories and operations on names (rename,
 * unlink, symlink, realpath...). Like fs.c, every call is a synchronous
 * uv_fs_* request; failures come back as negative codes.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"

/* ---- stat ---- */

/* The names stat and readdir give the kinds of file, by S_IFMT >> 12. */
static const char *const file_types[16] = {
    [S_IFREG >> 12] = "file",    [S_IFDIR >> 12] = "directory",
    [S_IFLNK >> 12] = "symlink", [S_IFIFO >> 12] = "fifo",
    [S_IFSOCK >> 12] = "socket", [S_IFCHR >> 12] = "char",
    [S_IFBLK >> 12] = "block",
};

static const char *mode_type(uint64_t mode) {
  const char *type = file_types[(mode & S_IFMT) >> 12];
  return type != NULL ? type : "unknown";
}

static double ms(uv_timespec_t t) {
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static dv8_value_t stat_object(dv8_env_t *env, const uv_stat_t *st) {
  dv8_value_t o = dv8->object(env);
  dv8->set_number(env, o, "dev", (double)st->st_dev);
  dv8->set_number(env, o, "ino", (double)st->st_ino);
  dv8->set_number(env, o, "mode", (double)st->st_mode);
  dv8->set_number(env, o, "nlink", (double)st->st_nlink);
  dv8->set_number(env, o, "uid", (double)st->st_uid);
  dv8->set_number(env, o, "gid", (double)st->st_gid);
  dv8->set_number(env, o, "rdev", (double)st->st_rdev);
  dv8->set_number(env, o, "size", (double)st->st_size);
  dv8->set_number(env, o, "blksize", (double)st->st_blksize);
  dv8->set_number(env, o, "blocks", (double)st->st_blocks);
  dv8->set_number(env, o, "atimeMs", ms(st->st_atim));
  dv8->set_number(env, o, "mtimeMs", ms(st->st_mtim));
  dv8->set_number(env, o, "ctimeMs", ms(st->st_ctim));
  dv8->set_number(env, o, "birthtimeMs", ms(st->st_birthtim));
  const char *type = mode_type(st->st_mode);
  dv8->set_string(env, o, "type", type);
  dv8->set(env, o, "isFile", dv8->boolean(env, S_ISREG(st->st_mode)));
  dv8->set(env, o, "isDirectory", dv8->boolean(env, S_ISDIR(st->st_mode)));
  dv8->set(env, o, "isSymbolicLink", dv8->boolean(env, S_ISLNK(st->st_mode)));
  return o;
}

/* stat(path) / lstat(path) / fstat(fd) -> stats object or code */
dv8_value_t fs__js_stat(dv8_env_t *env, dv8_call_t *call) {
  int how = (int)(intptr_t)dv8->call_data(call);
  char *path = NULL;
  uv_file fd = -1;
  uv_stat_t st;
  int err = how == STAT_FD ? fs__arg_fd(env, call, 0, &fd)
                           : fs__arg_path(env, call, 0, &path);
  if (err == 0)
    err = fs__stat(dv8->loop(env), how, path, fd, &st);
  free(path);
  return err ? fs__reply(env, err) : stat_object(env, &st);
}

/* exists(path) -> true when stat succeeds (a dangling symlink: false) */
dv8_value_t fs__js_exists(dv8_env_t *env, dv8_call_t *call) {
  char *path;
  uv_stat_t st;
  int err = fs__arg_path(env, call, 0, &path);
  if (err == DV8_EEXCEPTION)
    return NULL;
  if (err == 0)
    err = fs__stat(dv8->loop(env), STAT_PATH, path, -1, &st);
  free(path);
  return dv8->boolean(env, err == 0);
}

/* ---- directories ---- */

static const char *dirent_type(uv_dirent_type_t t) {
  static const int modes[] = {
      [UV_DIRENT_FILE] = S_IFREG,    [UV_DIRENT_DIR] = S_IFDIR,
      [UV_DIRENT_LINK] = S_IFLNK,    [UV_DIRENT_FIFO] = S_IFIFO,
      [UV_DIRENT_SOCKET] = S_IFSOCK, [UV_DIRENT_CHAR] = S_IFCHR,
      [UV_DIRENT_BLOCK] = S_IFBLK,
  };
  return (size_t)t < sizeof(modes) / sizeof(modes[0]) ? mode_type(modes[t])
                                                      : "unknown";
}

/* Some filesystems leave d_type unset; lstat then tells the type. */
static const char *lstat_type(uv_loop_t *loop, const char *dir,
                              const char *name) {
  size_t dlen = strlen(dir), nlen = strlen(name);
  char *path = malloc(dlen + nlen + 2);
  uv_stat_t st;
  const char *type = "unknown";
  if (path == NULL)
    return type;
  memcpy(path, dir, dlen);
  path[dlen] = '/';
  memcpy(path + dlen + 1, name, nlen + 1);
  if (fs__stat(loop, STAT_LINK, path, -1, &st) == 0)
    type = mode_type(st.st_mode);
  free(path);
  return type;
}

/* readdir(path, { withFileTypes }) -> names (sorted, without . and ..), or
 * [{ name, type }], or a code */
dv8_value_t fs__js_readdir(dv8_env_t *env, dv8_call_t *call) {
  char *path;
  int with_types = 0;
  int err = fs__arg_path(env, call, 0, &path);
  if (err)
    return fs__reply(env, err);
  if (!fs__is_absent(env, call, 1)) {
    dv8_value_t opts, v;
    if (dv8->arg_object(env, call, 1, &opts) ||
        (v = dv8->get(env, opts, "withFileTypes")) == NULL) {
      free(path);
      return NULL;
    }
    with_types = dv8->to_bool(env, v);
  }
  uv_loop_t *loop = dv8->loop(env);
  uv_fs_t req;
  int n = uv_fs_scandir(loop, &req, path, 0, NULL);
  dv8_value_t list = n < 0 ? dv8->number(env, n) : dv8->array(env, n);
  uv_dirent_t ent;
  for (uint32_t i = 0; n >= 0 && uv_fs_scandir_next(&req, &ent) == 0; i++) {
    dv8_value_t name = dv8->string(env, ent.name, SIZE_MAX);
    if (with_types) {
      dv8_value_t o = dv8->object(env);
      dv8->set(env, o, "name", name);
      dv8->set_string(env, o, "type",
                      ent.type == UV_DIRENT_UNKNOWN
                          ? lstat_type(loop, path, ent.name)
                          : dirent_type(ent.type));
      name = o;
    }
    dv8->set_index(env, list, i, name);
  }
  uv_fs_req_cleanup(&req);
  free(path);
  return list;
}

/* Makes path and any missing parents, like mkdir -p; an existing directory
 * is no error. path is restored before returning. */
static int mkdir_p(uv_loop_t *loop, char *path, int mode) {
  int err = fs__mkdir(loop, path, mode);
  if (err == UV_ENOENT) {
    /* Cut path after its parent: skip trailing slashes, the last name, then
     * the slashes before it. No parent to make at "/" or for a bare name. */
    size_t end = strlen(path);
    while (end > 1 && path[end - 1] == '/')
      end--;
    while (end > 0 && path[end - 1] != '/')
      end--;
    while (end > 1 && path[end - 1] == '/')
      end--;
    if (end == 0 || (end == 1 && path[0] == '/'))
      return err;
    char saved = path[end];
    path[end] = '\0';
    err = mkdir_p(loop, path, mode);
    path[end] = saved;
    if (err)
      return err;
    err = fs__mkdir(loop, path, mode);
  }
  if (err == UV_EEXIST) {
    uv_stat_t st;
    if (fs__stat(loop, STAT_PATH, path, -1, &st) == 0 && S_ISDIR(st.st_mode))
      return 0;
  }
  return err;
}

/* mkdir(path, mode = 0o777, recursive = false) -> 0 or code */
dv8_value_t fs__js_mkdir(dv8_env_t *env, dv8_call_t *call) {
  char *path;
  int64_t mode;
  int err = fs__arg_path(env, call, 0, &path);
  if (err)
    return fs__reply(env, err);
  err = fs__opt_int64(env, call, 1, 0777, &mode);
  if (err == 0) {
    uv_loop_t *loop = dv8->loop(env);
    int m = (int)(mode & 07777);
    err = dv8->to_bool(env, dv8->arg(call, 2)) ? mkdir_p(loop, path, m)
                                               : fs__mkdir(loop, path, m);
  }
  free(path);
  return fs__reply(env, err);
}

/* ---- names and descriptors ---- */

/* The calls on a path (and a second path, or a mode): rmdir(path),
 * unlink(path), rename(from, to), symlink(target, path), copyFile(from, to),
 * chmod(path, mode) -> 0 or code; realpath(path), readlink(path) -> string
 * or code. */
dv8_value_t fs__path_op(dv8_env_t *env, dv8_call_t *call) {
  int op = (int)(intptr_t)dv8->call_data(call);
  char *a = NULL, *b = NULL;
  int64_t mode = 0;
  int err = fs__arg_path(env, call, 0, &a);
  if (err == 0 && (op == RENAME || op == SYMLINK || op == COPYFILE))
    err = fs__arg_path(env, call, 1, &b);
  if (err == 0 && op == CHMOD)
    err = dv8->arg_int64(env, call, 1, &mode);
  if (err) {
    free(a);
    return fs__reply(env, err);
  }
  uv_loop_t *loop = dv8->loop(env);
  uv_fs_t req;
  switch (op) {
  case RMDIR:
    err = uv_fs_rmdir(loop, &req, a, NULL);
    break;
  case UNLINK:
    err = uv_fs_unlink(loop, &req, a, NULL);
    break;
  case RENAME:
    err = uv_fs_rename(loop, &req, a, b, NULL);
    break;
  case SYMLINK:
    err = uv_fs_symlink(loop, &req, a, b, 0, NULL);
    break;
  case COPYFILE:
    err = uv_fs_copyfile(loop, &req, a, b, 0, NULL);
    break;
  case CHMOD:
    err = uv_fs_chmod(loop, &req, a, (int)(mode & 07777), NULL);
    break;
  case REALPATH:
    err = uv_fs_realpath(loop, &req, a, NULL);
    break;
  default:
    err = uv_fs_readlink(loop, &req, a, NULL);
    break;
  }
  dv8_value_t out = err == 0 && (op == REALPATH || op == READLINK)
                        ? dv8->string(env, req.ptr, SIZE_MAX)
                        : dv8->number(env, err);
  uv_fs_req_cleanup(&req);
  free(a);
  free(b);
  return out;
}
