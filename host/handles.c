/*
 * The handle table: every long-lived libuv handle of a thread, so that the
 * host can pause, re-wrap and move handles without knowing what they are.
 *
 * Threads: one table per runtime thread, touched only by that thread.
 * Lifetime: a handle is in the table from dv8->handle_register() until its
 * uv_close callback has run; the module's struct is freed (type->free) right
 * after it leaves the table.
 */
#include <stdlib.h>
#include <string.h>

#include "host/host.h"

#define GENERATION_BITS (32 - DV8_HANDLE_INDEX_BITS)
#define GENERATION_MASK ((1u << GENERATION_BITS) - 1)

static uint32_t make_id(uint32_t index, uint32_t generation) {
  return index | (generation << DV8_HANDLE_INDEX_BITS);
}

void dv8__handles_init(dv8_handle_table_t *t) { memset(t, 0, sizeof(*t)); }

void dv8__handles_free(dv8_handle_table_t *t) {
  CHECK(t->live == 0);
  free(t->slots);
  free(t->generations);
  free(t->free_list);
  memset(t, 0, sizeof(*t));
}

static int grow(dv8_handle_table_t *t) {
  uint32_t cap = t->capacity ? t->capacity * 2 : 64;
  if (cap > DV8_HANDLE_MAX)
    cap = DV8_HANDLE_MAX;
  if (cap == t->capacity)
    return UV_EMFILE;
  dv8_handle_t **slots = realloc(t->slots, cap * sizeof(*slots));
  if (slots == NULL)
    return UV_ENOMEM;
  t->slots = slots;
  uint16_t *gens = realloc(t->generations, cap * sizeof(*gens));
  if (gens == NULL)
    return UV_ENOMEM;
  t->generations = gens;
  uint32_t *free_list = realloc(t->free_list, cap * sizeof(*free_list));
  if (free_list == NULL)
    return UV_ENOMEM;
  t->free_list = free_list;
  for (uint32_t i = t->capacity; i < cap; i++) {
    t->slots[i] = NULL;
    t->generations[i] = 1; /* so that no id is ever 0 */
  }
  t->capacity = cap;
  return 0;
}

int dv8__handles_add(dv8_handle_table_t *t, dv8_handle_t *h) {
  uint32_t index;
  if (t->free_count > 0) {
    index = t->free_list[--t->free_count];
  } else {
    if (t->used == t->capacity) {
      int err = grow(t);
      if (err)
        return err;
    }
    index = t->used++;
  }
  t->slots[index] = h;
  t->live++;
  h->id = make_id(index, t->generations[index]);
  return 0;
}

void dv8__handles_remove(dv8_handle_table_t *t, dv8_handle_t *h) {
  uint32_t index = h->id & (DV8_HANDLE_MAX - 1);
  CHECK(index < t->used && t->slots[index] == h);
  t->slots[index] = NULL;
  /* Generation 0 is skipped so that ids stay non-zero. */
  uint32_t gen = (t->generations[index] + 1) & GENERATION_MASK;
  t->generations[index] = gen ? gen : 1;
  t->free_list[t->free_count++] = index;
  t->live--;
}

int dv8__handles_rehome(dv8_handle_table_t *t, dv8_handle_t *h, uint32_t id) {
  uint32_t index = id & (DV8_HANDLE_MAX - 1);
  uint32_t gen = id >> DV8_HANDLE_INDEX_BITS;
  if (gen == 0 || gen > GENERATION_MASK)
    return UV_EINVAL;
  if (h->id == id)
    return 0;
  if (index < t->used && t->slots[index] == h) { /* the slot, not the id */
    t->generations[index] = (uint16_t)gen;
    h->id = id;
    return 0;
  }
  while (index >= t->capacity) {
    int err = grow(t);
    if (err)
      return err;
  }
  /* Slots up to index become known (free) if they never were. */
  while (t->used <= index)
    t->free_list[t->free_count++] = t->used++;
  if (t->slots[index] != NULL)
    return UV_EADDRINUSE;
  for (uint32_t i = 0; i < t->free_count; i++)
    if (t->free_list[i] == index) {
      t->free_list[i] = t->free_list[--t->free_count];
      break;
    }
  uint32_t old = h->id & (DV8_HANDLE_MAX - 1);
  t->slots[old] = NULL;
  uint32_t old_gen = (t->generations[old] + 1) & GENERATION_MASK;
  t->generations[old] = old_gen ? old_gen : 1;
  t->free_list[t->free_count++] = old;
  t->slots[index] = h;
  t->generations[index] = (uint16_t)gen;
  h->id = id;
  return 0;
}

dv8_handle_t *dv8__handles_find(dv8_handle_table_t *t, uint32_t id) {
  uint32_t index = id & (DV8_HANDLE_MAX - 1);
  if (index >= t->used || t->slots[index] == NULL)
    return NULL;
  if (t->slots[index]->id != id)
    return NULL;
  return t->slots[index];
}

void dv8__handles_each(dv8_handle_table_t *t,
                       void (*fn)(dv8_handle_t *h, void *arg), void *arg) {
  for (uint32_t i = 0; i < t->used; i++)
    if (t->slots[i] != NULL)
      fn(t->slots[i], arg);
}

void dv8__handles_close_all(dv8_handle_table_t *t) {
  for (uint32_t i = 0; i < t->used; i++)
    if (t->slots[i] != NULL)
      dv8__handle_close(t->slots[i]);
}

int dv8__handle_register(dv8_runtime_t *rt, dv8_env_t *env, dv8_handle_t *h,
                         const dv8_handle_type_t *type, uv_handle_t *uv) {
  if (type == NULL || uv == NULL || type->free == NULL)
    return UV_EINVAL;
  memset(h->counters, 0, sizeof(h->counters));
  h->type = type;
  h->uv = uv;
  h->env = env;
  h->flags = 0;
  uv->data = h;
  return dv8__handles_add(&rt->handles, h);
}

static void on_handle_closed(uv_handle_t *uv) {
  dv8_handle_t *h = uv->data;
  dv8_runtime_t *rt = uv->loop->data;
  dv8__handles_remove(&rt->handles, h);
  h->type->free(h);
}

void dv8__handle_close(dv8_handle_t *h) {
  if (h->flags & DV8_HANDLE_CLOSING)
    return;
  h->flags |= DV8_HANDLE_CLOSING;
  h->counters[DV8_COUNTER_CLOSES]++;
  uv_close(h->uv, on_handle_closed);
}
