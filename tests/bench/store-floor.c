/* Run: build/tests/bench/store-floor STORE BYTES MODE TURNS DIR
 *   STORE lmdb | sqlite | sqlite-count (a counter row +1 a turn; BYTES
 *   unused); BYTES changed per turn (1024, 65536); MODE sync
 *   (each commit reaches the disk: fsync/fdatasync) or group (commits
 *   synced together every 10 ms); TURNS how many; DIR an empty directory.
 * Shows: the raw cost of committing one event-loop turn's changes to
 * Debian's LMDB and SQLite (WAL), from C: the floor issue 22's persistence
 * is held to (at most 1.2x of it), and what chose the store. Each turn
 * writes BYTES into 4 keys of a root of 64 keys (a turn's changes to a few
 * objects) and commits. Prints: store bytes mode turns us_per_turn
 * turns_per_s. */
#include <lmdb.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

#define KEYS 64
#define PER_TURN 4
#define GROUP_US 10000.0

static void die(const char *what, const char *why) {
  fprintf(stderr, "store-floor: %s: %s\n", what, why);
  exit(1);
}

static double run_lmdb(size_t bytes, int group, long turns, const char *dir) {
  MDB_env *env;
  MDB_dbi dbi;
  MDB_txn *txn;
  int rc = mdb_env_create(&env);
  if (rc == 0)
    rc = mdb_env_set_mapsize(env, (size_t)1 << 30);
  if (rc == 0)
    rc = mdb_env_open(env, dir, group ? MDB_NOSYNC : 0, 0600);
  if (rc == 0)
    rc = mdb_txn_begin(env, NULL, 0, &txn);
  if (rc == 0)
    rc = mdb_dbi_open(txn, NULL, 0, &dbi);
  if (rc == 0)
    rc = mdb_txn_commit(txn);
  if (rc)
    die("lmdb open", mdb_strerror(rc));
  char *value = malloc(bytes / PER_TURN);
  double t0 = now_us(), synced = t0;
  for (long t = 0; t < turns; t++) {
    if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
      die("lmdb begin", mdb_strerror(rc));
    for (int k = 0; k < PER_TURN; k++) {
      unsigned key = (unsigned)((t * PER_TURN + k) % KEYS);
      memset(value, (int)t, bytes / PER_TURN);
      MDB_val kv = {sizeof(key), &key}, vv = {bytes / PER_TURN, value};
      if ((rc = mdb_put(txn, dbi, &kv, &vv, 0)) != 0)
        die("lmdb put", mdb_strerror(rc));
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
      die("lmdb commit", mdb_strerror(rc));
    if (group && now_us() - synced >= GROUP_US) {
      mdb_env_sync(env, 1);
      synced = now_us();
    }
  }
  if (group)
    mdb_env_sync(env, 1);
  double spent = now_us() - t0;
  free(value);
  mdb_env_close(env);
  return spent;
}

static void exec_sql(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
    die(sql, err != NULL ? err : "?");
}

/* The WAL's own file, synced: SQLite has no call for "make the commits so
 * far durable" short of a checkpoint, which copies pages. */
static void sync_wal(sqlite3 *db) {
  sqlite3_file *wal = NULL;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) !=
          SQLITE_OK ||
      wal == NULL || wal->pMethods == NULL)
    die("sqlite", "no WAL file to sync");
  if (wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL) != SQLITE_OK)
    die("sqlite", "WAL sync failed");
}

/* DIR/root.db opened as persist.c opens a root. */
static sqlite3 *open_sqlite(int group, const char *dir) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/root.db", dir);
  sqlite3 *db;
  if (sqlite3_open(path, &db) != SQLITE_OK)
    die("sqlite open", sqlite3_errmsg(db));
  /* As persist uses it: one process holds the file (EXCLUSIVE also keeps
   * the WAL index in memory, not in a shared -shm file), WAL. sync: FULL
   * syncs the WAL at each commit. group: NORMAL syncs only around
   * checkpoints, so the file stays whole on power failure, and the WAL is
   * synced every 10 ms through its own file (what a power failure loses is
   * at most that). */
  exec_sql(db, "PRAGMA locking_mode=EXCLUSIVE");
  exec_sql(db, "PRAGMA journal_mode=WAL");
  exec_sql(db, group ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL");
  /* A checkpoint every 10,000 pages (40 MiB of WAL) rather than 1,000: a
   * root's pages are rewritten turn after turn, and each checkpoint copies
   * a page once however often it changed (-25% for 64 KiB turns). */
  exec_sql(db, "PRAGMA wal_autocheckpoint=10000");
  /* persist.c's table and statement: text keys, an upsert. */
  exec_sql(db, "CREATE TABLE IF NOT EXISTS root (k TEXT PRIMARY KEY, v BLOB "
               "NOT NULL)");
  return db;
}

static double run_sqlite(size_t bytes, int group, long turns, const char *dir) {
  sqlite3 *db = open_sqlite(group, dir);
  sqlite3_stmt *put;
  if (sqlite3_prepare_v2(db,
                         "INSERT INTO root (k, v) VALUES (?1, ?2) ON CONFLICT "
                         "(k) DO UPDATE SET v = excluded.v",
                         -1, &put, NULL) != SQLITE_OK)
    die("sqlite prepare", sqlite3_errmsg(db));
  char *value = malloc(bytes / PER_TURN);
  double t0 = now_us(), synced = t0;
  for (long t = 0; t < turns; t++) {
    exec_sql(db, "BEGIN");
    for (int k = 0; k < PER_TURN; k++) {
      char key[16];
      int klen =
          snprintf(key, sizeof(key), "k%d", (int)((t * PER_TURN + k) % KEYS));
      memset(value, (int)t, bytes / PER_TURN);
      sqlite3_bind_text(put, 1, key, klen, SQLITE_STATIC);
      sqlite3_bind_blob(put, 2, value, (int)(bytes / PER_TURN), SQLITE_STATIC);
      if (sqlite3_step(put) != SQLITE_DONE)
        die("sqlite put", sqlite3_errmsg(db));
      sqlite3_reset(put);
    }
    exec_sql(db, "COMMIT");
    if (group && now_us() - synced >= GROUP_US) {
      sync_wal(db);
      synced = now_us();
    }
  }
  if (group)
    sync_wal(db);
  double spent = now_us() - t0;
  sqlite3_finalize(put);
  free(value);
  sqlite3_close(db);
  return spent;
}

/* A counter: each turn one row's integer, +1, committed. */
static double run_sqlite_count(int group, long turns, const char *dir) {
  sqlite3 *db = open_sqlite(group, dir);
  sqlite3_stmt *put;
  if (sqlite3_prepare_v2(db,
                         "INSERT INTO root (k, v) VALUES ('count', ?) ON "
                         "CONFLICT (k) DO UPDATE SET v = excluded.v",
                         -1, &put, NULL) != SQLITE_OK)
    die("sqlite prepare", sqlite3_errmsg(db));
  double t0 = now_us(), synced = t0;
  for (long t = 0; t < turns; t++) {
    exec_sql(db, "BEGIN");
    sqlite3_bind_int64(put, 1, t + 1);
    if (sqlite3_step(put) != SQLITE_DONE)
      die("sqlite put", sqlite3_errmsg(db));
    sqlite3_reset(put);
    exec_sql(db, "COMMIT");
    if (group && now_us() - synced >= GROUP_US) {
      sync_wal(db);
      synced = now_us();
    }
  }
  if (group)
    sync_wal(db);
  double spent = now_us() - t0;
  sqlite3_finalize(put);
  sqlite3_close(db);
  return spent;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr,
            "usage: store-floor lmdb|sqlite|sqlite-count BYTES sync|group "
            "TURNS DIR\n");
    return 2;
  }
  size_t bytes = strtoul(argv[2], NULL, 10);
  if (strcmp(argv[1], "sqlite-count") == 0)
    bytes = PER_TURN; /* unused */
  int group = strcmp(argv[3], "group") == 0;
  long turns = strtol(argv[4], NULL, 10);
  if (bytes < PER_TURN || turns <= 0) {
    fprintf(stderr, "store-floor: BYTES and TURNS must be positive\n");
    return 2;
  }
  double spent = strcmp(argv[1], "lmdb") == 0
                     ? run_lmdb(bytes, group, turns, argv[5])
                 : strcmp(argv[1], "sqlite-count") == 0
                     ? run_sqlite_count(group, turns, argv[5])
                     : run_sqlite(bytes, group, turns, argv[5]);
  printf("%s %zu %s %ld us_per_turn=%.1f turns_per_s=%.0f\n", argv[1], bytes,
         argv[3], turns, spent / (double)turns, (double)turns * 1e6 / spent);
  return 0;
}
