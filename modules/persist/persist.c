/*
 * persist: the store under the persistent root (persist.js, docs/persist.md):
 * one SQLite database per root, DIR/NAME.db, in WAL mode, each commit one
 * transaction of the turn's changed top-level keys (key -> serdes bytes).
 *
 * Why SQLite and not LMDB (both Debian's; docs/persist.md has the numbers):
 * with commits synced in groups, LMDB without its sync may be corrupted by
 * a power failure (pages of transactions not yet synced are reused), while
 * SQLite's WAL with synchronous=NORMAL only loses the last commits; and a
 * damaged or foreign file is an error from SQLite, where LMDB trusts the
 * pages it maps.
 *
 * One process at a time: a lock file DIR/NAME.lock held with flock() (the
 * kernel lets it go when the process dies, even by kill -9) and holding the
 * holder's pid for the error message; SQLite's EXCLUSIVE locking mode on
 * top keeps its WAL index in private memory. At an upgrade the old process
 * commits and closes its stores once its unload() has run
 * (DV8_TURN_LEAVE in persist.js), before the new one's load() runs.
 *
 * Durability (DV8_PERSIST_SYNC, set by --persist-sync): "turn", each commit
 * synced before the turn's end returns (synchronous=FULL); or N, a number
 * of milliseconds: commits are written at once (a crash of the process
 * loses nothing) and the WAL is synced at most N ms after a commit, on
 * libuv's thread pool (a power failure loses at most those N ms).
 *
 * Each runtime (thread) has its own stores (runtime_data); a name is open
 * in one runtime of the process at a time, so no two threads share a
 * database and no commit waits for another thread's.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "dv8.h"

#define MAX_STORES 16
#define NAME_MAX_LEN 64
/* The file's application_id: "dv8p". A SQLite file of another program
 * is refused instead of written to. */
#define APP_ID 0x64763870
#define FORMAT 1

enum {
  ST_BEGIN,
  ST_COMMIT,
  ST_ROLLBACK,
  ST_PUT,
  ST_DEL,
  ST_GET,
  ST_ALL,
  ST_JOURNAL_ADD,
  ST_JOURNAL_ALL,
  ST_COUNT
};

static const char *const statements[ST_COUNT] = {
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "INSERT INTO root (k, v) VALUES (?1, ?2) "
    "ON CONFLICT (k) DO UPDATE SET v = excluded.v",
    "DELETE FROM root WHERE k = ?1",
    "SELECT v FROM root WHERE k = ?1",
    "SELECT k, v FROM root ORDER BY rowid",
    "INSERT INTO journal (code) VALUES (?1)",
    "SELECT code FROM journal ORDER BY n",
};

typedef struct store_s store_t;
typedef struct runtime_s runtime_t;

struct store_s {
  char name[NAME_MAX_LEN + 1];
  char *path;  /* DIR/NAME.db */
  sqlite3 *db; /* NULL: the slot is free */
  sqlite3_stmt *st[ST_COUNT];
  int lock_fd; /* DIR/NAME.lock, flock()ed */
  int in_tx;   /* BEGIN done, COMMIT not yet */
  /* Grouped syncs: the WAL's own descriptor (SQLite's is not ours to
   * share), synced on the thread pool. */
  int wal_fd;
  uv_timer_t timer;
  uv_work_t work;
  int timer_open, syncing, dirty, closing;
  int sync_err;
  runtime_t *rt;
};

struct runtime_s {
  uv_loop_t *loop;
  store_t stores[MAX_STORES];
  uint64_t *commits, *failures;
};

static int group_ms = -1; /* -1: each commit synced */
static uv_once_t once = UV_ONCE_INIT;
/* Names open in some runtime of this process: so that a second thread
 * gets "open in another thread", not the lock file's "another process". */
static uv_mutex_t names_lock;
static char open_names[MAX_STORES * 8][NAME_MAX_LEN + 1];

static void init_once(void) {
  uv_mutex_init(&names_lock);
  const char *s = getenv("DV8_PERSIST_SYNC");
  if (s != NULL && strcmp(s, "turn") != 0) {
    char *end;
    long ms = strtol(s, &end, 10);
    if (*end == '\0' && ms > 0 && ms <= 60000)
      group_ms = (int)ms;
  }
}

/* The process-wide claim on a name; 0 or UV_EBUSY. */
static int claim_name(const char *name, int take) {
  int err = take ? UV_EBUSY : 0;
  uv_mutex_lock(&names_lock);
  size_t n = sizeof(open_names) / sizeof(open_names[0]);
  if (take) {
    int found = 0;
    for (size_t i = 0; i < n; i++)
      if (strcmp(open_names[i], name) == 0)
        found = 1;
    for (size_t i = 0; i < n && !found && err; i++)
      if (open_names[i][0] == '\0') {
        snprintf(open_names[i], sizeof(open_names[i]), "%s", name);
        err = 0;
      }
  } else {
    for (size_t i = 0; i < n; i++)
      if (strcmp(open_names[i], name) == 0)
        open_names[i][0] = '\0';
  }
  uv_mutex_unlock(&names_lock);
  return err;
}

/* A SQLite result as a libuv code. */
static int code_of(sqlite3 *db, int rc) {
  int errno_ = db != NULL ? sqlite3_system_errno(db) : 0;
  switch (rc & 0xff) {
  case SQLITE_FULL:
    return UV_ENOSPC;
  case SQLITE_NOMEM:
    return UV_ENOMEM;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return UV_EBUSY;
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
  case SQLITE_FORMAT:
    return UV_EFTYPE;
  case SQLITE_READONLY:
    return UV_EROFS;
  case SQLITE_PERM:
    return UV_EACCES;
  case SQLITE_IOERR:
  case SQLITE_CANTOPEN:
    return errno_ == ENOSPC ? UV_ENOSPC : errno_ > 0 ? -errno_ : UV_EIO;
  default:
    return UV_EIO;
  }
}

static runtime_t *runtime_of(dv8_env_t *env);

static store_t *arg_store(dv8_env_t *env, dv8_call_t *call) {
  int64_t id;
  if (dv8->arg_integer(env, call, 0, 1, MAX_STORES, &id))
    return NULL;
  runtime_t *r = runtime_of(env);
  store_t *s = r != NULL ? &r->stores[id - 1] : NULL;
  if (s == NULL || s->db == NULL) {
    dv8->throw_error(env, DV8_ECLOSED, "persist: the store is closed");
    return NULL;
  }
  return s;
}

/* Throws an Error for a failed step of s: the code and SQLite's words. */
static dv8_value_t fail(dv8_env_t *env, store_t *s, int rc, const char *step) {
  char what[1024];
  snprintf(what, sizeof(what), "persist: %s of root '%s' (%s): %s", step,
           s->name, s->path, s->db != NULL ? sqlite3_errmsg(s->db) : "?");
  return dv8->throw_error(env, code_of(s->db, rc), what);
}

/* ---- grouped syncs ---- */

static void sync_work(uv_work_t *w) {
  store_t *s = w->data;
  s->sync_err = fdatasync(s->wal_fd) == 0 ? 0 : -errno;
}

static void on_timer(uv_timer_t *t);

/* The slot may take another store once its timer has closed. */
static void on_timer_closed(uv_handle_t *h) {
  store_t *s = h->data;
  s->closing = 0;
}

static void sync_done(uv_work_t *w, int status) {
  (void)status;
  store_t *s = w->data;
  s->syncing = 0;
  if (s->closing) { /* store_close left these to this */
    close(s->wal_fd);
    s->wal_fd = -1;
    uv_close((uv_handle_t *)&s->timer, on_timer_closed);
    return;
  }
  if (s->sync_err != 0)
    fprintf(stderr, "dv8: persist: syncing root '%s': %s\n", s->name,
            uv_strerror(s->sync_err));
  if (s->dirty) /* commits made while it synced */
    uv_timer_start(&s->timer, on_timer, (uint64_t)group_ms, 0);
}

static void on_timer(uv_timer_t *t) {
  store_t *s = t->data;
  if (s->syncing || !s->dirty)
    return;
  if (s->wal_fd < 0) {
    size_t n = strlen(s->path) + 5;
    char *wal = malloc(n);
    if (wal == NULL)
      return;
    snprintf(wal, n, "%s-wal", s->path);
    s->wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
    free(wal);
    if (s->wal_fd < 0)
      return;
  }
  s->dirty = 0;
  s->syncing = 1;
  s->work.data = s;
  if (uv_queue_work(s->rt->loop, &s->work, sync_work, sync_done) != 0) {
    s->syncing = 0;
    s->dirty = 1;
  }
}

/* ---- open and close ---- */

static int exec(sqlite3 *db, const char *sql) {
  return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static int pragma_int(sqlite3 *db, const char *sql, int *out) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if (rc != SQLITE_OK)
    return rc;
  rc = sqlite3_step(st);
  *out = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
  sqlite3_finalize(st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* loop_gone: the runtime has ended, its loop closed every handle. */
static void store_close(store_t *s, int loop_gone) {
  if (s->db == NULL)
    return;
  if (s->in_tx)
    exec(s->db, "ROLLBACK");
  for (int i = 0; i < ST_COUNT; i++)
    sqlite3_finalize(s->st[i]);
  /* Closing checkpoints the WAL into the database, synced. */
  sqlite3_close(s->db);
  s->db = NULL;
  if (s->timer_open && !loop_gone) {
    uv_timer_stop(&s->timer);
    s->closing = 1;
    /* A sync on the thread pool uses the WAL's descriptor: sync_done
     * closes it and the timer. */
    if (!s->syncing) {
      if (s->wal_fd >= 0)
        close(s->wal_fd);
      s->wal_fd = -1;
      uv_close((uv_handle_t *)&s->timer, on_timer_closed);
    }
  } else if (s->wal_fd >= 0) {
    close(s->wal_fd);
    s->wal_fd = -1;
  }
  s->timer_open = 0;
  if (s->lock_fd >= 0)
    close(s->lock_fd); /* and the flock with it */
  s->lock_fd = -1;
  claim_name(s->name, 0);
  free(s->path);
  s->path = NULL;
}

static void runtime_destroy(void *data) {
  runtime_t *r = data;
  for (int i = 0; i < MAX_STORES; i++)
    store_close(&r->stores[i], 1);
  free(r);
}

static runtime_t *runtime_of(dv8_env_t *env) {
  runtime_t *r = dv8->runtime_data(env, &once, sizeof(*r), runtime_destroy);
  if (r != NULL && r->loop == NULL) {
    r->loop = dv8->loop(env);
    r->commits = dv8->metric_counter(env, "dv8_persist_commits_total",
                                     "Turns committed to persistent roots.");
    r->failures =
        dv8->metric_counter(env, "dv8_persist_commit_failures_total",
                            "Commits to persistent roots that failed.");
  }
  return r;
}

/* The lock file: held (fd), or the holder's pid in *holder and UV_EBUSY. */
static int take_lock(const char *path, int *fd_out, long *holder) {
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return -errno;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno == EWOULDBLOCK ? UV_EBUSY : -errno;
    char buf[32] = {0};
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    *holder = n > 0 ? strtol(buf, NULL, 10) : 0;
    close(fd);
    return err;
  }
  char pid[32];
  int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
    int err = -errno;
    close(fd);
    return err;
  }
  *fd_out = fd;
  return 0;
}

/* Makes a new file a store, or checks that an old one is one of ours. */
static int prepare_schema(store_t *s, char *why, size_t cap) {
  sqlite3 *db = s->db;
  int app = 0, version = 0, tables = 0;
  int rc = exec(db, "PRAGMA locking_mode=EXCLUSIVE");
  /* The first read: a file that is not SQLite's fails here. */
  if (rc == SQLITE_OK)
    rc = pragma_int(db, "PRAGMA application_id", &app);
  if (rc == SQLITE_OK)
    rc = pragma_int(db, "PRAGMA user_version", &version);
  if (rc == SQLITE_OK)
    rc = pragma_int(db, "SELECT count(*) FROM sqlite_schema", &tables);
  if (rc != SQLITE_OK)
    return rc;
  if (tables > 0 && app != APP_ID) {
    snprintf(why, cap,
             "%s is a SQLite database of another program, not a dv8 store",
             s->path);
    return SQLITE_NOTADB;
  }
  if (tables > 0 && version > FORMAT) {
    snprintf(why, cap,
             "%s was written by a newer dv8 (format %d, this one "
             "reads %d)",
             s->path, version, FORMAT);
    return SQLITE_FORMAT;
  }
  rc = exec(db, "PRAGMA journal_mode=WAL");
  if (rc == SQLITE_OK)
    rc = exec(db, group_ms > 0 ? "PRAGMA synchronous=NORMAL"
                               : "PRAGMA synchronous=FULL");
  /* A checkpoint every 10,000 pages (40 MiB of WAL) rather than 1,000: a
   * root's pages are rewritten turn after turn, and a checkpoint copies a
   * page once however often it changed (-25% for 64 KiB turns). */
  if (rc == SQLITE_OK)
    rc = exec(db, "PRAGMA wal_autocheckpoint=10000");
  if (rc == SQLITE_OK && tables == 0) {
    char sql[512];
    snprintf(sql, sizeof(sql),
             "BEGIN;"
             "PRAGMA application_id=%d;"
             "PRAGMA user_version=%d;"
             "CREATE TABLE root (k TEXT PRIMARY KEY, v BLOB NOT NULL);"
             "CREATE TABLE journal (n INTEGER PRIMARY KEY, code TEXT NOT NULL);"
             "COMMIT",
             APP_ID, FORMAT);
    rc = exec(db, sql);
  }
  return rc;
}

/* open(name) -> the store's id (1...), this runtime's if already open. */
static dv8_value_t js_open(dv8_env_t *env, dv8_call_t *call) {
  uv_once(&once, init_once);
  char *name;
  size_t len;
  if (dv8->arg_string(env, call, 0, &name, &len))
    return NULL;
  int ok = len > 0 && len <= NAME_MAX_LEN && name[0] != '.';
  for (size_t i = 0; i < len && ok; i++)
    ok = (name[i] >= 'a' && name[i] <= 'z') ||
         (name[i] >= 'A' && name[i] <= 'Z') ||
         (name[i] >= '0' && name[i] <= '9') || name[i] == '_' ||
         name[i] == '-' || name[i] == '.';
  if (!ok) {
    dv8->throw_type_error(env,
                          "persist: a root's name is 1 to %d letters, digits, "
                          "'_', '-' or '.' (not first), not '%s'",
                          NAME_MAX_LEN, len > 200 ? "..." : name);
    free(name);
    return NULL;
  }
  const char *dir = getenv("DV8_PERSIST");
  if (dir == NULL || dir[0] == '\0') {
    free(name);
    return dv8->throw_error(env, UV_ENOENT,
                            "persist: no store directory: run dv8 with "
                            "--persist DIR");
  }
  runtime_t *r = runtime_of(env);
  if (r == NULL) {
    free(name);
    return dv8->throw_error(env, UV_ENOMEM, "persist");
  }
  store_t *s = NULL;
  for (int i = 0; i < MAX_STORES; i++)
    if (r->stores[i].db != NULL && strcmp(r->stores[i].name, name) == 0) {
      free(name);
      return dv8->number(env, i + 1);
    }
  for (int i = 0; i < MAX_STORES && s == NULL; i++)
    if (r->stores[i].db == NULL && !r->stores[i].closing)
      s = &r->stores[i];
  if (s == NULL) {
    free(name);
    return dv8->throw_error(env, UV_EMFILE,
                            "persist: at most 16 roots open in a thread");
  }
  char what[1024];
  if (claim_name(name, 1) != 0) {
    snprintf(what, sizeof(what),
             "persist: root '%s' is open in another thread of this process",
             name);
    free(name);
    return dv8->throw_error(env, UV_EBUSY, what);
  }
  memset(s, 0, sizeof(*s));
  snprintf(s->name, sizeof(s->name), "%s", name);
  free(name);
  s->rt = r;
  s->lock_fd = s->wal_fd = -1;
  size_t n = strlen(dir) + strlen(s->name) + 8;
  char *lock = malloc(n);
  s->path = malloc(n);
  if (lock == NULL || s->path == NULL) {
    free(lock);
    free(s->path);
    s->path = NULL;
    claim_name(s->name, 0);
    return dv8->throw_error(env, UV_ENOMEM, "persist");
  }
  snprintf(lock, n, "%s/%s.lock", dir, s->name);
  snprintf(s->path, n, "%s/%s.db", dir, s->name);
  long holder = 0;
  int err = mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : -errno;
  if (err == 0)
    err = take_lock(lock, &s->lock_fd, &holder);
  free(lock);
  if (err != 0) {
    if (err == UV_EBUSY && holder == (long)getppid())
      snprintf(what, sizeof(what),
               "persist: root '%s' (%s) is open in this process's parent "
               "(pid %ld); an upgrade's old process keeps it until it hands "
               "over, so the new code uses it in load(), not at its top "
               "level",
               s->name, s->path, holder);
    else if (err == UV_EBUSY)
      snprintf(what, sizeof(what),
               "persist: root '%s' (%s) is open in another process (pid %ld)",
               s->name, s->path, holder);
    else
      snprintf(what, sizeof(what), "persist: %s/%s.lock", dir, s->name);
    claim_name(s->name, 0);
    free(s->path);
    s->path = NULL;
    return dv8->throw_error(env, err, what);
  }
  /* The file is made private before SQLite makes it (with 0644); its WAL
   * takes the same mode. */
  int made = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (made >= 0)
    close(made);
  int rc = sqlite3_open_v2(s->path, &s->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                               SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
                           NULL);
  char why[600] = "";
  if (rc == SQLITE_OK)
    rc = prepare_schema(s, why, sizeof(why));
  for (int i = 0; i < ST_COUNT && rc == SQLITE_OK; i++)
    rc = sqlite3_prepare_v3(s->db, statements[i], -1, SQLITE_PREPARE_PERSISTENT,
                            &s->st[i], NULL);
  if (rc != SQLITE_OK) {
    if (why[0] == '\0')
      snprintf(why, sizeof(why), "%s: %s", s->path,
               s->db != NULL ? sqlite3_errmsg(s->db) : "cannot open");
    snprintf(what, sizeof(what), "persist: root '%s': %s", s->name, why);
    int code = code_of(s->db, rc);
    store_close(s, 0);
    return dv8->throw_error(env, code, what);
  }
  if (group_ms > 0) {
    uv_timer_init(r->loop, &s->timer);
    uv_unref((uv_handle_t *)&s->timer);
    s->timer.data = s;
    s->timer_open = 1;
  }
  return dv8->number(env, (double)(s - r->stores) + 1);
}

static dv8_value_t js_close(dv8_env_t *env, dv8_call_t *call) {
  store_t *s = arg_store(env, call);
  if (s != NULL)
    store_close(s, 0);
  return NULL;
}

/* ---- reading ---- */

static dv8_value_t column_bytes(dv8_env_t *env, sqlite3_stmt *st, int col) {
  size_t n = (size_t)sqlite3_column_bytes(st, col);
  const void *p = sqlite3_column_blob(st, col);
  void *data;
  dv8_value_t ab = dv8->arraybuffer(env, n, &data);
  if (ab == NULL)
    return NULL;
  if (n > 0)
    memcpy(data, p, n);
  return dv8->uint8array(env, ab, 0, n);
}

/* load(id) -> [key, bytes, key, bytes, ...]: the whole root. */
static dv8_value_t js_load(dv8_env_t *env, dv8_call_t *call) {
  store_t *s = arg_store(env, call);
  if (s == NULL)
    return NULL;
  sqlite3_stmt *st = s->st[ST_ALL];
  dv8_value_t out = dv8->array(env, 0);
  uint32_t i = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *k = (const char *)sqlite3_column_text(st, 0);
    dv8_value_t bytes = column_bytes(env, st, 1);
    if (k == NULL || bytes == NULL) {
      sqlite3_reset(st);
      return dv8->throw_error(env, UV_ENOMEM, "persist: load");
    }
    dv8->set_index(env, out, i++,
                   dv8->string(env, k, (size_t)sqlite3_column_bytes(st, 0)));
    dv8->set_index(env, out, i++, bytes);
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE)
    return fail(env, s, rc, "loading");
  return out;
}

/* get(id, key) -> bytes, or undefined when the store has no such key. */
static dv8_value_t js_get(dv8_env_t *env, dv8_call_t *call) {
  store_t *s = arg_store(env, call);
  char *k;
  size_t len;
  if (s == NULL || dv8->arg_string(env, call, 1, &k, &len))
    return NULL;
  sqlite3_stmt *st = s->st[ST_GET];
  sqlite3_bind_text(st, 1, k, (int)len, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  dv8_value_t out = rc == SQLITE_ROW ? column_bytes(env, st, 0) : NULL;
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  free(k);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return fail(env, s, rc, "reading");
  return out;
}

/* ---- writing: begin, put/del..., commit (or rollback) ---- */

static int step_once(sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Argument i, a key: in stack (cap bytes) when it fits, else malloc'd in
 * *heap (the caller frees it). NULL when it is not a string (thrown). */
static const char *arg_key(dv8_env_t *env, dv8_call_t *call, int i, char *stack,
                           size_t cap, char **heap, size_t *len) {
  *heap = NULL;
  dv8_value_t v = dv8->arg(call, i);
  if (dv8->type_of(env, v) != DV8_TYPE_STRING) {
    dv8->throw_type_error(env, "persist: argument %d must be a string", i + 1);
    return NULL;
  }
  *len = dv8->to_utf8(env, v, stack, cap);
  if (*len < cap)
    return stack;
  return dv8->arg_string(env, call, i, heap, len) ? NULL : *heap;
}

/* The codes of these are returned, not thrown: a full disk is expected. */
static dv8_value_t result(dv8_env_t *env, store_t *s, int rc) {
  return dv8->number(env, rc == SQLITE_OK ? 0 : code_of(s->db, rc));
}

static dv8_value_t js_begin(dv8_env_t *env, dv8_call_t *call) {
  store_t *s = arg_store(env, call);
  if (s == NULL)
    return NULL;
  if (s->in_tx)
    return dv8->number(env, 0);
  int rc = step_once(s->st[ST_BEGIN]);
  s->in_tx = rc == SQLITE_OK;
  return result(env, s, rc);
}

/* put(id, key, bytes, length, offset = 0) */
static dv8_value_t js_put(dv8_env_t *env, dv8_call_t *call) {
  store_t *s = arg_store(env, call);
  char stack[256], *heap;
  const char *k;
  size_t klen, blen;
  void *data;
  int64_t n;
  if (s == NULL ||
      (k = arg_key(env, call, 1, stack, sizeof(stack), &heap, &klen)) == NULL)
    return NULL;
  int64_t at = 0;
  if (dv8->arg_buffer(env, call, 2, &data, &blen) ||
      dv8->arg_integer(env, call, 3, 0, (int64_t)blen, &n) ||
      (dv8->argc(call) > 4 &&
       dv8->arg_integer(env, call, 4, 0, (int64_t)blen - n, &at))) {
    free(heap);
    return NULL;
  }
  sqlite3_stmt *st = s->st[ST_PUT];
  sqlite3_bind_text(st, 1, k, (int)klen, SQLITE_STATIC);
  sqlite3_bind_blob(st, 2, (const char *)data + at, (int)n, SQLITE_STATIC);
  int rc = step_once(st);
  sqlite3_clear_bindings(st);
  free(heap);
  return result(env, s, rc);
}

static dv8_value_t js_del(dv8_env_t *env, dv8_call_t *call) {
  store_t *s = arg_store(env, call);
  char *k;
  size_t klen;
  if (s == NULL || dv8->arg_string(env, call, 1, &k, &klen))
    return NULL;
  sqlite3_stmt *st = s->st[ST_DEL];
  sqlite3_bind_text(st, 1, k, (int)klen, SQLITE_STATIC);
  int rc = step_once(st);
  sqlite3_clear_bindings(st);
  free(k);
  return result(env, s, rc);
}

/* journal(id, code): one REPL input, in the transaction begun. */
static dv8_value_t js_journal_add(dv8_env_t *env, dv8_call_t *call) {
  store_t *s = arg_store(env, call);
  char *code;
  size_t len;
  if (s == NULL || dv8->arg_string(env, call, 1, &code, &len))
    return NULL;
  sqlite3_stmt *st = s->st[ST_JOURNAL_ADD];
  sqlite3_bind_text(st, 1, code, (int)len, SQLITE_STATIC);
  int rc = step_once(st);
  sqlite3_clear_bindings(st);
  free(code);
  return result(env, s, rc);
}

/* journal(id) -> [code, ...], in the order they were added. */
static dv8_value_t js_journal(dv8_env_t *env, dv8_call_t *call) {
  store_t *s = arg_store(env, call);
  if (s == NULL)
    return NULL;
  sqlite3_stmt *st = s->st[ST_JOURNAL_ALL];
  dv8_value_t out = dv8->array(env, 0);
  uint32_t i = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    dv8->set_index(env, out, i++,
                   dv8->string(env, (const char *)sqlite3_column_text(st, 0),
                               (size_t)sqlite3_column_bytes(st, 0)));
  sqlite3_reset(st);
  if (rc != SQLITE_DONE)
    return fail(env, s, rc, "reading the journal");
  return out;
}

static dv8_value_t js_commit(dv8_env_t *env, dv8_call_t *call) {
  store_t *s = arg_store(env, call);
  if (s == NULL)
    return NULL;
  if (!s->in_tx)
    return dv8->number(env, 0);
  int rc = step_once(s->st[ST_COMMIT]);
  if (rc != SQLITE_OK) {
    /* A failed COMMIT may leave the transaction open: none of it stays. */
    if (!sqlite3_get_autocommit(s->db))
      step_once(s->st[ST_ROLLBACK]);
    s->in_tx = 0;
    if (s->rt->failures != NULL)
      (*s->rt->failures)++;
    return result(env, s, rc);
  }
  s->in_tx = 0;
  if (s->rt->commits != NULL)
    (*s->rt->commits)++;
  if (s->timer_open) {
    s->dirty = 1;
    if (!s->syncing && !uv_is_active((uv_handle_t *)&s->timer))
      uv_timer_start(&s->timer, on_timer, (uint64_t)group_ms, 0);
  }
  return dv8->number(env, 0);
}

static dv8_value_t js_rollback(dv8_env_t *env, dv8_call_t *call) {
  store_t *s = arg_store(env, call);
  if (s == NULL)
    return NULL;
  if (s->in_tx && !sqlite3_get_autocommit(s->db))
    step_once(s->st[ST_ROLLBACK]);
  s->in_tx = 0;
  return NULL;
}

/* The SQLite message of the store's last failure. */
static dv8_value_t js_errmsg(dv8_env_t *env, dv8_call_t *call) {
  store_t *s = arg_store(env, call);
  if (s == NULL)
    return NULL;
  const char *m = sqlite3_errmsg(s->db);
  return dv8->string(env, m, strlen(m));
}

/* error(code, message) -> an Error with .code and .errno. */
static dv8_value_t js_error(dv8_env_t *env, dv8_call_t *call) {
  int64_t code;
  char *what;
  size_t len;
  if (dv8->arg_integer(env, call, 0, INT32_MIN, 0, &code) ||
      dv8->arg_string(env, call, 1, &what, &len))
    return NULL;
  dv8_value_t err = dv8->error(env, (int)code, what);
  free(what);
  return err;
}

/* ---- turns ---- */

static dv8_value_t js_hook(dv8_env_t *env, dv8_call_t *call) {
  if (dv8->turn_hook(env, dv8->arg(call, 0)) != 0)
    return dv8->throw_type_error(env, "hook: argument 1 must be a function");
  return NULL;
}

/* arm(always): dv8->turn_arm; always 0 (this turn), 1 or -1. */
static dv8_value_t js_arm(dv8_env_t *env, dv8_call_t *call) {
  int64_t always = 0;
  if (dv8->argc(call) > 0 && dv8->arg_integer(env, call, 0, -1, 1, &always))
    return NULL;
  dv8->turn_arm(env, (int)always);
  return NULL;
}

static int persist_init(dv8_env_t *env, dv8_value_t exports) {
  uv_once(&once, init_once);
  static const struct {
    const char *name;
    dv8_function_cb fn;
  } functions[] = {
      {"open", js_open},
      {"close", js_close},
      {"load", js_load},
      {"get", js_get},
      {"begin", js_begin},
      {"put", js_put},
      {"del", js_del},
      {"commit", js_commit},
      {"rollback", js_rollback},
      {"errmsg", js_errmsg},
      {"journalAdd", js_journal_add},
      {"journal", js_journal},
      {"hook", js_hook},
      {"arm", js_arm},
      {"error", js_error},
  };
  for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
    int err = dv8->set_function(env, exports, functions[i].name,
                                functions[i].fn, NULL);
    if (err)
      return err;
  }
  const char *dir = getenv("DV8_PERSIST");
  if (dir != NULL && dir[0] != '\0')
    dv8->set_string(env, exports, "dir", dir);
  dv8->set_number(env, exports, "groupMs", group_ms);
  const char *repl = getenv("DV8_PERSIST_REPL");
  dv8->set(env, exports, "repl",
           dv8->boolean(env, repl != NULL && strcmp(repl, "1") == 0));
  return 0;
}

DV8_MODULE(persist, persist_init);
DV8_MODULE_JS("modules/persist/persist.js");
