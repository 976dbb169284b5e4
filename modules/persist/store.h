/*
 * persist's store: one SQLite database per root and its lock file, opened,
 * synced in groups and closed here (store.c); the JS bindings are
 * persist.c's. Plain C on SQLite and libuv: nothing of dv8's API.
 */
#ifndef PERSIST_STORE_H
#define PERSIST_STORE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define MAX_STORES 16
#define NAME_MAX_LEN 64
/* The statements each store prepares, in st[]: store.c has their SQL. */
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

/* Milliseconds between grouped syncs (DV8_PERSIST_SYNC), or -1: each
 * commit synced. Read once, by persist__init. */
extern int persist__group_ms;

/* Claims (take 1) or gives back (0) name for this process: 0, or UV_EBUSY
 * when another runtime (thread) holds it. */
int persist__claim_name(const char *name, int take);
/* Reads the environment once per process; any thread may call it. */
void persist__init(void);
/* A SQLite result as a libuv code (UV_ENOSPC, UV_EFTYPE...). */
int persist__code_of(sqlite3 *db, int rc);
/* Opens root name of dir in the free slot s of r: 0, or a code with what
 * went wrong, for the user, in what. */
int persist__store_open(runtime_t *r, store_t *s, const char *dir,
                        const char *name, char *what, size_t cap);
/* Closes s (rolled back if a transaction is open); loop_gone: the
 * runtime's loop has closed every handle already. */
void persist__store_close(store_t *s, int loop_gone);
/* A commit of s went through: in groups, its sync is due. */
void persist__store_committed(store_t *s);

#endif
