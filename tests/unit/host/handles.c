/* The handle table: ids are unique, stale ids never find a new handle,
 * closing through the host frees the module's struct, and the loop closes
 * cleanly afterwards. */
#include <string.h>

#include "host/host.h"
#include "unit.h"

/* modules.c refers to the API table; these tests never load a module. */
const dv8_api_t dv8__api_table;

static int freed;

static void free_test_handle(dv8_handle_t *h) {
  freed++;
  free(h);
}

static const dv8_handle_type_t test_type = {"test",           NULL, NULL, NULL,
                                            free_test_handle, NULL, NULL};

typedef struct {
  dv8_handle_t base;
  uv_timer_t uv;
} test_handle;

static test_handle *new_handle(dv8_runtime_t *rt) {
  test_handle *t = calloc(1, sizeof(*t));
  ASSERT(t != NULL);
  ASSERT_EQ(uv_timer_init(&rt->loop, &t->uv), 0);
  ASSERT_EQ(dv8__handle_register(rt, NULL, &t->base, &test_type,
                                 (uv_handle_t *)&t->uv),
            0);
  return t;
}

static void test_ids_and_generations(void) {
  dv8_handle_table_t table;
  dv8__handles_init(&table);
  dv8_handle_t a, b, c;
  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  memset(&c, 0, sizeof(c));
  ASSERT_EQ(dv8__handles_add(&table, &a), 0);
  ASSERT_EQ(dv8__handles_add(&table, &b), 0);
  ASSERT(a.id != 0 && b.id != 0 && a.id != b.id);
  ASSERT(dv8__handles_find(&table, a.id) == &a);
  uint32_t stale = a.id;
  dv8__handles_remove(&table, &a);
  ASSERT(dv8__handles_find(&table, stale) == NULL);
  /* c reuses a's slot, with a new generation: the stale id stays dead. */
  ASSERT_EQ(dv8__handles_add(&table, &c), 0);
  ASSERT((c.id & (DV8_HANDLE_MAX - 1)) == (stale & (DV8_HANDLE_MAX - 1)));
  ASSERT(c.id != stale);
  ASSERT(dv8__handles_find(&table, stale) == NULL);
  ASSERT(dv8__handles_find(&table, c.id) == &c);
  ASSERT(dv8__handles_find(&table, 0) == NULL);
  ASSERT(dv8__handles_find(&table, 0xFFFFFFFFu) == NULL);
  dv8__handles_remove(&table, &b);
  dv8__handles_remove(&table, &c);
  ASSERT_EQ(table.live, 0);
  dv8__handles_free(&table);
}

static void test_growth(void) {
  dv8_handle_table_t table;
  dv8__handles_init(&table);
  enum { N = 5000 };
  dv8_handle_t *hs = calloc(N, sizeof(*hs));
  ASSERT(hs != NULL);
  for (int i = 0; i < N; i++)
    ASSERT_EQ(dv8__handles_add(&table, &hs[i]), 0);
  for (int i = 0; i < N; i++)
    ASSERT(dv8__handles_find(&table, hs[i].id) == &hs[i]);
  for (int i = 0; i < N; i += 2)
    dv8__handles_remove(&table, &hs[i]);
  ASSERT_EQ(table.live, N / 2);
  for (int i = 1; i < N; i += 2)
    dv8__handles_remove(&table, &hs[i]);
  dv8__handles_free(&table);
  free(hs);
}

static void test_close_through_runtime(void) {
  dv8_runtime_t rt;
  char *argv[] = {"test", NULL};
  ASSERT_EQ(dv8__runtime_init(&rt, 1, argv), 0);
  freed = 0;
  test_handle *a = new_handle(&rt);
  test_handle *b = new_handle(&rt);
  (void)b;
  ASSERT_EQ(rt.handles.live, 2);
  uint32_t id = a->base.id;
  dv8__handle_close(&a->base);
  dv8__handle_close(&a->base); /* idempotent */
  uv_run(&rt.loop, UV_RUN_DEFAULT);
  ASSERT_EQ(freed, 1);
  ASSERT(dv8__handles_find(&rt.handles, id) == NULL);
  /* b is closed by the runtime's teardown, and the loop closes cleanly. */
  ASSERT_EQ(dv8__runtime_close(&rt), 0);
  ASSERT_EQ(freed, 2);
}

static void test_register_rejects_bad_types(void) {
  dv8_runtime_t rt;
  char *argv[] = {"test", NULL};
  ASSERT_EQ(dv8__runtime_init(&rt, 1, argv), 0);
  static const dv8_handle_type_t no_free = {"bad", NULL, NULL, NULL,
                                            NULL,  NULL, NULL};
  test_handle t;
  memset(&t, 0, sizeof(t));
  ASSERT_EQ(uv_timer_init(&rt.loop, &t.uv), 0);
  ASSERT_EQ(
      dv8__handle_register(&rt, NULL, &t.base, &no_free, (uv_handle_t *)&t.uv),
      UV_EINVAL);
  ASSERT_EQ(
      dv8__handle_register(&rt, NULL, &t.base, NULL, (uv_handle_t *)&t.uv),
      UV_EINVAL);
  uv_close((uv_handle_t *)&t.uv, NULL);
  ASSERT_EQ(dv8__runtime_close(&rt), 0);
}

int main(void) {
  test_ids_and_generations();
  test_growth();
  test_close_through_runtime();
  test_register_rejects_bad_types();
  return 0;
}
