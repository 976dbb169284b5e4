/*
 * Native modules: NAME.so found on the search path, loaded once per process.
 *
 * Search order (DESIGN.md): each directory of $DV8_PATH (colon-separated),
 * then ../lib/dv8 and lib/dv8 next to the binary, then PREFIX/lib/dv8.
 * Modules are opened with RTLD_NOW | RTLD_LOCAL from a path that contains a
 * slash, never through the system library search, and only once the ABI
 * version read from the file (elf.c) is one this dv8 loads: dlopen runs a
 * module's constructors.
 *
 * DV8_PATH comes from the environment, so what it names is checked
 * (refuse_module): a module there that another user could have written is
 * refused, said so, and the search goes on. The directories next to the
 * binary and PREFIX/lib/dv8 are not: whoever can write there can replace
 * the dv8 binary (or the prefix it was built for) as well. Relative
 * entries are made absolute once, when dv8 starts.
 *
 * Threads: the registry is shared by every runtime thread and guarded by a
 * mutex. A loaded module stays loaded until dv8__native_unload_all().
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/host.h"

#ifndef DV8_PREFIX
#define DV8_PREFIX "/usr/local"
#endif

typedef struct loaded_module {
  struct loaded_module *next;
  char *name;
  void *dl;
  const dv8_module_t *module;
  const char *js; /* its JS layer (DV8_MODULE_JS), or NULL */
} loaded_module;

extern const dv8_api_t dv8__api_table; /* contexts/api.cc */

static uv_mutex_t registry_lock;
static uv_once_t registry_once = UV_ONCE_INIT;
static loaded_module *registry;
static char exe_dir[PATH_MAX];

static void registry_init(void) { CHECK(uv_mutex_init(&registry_lock) == 0); }

void dv8__native_set_exe_dir(const char *dir) {
  snprintf(exe_dir, sizeof(exe_dir), "%s", dir);
}

/*
 * A relative DV8_PATH entry would be resolved against whatever the working
 * directory is when a module is first imported (a native module may
 * chdir), and a process dv8 starts in another directory (a helper with
 * options.cwd, a child dv8) would search elsewhere. Each is made absolute
 * here, once, against the directory dv8 started in, and DV8_PATH is set
 * again so that the processes it starts, an upgrade's new process among
 * them, search the same directories. Empty entries go.
 */
void dv8__native_path_absolute(void) {
  const char *env = getenv("DV8_PATH");
  if (env == NULL)
    return;
  char cwd[PATH_MAX];
  int have_cwd = getcwd(cwd, sizeof(cwd)) != NULL;
  int cwd_errno = errno;
  if (!have_cwd)
    cwd[0] = '\0';
  size_t entries = 1;
  for (const char *p = env; *p; p++)
    entries += *p == ':';
  size_t cap = strlen(env) + entries * (strlen(cwd) + 2) + 1;
  char *out = malloc(cap);
  if (out == NULL)
    return; /* left as it is: find_module refuses relative entries */
  out[0] = '\0';
  for (const char *p = env; *p;) {
    const char *colon = strchr(p, ':');
    size_t len = colon ? (size_t)(colon - p) : strlen(p);
    size_t used = strlen(out);
    const char *sep = used ? ":" : "";
    if (len == 0) {
      /* skipped */
    } else if (p[0] == '/') {
      snprintf(out + used, cap - used, "%s%.*s", sep, (int)len, p);
    } else if (!have_cwd) {
      fprintf(stderr,
              "dv8: DV8_PATH: ignoring the relative entry '%.*s': the "
              "working directory is unknown (%s)\n",
              (int)len, p, strerror(cwd_errno));
    } else if (len == 1 && p[0] == '.') {
      snprintf(out + used, cap - used, "%s%s", sep, cwd);
    } else {
      int dot = len > 2 && p[0] == '.' && p[1] == '/';
      snprintf(out + used, cap - used, "%s%s/%.*s", sep,
               strcmp(cwd, "/") == 0 ? "" : cwd, (int)(len - 2 * dot),
               p + 2 * dot);
    }
    p += len + (colon ? 1 : 0);
  }
  setenv("DV8_PATH", out, 1);
  free(out);
}

/* A module name is a plain word: no path tricks reach the file system. */
static int valid_name(const char *name) {
  if (name[0] == '\0' || strlen(name) > 64)
    return 0;
  for (const char *p = name; *p; p++) {
    char c = *p;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

/* What a search went through, for the messages: every directory looked in,
 * and the modules refused on the way (each path and why). */
typedef struct search {
  char path[PATH_MAX]; /* the module found: its real path (DV8_PATH) */
  char searched[4 * PATH_MAX];
  char refused[2 * PATH_MAX];
} search;

/* Appends text to list, separated by sep (cut short, never overflowing). */
static void append(char *list, size_t cap, const char *sep, const char *text) {
  size_t len = strlen(list);
  snprintf(list + len, cap - len, "%s%s", len ? sep : "", text);
}

/* Who besides its owner may write to a file of this mode. */
static const char *writers(mode_t mode) {
  if ((mode & S_IWGRP) && (mode & S_IWOTH))
    return "its group and everyone";
  return mode & S_IWOTH ? "everyone" : "its group";
}

/* Whether one file on the way to a module is as trusted as the user
 * running dv8: owned by that user or root, and writable by nobody else.
 * what: "file" or "directory"; sticky_ok: a directory above the module's
 * own, which others may write to if it is sticky (they cannot rename or
 * remove what they do not own there: /tmp). 0, or 1 with why set. */
static int untrusted(const char *path, const char *what, int sticky_ok,
                     char *why, size_t whylen) {
  struct stat st;
  if (stat(path, &st) != 0) {
    snprintf(why, whylen, "cannot stat %s: %s", path, strerror(errno));
    return 1;
  }
  uid_t me = geteuid();
  if (st.st_uid != me && st.st_uid != 0) {
    snprintf(why, whylen,
             "the %s %s is owned by uid %u, neither this process's user "
             "(uid %u) nor root",
             what, path, (unsigned)st.st_uid, (unsigned)me);
    return 1;
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
      !(sticky_ok && (st.st_mode & S_ISVTX))) {
    snprintf(why, whylen, "the %s %s is writable by %s (mode %04o)", what, path,
             writers(st.st_mode), (unsigned)(st.st_mode & 07777));
    return 1;
  }
  return 0;
}

/*
 * Whether a module found through DV8_PATH may be loaded. As ssh does for
 * its keys: the file (a regular file), its directory and every directory
 * above it must belong to the user running dv8 or to root, and none may be
 * writable by anyone else, or another user could put code of theirs into
 * this process (even a root one) by replacing the module or shadowing a
 * standard one. A directory above the module's own may be writable by
 * others if it is sticky (as /tmp is). Symbolic links are resolved first
 * (real: the path without them), and real is what gets loaded: the file
 * checked is the file opened. 0, or 1 with why set.
 */
static int refuse_module(const char *path, char *real, char *why,
                         size_t whylen) {
  if (realpath(path, real) == NULL) {
    snprintf(why, whylen, "cannot resolve it: %s", strerror(errno));
    return 1;
  }
  struct stat st;
  if (stat(real, &st) == 0 && !S_ISREG(st.st_mode)) {
    snprintf(why, whylen, "%s is not a regular file", real);
    return 1;
  }
  if (untrusted(real, "file", 0, why, whylen))
    return 1;
  char dir[PATH_MAX];
  snprintf(dir, sizeof(dir), "%s", real);
  for (int own = 1;; own = 0) {
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
      return 0;
    if (slash == dir)
      slash[1] = '\0'; /* "/" */
    else
      *slash = '\0';
    if (untrusted(dir, "directory", !own, why, whylen))
      return 1;
    if (strcmp(dir, "/") == 0)
      return 0;
  }
}

/* Whether NAME.so is in dir: 1 with its path (the real one for DV8_PATH,
 * whose modules are checked: a refused one is noted, and 0 returned). */
static int try_dir(const char *dir, const char *name, int checked, search *s) {
  if (dir[0] == '\0')
    return 0;
  append(s->searched, sizeof(s->searched), ", ", dir);
  char path[PATH_MAX];
  int n = snprintf(path, sizeof(path), "%s/%s.so", dir, name);
  if (n < 0 || (size_t)n >= sizeof(path) || access(path, F_OK) != 0)
    return 0;
  if (!checked) {
    snprintf(s->path, sizeof(s->path), "%s", path);
    return 1;
  }
  char why[PATH_MAX + 128], note[sizeof(why) + PATH_MAX + 16];
  if (refuse_module(path, s->path, why, sizeof(why))) {
    snprintf(note, sizeof(note), "refused %s: %s", path, why);
    append(s->refused, sizeof(s->refused), "; ", note);
    return 0;
  }
  return 1;
}

/* Finds NAME.so: 1 with its path in s->path, or 0; what was searched and
 * refused on the way in s either way. */
static int find_module(const char *name, search *s) {
  s->searched[0] = s->refused[0] = '\0';
  const char *env = getenv("DV8_PATH");
  if (env != NULL) {
    char dir[PATH_MAX];
    const char *p = env;
    while (*p) {
      const char *colon = strchr(p, ':');
      size_t len = colon ? (size_t)(colon - p) : strlen(p);
      if (len > 0 && len < sizeof(dir)) {
        memcpy(dir, p, len);
        dir[len] = '\0';
        if (dir[0] != '/') {
          char note[PATH_MAX + 128];
          snprintf(note, sizeof(note),
                   "refused %s: a relative DV8_PATH entry (dv8 makes them "
                   "absolute when it starts: this one came later)",
                   dir);
          append(s->refused, sizeof(s->refused), "; ", note);
        } else if (try_dir(dir, name, 1, s)) {
          return 1;
        }
      }
      p += len + (colon ? 1 : 0);
    }
  }
  if (exe_dir[0]) {
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%s/../lib/dv8", exe_dir);
    if (try_dir(dir, name, 0, s))
      return 1;
    snprintf(dir, sizeof(dir), "%s/lib/dv8", exe_dir);
    if (try_dir(dir, name, 0, s))
      return 1;
  }
  return try_dir(DV8_PREFIX "/lib/dv8", name, 0, s);
}

/* The ABI a module was built for, read from its file before it is opened
 * (host/elf.c: dlopen runs its constructors); 0, or a code with err set. */
static int file_abi(const char *name, const char *path, uint32_t *abi,
                    char *err, size_t errlen) {
  const char *why = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  int rc = fd < 0 ? DV8_ENOMODULE : dv8__elf_module_abi(fd, abi, &why);
  if (fd < 0)
    why = strerror(errno);
  else
    close(fd);
  if (rc == DV8_ENOSYM)
    snprintf(err, errlen,
             "native module '%s' (%s) does not export the symbol dv8_module "
             "(was it built with DV8_MODULE?)",
             name, path);
  else if (rc != 0)
    snprintf(err, errlen, "cannot load native module '%s' (%s): %s", name, path,
             why);
  return rc;
}

static int abi_refused(const char *name, const char *path, uint32_t abi,
                       char *err, size_t errlen) {
  if (abi >= DV8_ABI_MIN && abi <= DV8_ABI_VERSION)
    return 0;
  snprintf(err, errlen,
           "native module '%s' (%s) was built for dv8 module ABI %u, but "
           "this dv8 loads ABI %d to %d: rebuild it against this dv8's "
           "dv8.h",
           name, path, abi, DV8_ABI_MIN, DV8_ABI_VERSION);
  return DV8_EABI;
}

static int open_module(const char *name, const char *path,
                       const dv8_module_t **out, void **dl, char *err,
                       size_t errlen) {
  uint32_t abi;
  int rc = file_abi(name, path, &abi, err, errlen);
  if (rc == 0)
    rc = abi_refused(name, path, abi, err, errlen);
  if (rc != 0)
    return rc;
  *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (*dl == NULL) {
    snprintf(err, errlen, "cannot load native module '%s': %s", name,
             dlerror());
    return DV8_ENOMODULE;
  }
  const dv8_module_t *m = dlsym(*dl, "dv8_module");
  if (m == NULL) {
    snprintf(err, errlen,
             "native module '%s' (%s) does not export the symbol dv8_module "
             "(was it built with DV8_MODULE?)",
             name, path);
    dlclose(*dl);
    return DV8_ENOSYM;
  }
  /* What the loader made of it must be what the file said (a relocation
   * over the version would be no module dv8's header built). */
  if (m->abi_version != abi) {
    snprintf(err, errlen,
             "native module '%s' (%s): its file says ABI %u, but once loaded "
             "its dv8_module says %u",
             name, path, abi, m->abi_version);
    dlclose(*dl);
    return DV8_EABI;
  }
  if (m->init == NULL || m->api == NULL) {
    snprintf(err, errlen, "native module '%s' (%s) has no init function", name,
             path);
    dlclose(*dl);
    return DV8_ENOSYM;
  }
  *m->api = &dv8__api_table;
  *out = m;
  return 0;
}

int dv8__native_load(const char *name, const dv8_module_t **out, char *err,
                     size_t errlen) {
  if (!valid_name(name)) {
    snprintf(err, errlen, "invalid native module name '%s'", name);
    return DV8_ENOMODULE;
  }
  uv_once(&registry_once, registry_init);
  uv_mutex_lock(&registry_lock);
  for (loaded_module *lm = registry; lm != NULL; lm = lm->next) {
    if (strcmp(lm->name, name) == 0) {
      *out = lm->module;
      uv_mutex_unlock(&registry_lock);
      return 0;
    }
  }
  search *s = malloc(sizeof(*s));
  int rc;
  if (s == NULL) {
    snprintf(err, errlen, "out of memory loading '%s'", name);
    rc = UV_ENOMEM;
  } else if (!find_module(name, s)) {
    snprintf(err, errlen, "cannot find module '%s' (searched %s%s%s)", name,
             s->searched, s->refused[0] ? "; " : "", s->refused);
    rc = DV8_ENOMODULE;
  } else {
    void *dl;
    if (s->refused[0])
      fprintf(stderr, "dv8: native module '%s': %s; loading %s instead\n", name,
              s->refused, s->path);
    rc = open_module(name, s->path, out, &dl, err, errlen);
    if (rc == 0) {
      loaded_module *lm = calloc(1, sizeof(*lm));
      char *copy = strdup(name);
      if (lm == NULL || copy == NULL) {
        free(lm);
        free(copy);
        dlclose(dl);
        snprintf(err, errlen, "out of memory loading '%s'", name);
        rc = UV_ENOMEM;
      } else {
        lm->name = copy;
        lm->dl = dl;
        lm->module = *out;
        lm->js = dlsym(dl, "dv8_module_js");
        lm->next = registry;
        registry = lm;
      }
    }
  }
  uv_mutex_unlock(&registry_lock);
  free(s);
  return rc;
}

const char *dv8__native_js(const char *name) {
  const char *js = NULL;
  uv_once(&registry_once, registry_init);
  uv_mutex_lock(&registry_lock);
  for (loaded_module *lm = registry; lm != NULL; lm = lm->next)
    if (strcmp(lm->name, name) == 0)
      js = lm->js;
  uv_mutex_unlock(&registry_lock);
  return js;
}

/* The handle types a module lists (ABI 3 on; NULL before). */
static const dv8_handle_type_t *const *types_of(const dv8_module_t *m) {
  return m->abi_version >= 3 ? m->types : NULL;
}

const char *dv8__native_module_of(const dv8_handle_type_t *type) {
  uv_once(&registry_once, registry_init);
  uv_mutex_lock(&registry_lock);
  const char *found = NULL;
  for (loaded_module *lm = registry; lm != NULL && found == NULL;
       lm = lm->next) {
    const dv8_handle_type_t *const *types = types_of(lm->module);
    for (size_t i = 0; types != NULL && types[i] != NULL; i++)
      if (types[i] == type)
        found = lm->name;
  }
  uv_mutex_unlock(&registry_lock);
  return found;
}

const dv8_handle_type_t *dv8__native_type(const char *module,
                                          const char *type) {
  const dv8_module_t *m;
  char err[256];
  if (dv8__native_load(module, &m, err, sizeof(err)) != 0)
    return NULL;
  const dv8_handle_type_t *const *types = types_of(m);
  for (size_t i = 0; types != NULL && types[i] != NULL; i++)
    if (strcmp(types[i]->name, type) == 0)
      return types[i];
  return NULL;
}

void dv8__native_unload_all(void) {
  uv_once(&registry_once, registry_init);
  uv_mutex_lock(&registry_lock);
  while (registry != NULL) {
    loaded_module *lm = registry;
    registry = lm->next;
    if (lm->module->abi_version >= 3 && lm->module->unload != NULL)
      lm->module->unload();
      /* Under AddressSanitizer, keep modules mapped so leak reports can still
       * name their frames. */
#ifndef DV8_KEEP_MODULES_MAPPED
    dlclose(lm->dl);
#endif
    free(lm->name);
    free(lm);
  }
  uv_mutex_unlock(&registry_lock);
}
