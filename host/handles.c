/*
 * The handle table: every long-lived libuv handle of a thread, so that the
 * host can pause, re-wrap and move handles without knowing what they are.
 *
 * Ids: one counter per thread, so an id is never reused while the process
 * lives (2^53 of them: at ten million handles a second, 28 years). Earlier
 * ids were a slot index plus a generation, which wrapped into negative
 * numbers after a few thousand reuses of one slot. A lookup hashes the id
 * into an open-addressing index with linear probing, kept under half full;
 * removal shifts the entries that follow back, so no tombstones build up
 * under churn.
 *
 * Threads: one table per runtime thread, touched only by that thread.
 * Lifetime: a handle is in the table from dv8->handle_register() until its
 * uv_close callback has run; the module's struct is freed (type->free) right
 * after it leaves the table.
 */
#include <stdlib.h>
#include <string.h>

#include "host/host.h"

_Static_assert(sizeof(dv8_head_t) <= sizeof(dv8_handle_t),
               "the host's handle header fits the public storage");

void (*dv8__slots_release)(void *slots);
void (*dv8__posted_drop)(dv8_runtime_t *rt, dv8_handle_t *h);

/* Fibonacci hashing: consecutive ids land far apart. */
static uint32_t home(const dv8_handle_table_t *t, uint64_t id) {
  return (uint32_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & (t->capacity - 1);
}

void dv8__handles_init(dv8_handle_table_t *t) {
  memset(t, 0, sizeof(*t));
  t->next_id = 1;
}

void dv8__handles_free(dv8_handle_table_t *t) {
  CHECK(t->live == 0);
  free(t->index);
  t->index = NULL;
  t->capacity = 0;
}

static void place(dv8_handle_table_t *t, uint64_t id, dv8_handle_t *h) {
  uint32_t i = home(t, id);
  while (t->index[i].id != 0)
    i = (i + 1) & (t->capacity - 1);
  t->index[i].id = id;
  t->index[i].h = h;
}

static int grow(dv8_handle_table_t *t) {
  uint32_t cap = t->capacity ? t->capacity * 2 : 64;
  if (cap == 0) /* 2^32 slots: past anything a process can hold */
    return UV_EMFILE;
  dv8_handle_entry_t *old = t->index;
  uint32_t old_cap = t->capacity;
  t->index = calloc(cap, sizeof(*t->index));
  if (t->index == NULL) {
    t->index = old;
    return UV_ENOMEM;
  }
  t->capacity = cap;
  for (uint32_t i = 0; i < old_cap; i++)
    if (old[i].id != 0)
      place(t, old[i].id, old[i].h);
  free(old);
  return 0;
}

static int insert(dv8_handle_table_t *t, dv8_handle_t *h, uint64_t id) {
  if ((uint64_t)(t->live + 1) * 2 > t->capacity) {
    int err = grow(t);
    if (err)
      return err;
  }
  place(t, id, h);
  dv8_head_t *hh = DV8_HEAD(h);
  hh->id = id;
  hh->next = NULL;
  hh->prev = t->last;
  if (t->last != NULL)
    DV8_HEAD(t->last)->next = h;
  else
    t->first = h;
  t->last = h;
  t->live++;
  return 0;
}

int dv8__handles_add(dv8_handle_table_t *t, dv8_handle_t *h) {
  if (t->next_id > DV8_HANDLE_ID_MAX)
    return UV_EMFILE;
  int err = insert(t, h, t->next_id);
  if (err == 0)
    t->next_id++;
  return err;
}

static uint32_t slot_of(const dv8_handle_table_t *t, uint64_t id) {
  if (t->capacity == 0 || id == 0)
    return UINT32_MAX;
  for (uint32_t i = home(t, id);; i = (i + 1) & (t->capacity - 1)) {
    if (t->index[i].id == id)
      return i;
    if (t->index[i].id == 0)
      return UINT32_MAX;
  }
}

/* Empties slot i and moves back the entries of the run after it that
 * would otherwise no longer be found from their home slot. */
static void erase(dv8_handle_table_t *t, uint32_t i) {
  uint32_t mask = t->capacity - 1;
  uint32_t j = i;
  for (;;) {
    t->index[i].id = 0;
    t->index[i].h = NULL;
    for (;;) {
      j = (j + 1) & mask;
      if (t->index[j].id == 0)
        return;
      uint32_t k = home(t, t->index[j].id);
      /* j's entry may stay when its home k lies cyclically in (i, j]. */
      if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
        continue;
      break;
    }
    t->index[i] = t->index[j];
    i = j;
  }
}

static void unlink_handle(dv8_handle_table_t *t, dv8_handle_t *h) {
  dv8_head_t *hh = DV8_HEAD(h);
  if (hh->prev != NULL)
    DV8_HEAD(hh->prev)->next = hh->next;
  else
    t->first = hh->next;
  if (hh->next != NULL)
    DV8_HEAD(hh->next)->prev = hh->prev;
  else
    t->last = hh->prev;
  hh->prev = hh->next = NULL;
}

void dv8__handles_remove(dv8_handle_table_t *t, dv8_handle_t *h) {
  uint32_t i = slot_of(t, DV8_HEAD(h)->id);
  CHECK(i != UINT32_MAX && t->index[i].h == h);
  erase(t, i);
  unlink_handle(t, h);
  t->live--;
}

int dv8__handles_rehome(dv8_handle_table_t *t, dv8_handle_t *h, uint64_t id) {
  if (id == 0 || id > DV8_HANDLE_ID_MAX)
    return UV_EINVAL;
  dv8_head_t *hh = DV8_HEAD(h);
  if (hh->id == id)
    return 0;
  if (slot_of(t, id) != UINT32_MAX)
    return UV_EADDRINUSE;
  uint32_t i = slot_of(t, hh->id);
  CHECK(i != UINT32_MAX && t->index[i].h == h);
  erase(t, i);
  place(t, id, h);
  hh->id = id;
  if (t->next_id <= id)
    t->next_id = id + 1;
  return 0;
}

void dv8__handles_start_at(dv8_handle_table_t *t, uint64_t first) {
  if (first > t->next_id && first <= DV8_HANDLE_ID_MAX)
    t->next_id = first;
}

dv8_handle_t *dv8__handles_find(dv8_handle_table_t *t, uint64_t id) {
  uint32_t i = slot_of(t, id);
  return i == UINT32_MAX ? NULL : t->index[i].h;
}

dv8_handle_t *dv8__handles_next(dv8_handle_table_t *t, dv8_handle_t *h) {
  return h == NULL ? t->first : DV8_HEAD(h)->next;
}

void dv8__handles_each(dv8_handle_table_t *t,
                       void (*fn)(dv8_handle_t *h, void *arg), void *arg) {
  /* A handle leaves the list only once its close has completed, in a later
   * loop phase, so the next one is still there after fn. */
  for (dv8_handle_t *h = t->first; h != NULL; h = DV8_HEAD(h)->next)
    fn(h, arg);
}

void dv8__handles_close_all(dv8_handle_table_t *t) {
  for (dv8_handle_t *h = t->first; h != NULL; h = DV8_HEAD(h)->next)
    dv8__handle_close(h);
}

int dv8__handle_register(dv8_runtime_t *rt, dv8_env_t *env, dv8_handle_t *h,
                         const dv8_handle_type_t *type, uv_handle_t *uv) {
  if (type == NULL || uv == NULL || !DV8_TYPE_HAS(type, free) ||
      type->free == NULL)
    return UV_EINVAL;
  dv8_head_t *hh = DV8_HEAD(h);
  memset(hh, 0, sizeof(*hh));
  hh->type = type;
  hh->uv = uv;
  hh->env = env;
  uv->data = h;
  int err = dv8__handles_add(&rt->handles, h);
  if (err == 0)
    hh->metric_type = (uint16_t)dv8__metrics_handle_opened(rt, type->name);
  return err;
}

static void on_handle_closed(uv_handle_t *uv) {
  dv8_handle_t *h = uv->data;
  dv8_runtime_t *rt = uv->loop->data;
  dv8_head_t *hh = DV8_HEAD(h);
  dv8__handles_remove(&rt->handles, h);
  dv8__metrics_handle_closed(rt, hh->metric_type, hh->counters);
  if (dv8__posted_drop != NULL) /* h's memory goes: nothing may point at it */
    dv8__posted_drop(rt, h);
  /* The module's free may still call what its slots hold (a last callback);
   * the slots go after it, and h's memory with it. */
  void *slots = hh->slots;
  hh->type->free(h);
  if (slots != NULL && dv8__slots_release != NULL)
    dv8__slots_release(slots);
}

void dv8__handle_close(dv8_handle_t *h) {
  dv8_head_t *hh = DV8_HEAD(h);
  if (hh->flags & DV8_HANDLE_CLOSING)
    return;
  hh->flags |= DV8_HANDLE_CLOSING;
  hh->counters[DV8_COUNTER_CLOSES]++;
  /* A closed handle's events end with its close, read or not. */
  if (dv8__posted_drop != NULL)
    dv8__posted_drop(hh->uv->loop->data, h);
  void (*close)(dv8_handle_t *) = DV8_TYPE_OP(hh->type, close);
  if (close != NULL)
    close(h);
  uv_close(hh->uv, on_handle_closed);
}
