/*
 * persist: the native side of the persistent root (persist.js,
 * docs/persist.md), the calls persist.js makes ('persist/raw'); the store
 * itself is store.c's: one SQLite database per root, DIR/NAME.db, in WAL
 * mode, each commit one transaction of the turn's changed top-level keys
 * (key -> serdes bytes).
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "dv8.h"
#include "store.h"

static int once_key; /* the runtime data's key */

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
  return dv8->throw_error(env, persist__code_of(s->db, rc), what);
}

static void runtime_destroy(void *data) {
  runtime_t *r = data;
  for (int i = 0; i < MAX_STORES; i++)
    persist__store_close(&r->stores[i], 1);
  free(r);
}

static runtime_t *runtime_of(dv8_env_t *env) {
  runtime_t *r = dv8->runtime_data(env, &once_key, sizeof(*r), runtime_destroy);
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

/* open(name) -> the store's id (1...), this runtime's if already open. */
static dv8_value_t js_open(dv8_env_t *env, dv8_call_t *call) {
  persist__init();
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
  if (persist__claim_name(name, 1) != 0) {
    snprintf(what, sizeof(what),
             "persist: root '%s' is open in another thread of this process",
             name);
    free(name);
    return dv8->throw_error(env, UV_EBUSY, what);
  }
  int err = persist__store_open(r, s, dir, name, what, sizeof(what));
  free(name);
  if (err != 0)
    return dv8->throw_error(env, err, what);
  return dv8->number(env, (double)(s - r->stores) + 1);
}

static dv8_value_t js_close(dv8_env_t *env, dv8_call_t *call) {
  store_t *s = arg_store(env, call);
  if (s != NULL)
    persist__store_close(s, 0);
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
  return dv8->number(env, rc == SQLITE_OK ? 0 : persist__code_of(s->db, rc));
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

/* Runs statement which of the store in argument 0 with argument 1, a
 * string, bound to ?1: 0 or a code. */
static dv8_value_t run_text(dv8_env_t *env, dv8_call_t *call, int which) {
  store_t *s = arg_store(env, call);
  char stack[256], *heap;
  const char *text;
  size_t len;
  if (s == NULL ||
      (text = arg_key(env, call, 1, stack, sizeof(stack), &heap, &len)) == NULL)
    return NULL;
  sqlite3_stmt *st = s->st[which];
  sqlite3_bind_text(st, 1, text, (int)len, SQLITE_STATIC);
  int rc = step_once(st);
  sqlite3_clear_bindings(st);
  free(heap);
  return result(env, s, rc);
}

/* del(id, key) */
static dv8_value_t js_del(dv8_env_t *env, dv8_call_t *call) {
  return run_text(env, call, ST_DEL);
}

/* journalAdd(id, code): one REPL input, in the transaction begun. */
static dv8_value_t js_journal_add(dv8_env_t *env, dv8_call_t *call) {
  return run_text(env, call, ST_JOURNAL_ADD);
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
  persist__store_committed(s);
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
  persist__init();
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
  dv8->set_number(env, exports, "groupMs", persist__group_ms);
  const char *repl = getenv("DV8_PERSIST_REPL");
  dv8->set(env, exports, "repl",
           dv8->boolean(env, repl != NULL && strcmp(repl, "1") == 0));
  return 0;
}

DV8_MODULE(persist, persist_init);
DV8_MODULE_JS("modules/persist/persist.js");
