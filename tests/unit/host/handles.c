/* The handle table: ids are positive, unique and never reused, however
 * often handles come and go; a stale id never finds a new handle; lookups
 * stay right under churn (checked against a plain array); rehoming keeps
 * later ids larger; closing through the host frees the module's struct, and
 * the loop closes cleanly afterwards. */
#include <string.h>

#include "host/host.h"
#include "unit.h"

/* modules.c refers to the API table; these tests never load a module. */
const dv8_api_t dv8__api_table;

static int freed, closed_early;

static void free_test_handle(dv8_handle_t *h) {
  freed++;
  free(h);
}

static void close_test_handle(dv8_handle_t *h) {
  (void)h;
  closed_early++;
}

static const dv8_handle_type_t test_type = {
    DV8_HANDLE_TYPE_INIT,
    .name = "test",
    .close = close_test_handle,
    .free = free_test_handle,
};

typedef struct {
  dv8_handle_t base;
  uv_timer_t uv;
} test_handle;

static uint64_t id_of(dv8_handle_t *h) { return DV8_HEAD(h)->id; }

static test_handle *new_handle(dv8_runtime_t *rt) {
  test_handle *t = calloc(1, sizeof(*t));
  ASSERT(t != NULL);
  ASSERT_EQ(uv_timer_init(&rt->loop, &t->uv), 0);
  ASSERT_EQ(dv8__handle_register(rt, NULL, &t->base, &test_type,
                                 (uv_handle_t *)&t->uv),
            0);
  return t;
}

static void test_ids_never_reused(void) {
  dv8_handle_table_t table;
  dv8__handles_init(&table);
  dv8_handle_t a, b, c;
  ASSERT_EQ(dv8__handles_add(&table, &a), 0);
  ASSERT_EQ(dv8__handles_add(&table, &b), 0);
  ASSERT(id_of(&a) > 0 && id_of(&b) > 0 && id_of(&a) != id_of(&b));
  ASSERT(dv8__handles_find(&table, id_of(&a)) == &a);
  uint64_t stale = id_of(&a);
  dv8__handles_remove(&table, &a);
  ASSERT(dv8__handles_find(&table, stale) == NULL);
  ASSERT_EQ(dv8__handles_add(&table, &c), 0);
  ASSERT(id_of(&c) > id_of(&b)); /* a new id, never a freed one */
  ASSERT(dv8__handles_find(&table, stale) == NULL);
  ASSERT(dv8__handles_find(&table, id_of(&c)) == &c);
  ASSERT(dv8__handles_find(&table, 0) == NULL);
  ASSERT(dv8__handles_find(&table, DV8_HANDLE_ID_MAX) == NULL);
  ASSERT(dv8__handles_find(&table, UINT64_MAX) == NULL);
  dv8__handles_remove(&table, &b);
  dv8__handles_remove(&table, &c);
  ASSERT_EQ(table.live, 0);
  dv8__handles_free(&table);
}

/* The defect this table replaced: one busy slot cycling (a server making
 * and closing a connection at a time, a one-shot timer) turned its ids
 * negative after ~4,000 rounds. Ten million rounds with one long-lived
 * handle beside: every id positive, increasing, within 2^53. */
static void test_churn_keeps_ids_positive(void) {
  dv8_handle_table_t table;
  dv8__handles_init(&table);
  dv8_handle_t keep, h;
  ASSERT_EQ(dv8__handles_add(&table, &keep), 0);
  uint64_t last = id_of(&keep);
  for (int i = 0; i < 10000000; i++) {
    ASSERT_EQ(dv8__handles_add(&table, &h), 0);
    uint64_t id = id_of(&h);
    if (id <= last || id > DV8_HANDLE_ID_MAX || (double)id != (double)id) {
      fprintf(stderr, "round %d: id %llu after %llu\n", i,
              (unsigned long long)id, (unsigned long long)last);
      ASSERT(0);
    }
    last = id;
    dv8__handles_remove(&table, &h);
  }
  ASSERT(dv8__handles_find(&table, id_of(&keep)) == &keep);
  ASSERT(table.capacity <= 64); /* churn does not grow the index */
  dv8__handles_remove(&table, &keep);
  dv8__handles_free(&table);
}

/* Random adds and removes against a plain array of what is live: every
 * live handle is found, every removed id is not, and the walk visits the
 * live handles oldest first. */
static void test_random_churn(void) {
  dv8_handle_table_t table;
  dv8__handles_init(&table);
  enum { N = 4096, ROUNDS = 400000 };
  dv8_handle_t *hs = calloc(N, sizeof(*hs));
  int *live = calloc(N, sizeof(*live));
  uint64_t *gone = calloc(ROUNDS, sizeof(*gone));
  ASSERT(hs != NULL && live != NULL && gone != NULL);
  size_t n_gone = 0;
  uint32_t seed = 12345;
  for (int r = 0; r < ROUNDS; r++) {
    seed = seed * 1103515245u + 12345u;
    int i = (int)((seed >> 8) % N);
    if (live[i]) {
      gone[n_gone++] = id_of(&hs[i]);
      dv8__handles_remove(&table, &hs[i]);
      live[i] = 0;
    } else {
      ASSERT_EQ(dv8__handles_add(&table, &hs[i]), 0);
      live[i] = 1;
    }
    if (r % 997 == 0) {
      uint32_t count = 0;
      for (int k = 0; k < N; k++)
        if (live[k]) {
          ASSERT(dv8__handles_find(&table, id_of(&hs[k])) == &hs[k]);
          count++;
        }
      ASSERT_EQ(count, table.live);
      uint64_t prev = 0;
      uint32_t walked = 0;
      for (dv8_handle_t *h = dv8__handles_next(&table, NULL); h != NULL;
           h = dv8__handles_next(&table, h)) {
        ASSERT(id_of(h) > prev);
        prev = id_of(h);
        walked++;
      }
      ASSERT_EQ(walked, table.live);
    }
  }
  for (size_t k = 0; k < n_gone; k++)
    ASSERT(dv8__handles_find(&table, gone[k]) == NULL);
  for (int k = 0; k < N; k++)
    if (live[k])
      dv8__handles_remove(&table, &hs[k]);
  ASSERT_EQ(table.live, 0);
  ASSERT(table.first == NULL && table.last == NULL);
  dv8__handles_free(&table);
  free(hs);
  free(live);
  free(gone);
}

static void test_growth(void) {
  dv8_handle_table_t table;
  dv8__handles_init(&table);
  enum { N = 50000 };
  dv8_handle_t *hs = calloc(N, sizeof(*hs));
  ASSERT(hs != NULL);
  for (int i = 0; i < N; i++)
    ASSERT_EQ(dv8__handles_add(&table, &hs[i]), 0);
  for (int i = 0; i < N; i++)
    ASSERT(dv8__handles_find(&table, id_of(&hs[i])) == &hs[i]);
  for (int i = 0; i < N; i += 2)
    dv8__handles_remove(&table, &hs[i]);
  ASSERT_EQ(table.live, N / 2);
  for (int i = 1; i < N; i += 2)
    ASSERT(dv8__handles_find(&table, id_of(&hs[i])) == &hs[i]);
  for (int i = 1; i < N; i += 2)
    dv8__handles_remove(&table, &hs[i]);
  dv8__handles_free(&table);
  free(hs);
}

/* A handoff keeps a handle's old id; ids made after it are larger, and an
 * id in use or out of range is refused. */
static void test_rehome_and_start_at(void) {
  dv8_handle_table_t table;
  dv8__handles_init(&table);
  dv8__handles_start_at(&table, (uint64_t)1 << 40);
  dv8_handle_t a, b, c;
  ASSERT_EQ(dv8__handles_add(&table, &a), 0);
  ASSERT_EQ(id_of(&a), (uint64_t)1 << 40);
  ASSERT_EQ(dv8__handles_add(&table, &b), 0);
  ASSERT_EQ(dv8__handles_rehome(&table, &b, 77), 0);
  ASSERT(dv8__handles_find(&table, 77) == &b);
  ASSERT(dv8__handles_find(&table, ((uint64_t)1 << 40) + 1) == NULL);
  ASSERT_EQ(dv8__handles_rehome(&table, &a, 77), UV_EADDRINUSE);
  ASSERT_EQ(dv8__handles_rehome(&table, &a, 0), UV_EINVAL);
  ASSERT_EQ(dv8__handles_rehome(&table, &a, DV8_HANDLE_ID_MAX + 1), UV_EINVAL);
  ASSERT_EQ(dv8__handles_rehome(&table, &a, (uint64_t)1 << 50), 0);
  ASSERT_EQ(dv8__handles_add(&table, &c), 0);
  ASSERT(id_of(&c) > (uint64_t)1 << 50);
  /* start_at never goes back. */
  dv8__handles_start_at(&table, 5);
  dv8__handles_remove(&table, &c);
  ASSERT_EQ(dv8__handles_add(&table, &c), 0);
  ASSERT(id_of(&c) > (uint64_t)1 << 50);
  dv8__handles_remove(&table, &a);
  dv8__handles_remove(&table, &b);
  dv8__handles_remove(&table, &c);
  dv8__handles_free(&table);
}

static void test_close_through_runtime(void) {
  dv8_runtime_t rt;
  char *argv[] = {"test", NULL};
  ASSERT_EQ(dv8__runtime_init(&rt, 1, argv), 0);
  freed = closed_early = 0;
  test_handle *a = new_handle(&rt);
  test_handle *b = new_handle(&rt);
  (void)b;
  ASSERT_EQ(rt.handles.live, 2);
  uint64_t id = id_of(&a->base);
  dv8__handle_close(&a->base);
  dv8__handle_close(&a->base); /* idempotent */
  ASSERT_EQ(closed_early, 1);  /* the close op, once, before uv_close */
  ASSERT_EQ(freed, 0);
  uv_run(&rt.loop, UV_RUN_DEFAULT);
  ASSERT_EQ(freed, 1);
  ASSERT(dv8__handles_find(&rt.handles, id) == NULL);
  /* b is closed by the runtime's teardown, and the loop closes cleanly. */
  ASSERT_EQ(dv8__runtime_close(&rt), 0);
  ASSERT_EQ(freed, 2);
  dv8__runtime_data_free(&rt); /* as the host does: the metrics block too */
}

static void test_register_rejects_bad_types(void) {
  dv8_runtime_t rt;
  char *argv[] = {"test", NULL};
  ASSERT_EQ(dv8__runtime_init(&rt, 1, argv), 0);
  static const dv8_handle_type_t no_free = {DV8_HANDLE_TYPE_INIT,
                                            .name = "bad"};
  /* A type from a header older than the free field. */
  static const dv8_handle_type_t too_short = {
      .size = offsetof(dv8_handle_type_t, free),
      .name = "short",
      .free = free_test_handle};
  test_handle t;
  memset(&t, 0, sizeof(t));
  ASSERT_EQ(uv_timer_init(&rt.loop, &t.uv), 0);
  ASSERT_EQ(
      dv8__handle_register(&rt, NULL, &t.base, &no_free, (uv_handle_t *)&t.uv),
      UV_EINVAL);
  ASSERT_EQ(dv8__handle_register(&rt, NULL, &t.base, &too_short,
                                 (uv_handle_t *)&t.uv),
            UV_EINVAL);
  ASSERT_EQ(
      dv8__handle_register(&rt, NULL, &t.base, NULL, (uv_handle_t *)&t.uv),
      UV_EINVAL);
  uv_close((uv_handle_t *)&t.uv, NULL);
  ASSERT_EQ(dv8__runtime_close(&rt), 0);
  dv8__runtime_data_free(&rt);
}

int main(void) {
  test_ids_never_reused();
  test_churn_keeps_ids_positive();
  test_random_churn();
  test_growth();
  test_rehome_and_start_at();
  test_close_through_runtime();
  test_register_rejects_bad_types();
  return 0;
}
