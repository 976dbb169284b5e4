/*
 * persist's store (store.h): opening a root's SQLite database under its
 * lock file, the grouped syncs on libuv's thread pool, and closing. Why
 * SQLite, the lock and the durability modes: persist.c's first comment.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

/* The file's application_id: "dv8p". A SQLite file of another program
 * is refused instead of written to. */
#define APP_ID 0x64763870
#define FORMAT 1

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

int persist__group_ms = -1;
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
      persist__group_ms = (int)ms;
  }
}

/* The process-wide claim on a name; 0 or UV_EBUSY. */
int persist__claim_name(const char *name, int take) {
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

int persist__code_of(sqlite3 *db, int rc) {
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

void persist__init(void) { uv_once(&once, init_once); }

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
    uv_timer_start(&s->timer, on_timer, (uint64_t)persist__group_ms, 0);
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

void persist__store_close(store_t *s, int loop_gone) {
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
  persist__claim_name(s->name, 0);
  free(s->path);
  s->path = NULL;
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
    rc = exec(db, persist__group_ms > 0 ? "PRAGMA synchronous=NORMAL"
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

/* The caller has claimed name (claim_name): a failure gives it back. */
int persist__store_open(runtime_t *r, store_t *s, const char *dir,
                        const char *name, char *what, size_t cap) {
  memset(s, 0, sizeof(*s));
  snprintf(s->name, sizeof(s->name), "%s", name);
  s->rt = r;
  s->lock_fd = s->wal_fd = -1;
  size_t n = strlen(dir) + strlen(s->name) + 8;
  char *lock = malloc(n);
  s->path = malloc(n);
  if (lock == NULL || s->path == NULL) {
    free(lock);
    free(s->path);
    s->path = NULL;
    persist__claim_name(s->name, 0);
    snprintf(what, cap, "persist");
    return UV_ENOMEM;
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
      snprintf(what, cap,
               "persist: root '%s' (%s) is open in this process's parent "
               "(pid %ld); an upgrade's old process keeps it until it hands "
               "over, so the new code uses it in load(), not at its top "
               "level",
               s->name, s->path, holder);
    else if (err == UV_EBUSY)
      snprintf(what, cap,
               "persist: root '%s' (%s) is open in another process (pid %ld)",
               s->name, s->path, holder);
    else
      snprintf(what, cap, "persist: %s/%s.lock", dir, s->name);
    persist__claim_name(s->name, 0);
    free(s->path);
    s->path = NULL;
    return err;
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
    snprintf(what, cap, "persist: root '%s': %s", s->name, why);
    int code = persist__code_of(s->db, rc);
    persist__store_close(s, 0);
    return code;
  }
  if (persist__group_ms > 0) {
    uv_timer_init(r->loop, &s->timer);
    uv_unref((uv_handle_t *)&s->timer);
    s->timer.data = s;
    s->timer_open = 1;
  }
  return 0;
}

void persist__store_committed(store_t *s) {
  if (!s->timer_open)
    return;
  s->dirty = 1;
  if (!s->syncing && !uv_is_active((uv_handle_t *)&s->timer))
    uv_timer_start(&s->timer, on_timer, (uint64_t)persist__group_ms, 0);
}
