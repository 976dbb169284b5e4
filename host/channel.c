/*
 * Channels: two bounded queues of messages between two threads (side 0 and
 * side 1), each side woken through a uv_async_t in its own loop. DESIGN.md,
 * Channels.
 *
 * Threads: every field is guarded by the channel's lock; a side's async is
 * sent to only under the lock and only while attached, so a side that
 * detaches (and then closes its async) is never woken after.
 */
#include <pthread.h>
#include <string.h>

#include "host/host.h"

struct dv8_channel_s {
  uv_mutex_t lock;
  struct {
    dv8_message_t *head, *tail;
    size_t count;
    size_t bytes;     /* memory queued (control messages not counted) */
    int sender_full;  /* the other side got DV8_EFULL sending here */
    int drain_ready;  /* this side may send again (set by the other side) */
    uv_async_t *wake; /* this side's async; NULL once it detached */
    int attached;
    int polling; /* this side polls its queue: messages need no wake-up */
  } side[2];
  size_t limit; /* bytes per direction */
  int refs;
};

int dv8__channel_new(dv8_channel_t **out, size_t limit) {
  dv8_channel_t *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return UV_ENOMEM;
  /* Adaptive: the critical sections are a few pointer moves, so a thread
   * that finds the lock taken spins briefly instead of sleeping in the
   * kernel (a futex sleep and wake-up cost ~100 us here). */
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
  int err = pthread_mutex_init(&c->lock, &attr);
  pthread_mutexattr_destroy(&attr);
  if (err != 0) {
    free(c);
    return UV_ENOMEM;
  }
  c->limit = limit;
  c->refs = 2;
  c->side[0].attached = c->side[1].attached = 1;
  *out = c;
  return 0;
}

dv8_message_t *dv8__message_new(uint32_t kind, size_t len) {
  if (len > SIZE_MAX - sizeof(dv8_message_t))
    return NULL; /* the size would wrap to a small allocation */
  dv8_message_t *m = malloc(sizeof(*m) + len);
  if (m == NULL)
    return NULL;
  memset(m, 0, sizeof(*m));
  m->kind = kind;
  m->len = len;
  return m;
}

void (*dv8__message_release)(void *attached);

void dv8__message_free(dv8_message_t *m) {
  while (m != NULL) {
    dv8_message_t *next = m->next;
    if (m->attached != NULL && dv8__message_release != NULL)
      dv8__message_release(m->attached);
    free(m);
    m = next;
  }
}

void dv8__channel_set_wake(dv8_channel_t *c, int side, uv_async_t *wake) {
  uv_mutex_lock(&c->lock);
  c->side[side].wake = wake;
  /* Anything queued before the side had an async is announced now. */
  if (wake != NULL && c->side[side].head != NULL)
    uv_async_send(wake);
  uv_mutex_unlock(&c->lock);
}

/* A side that polls finds what arrives without its async: skipping the
 * wake-up spares the sender a write and the receiver a read and a poll
 * (dv8__channel_polling says when a side stops, under the same lock). */
static void wake(dv8_channel_t *c, int side) {
  if (c->side[side].wake != NULL && !c->side[side].polling)
    uv_async_send(c->side[side].wake);
}

int dv8__channel_ready(dv8_channel_t *c, int side) {
  return __atomic_load_n(&c->side[side].head, __ATOMIC_ACQUIRE) != NULL ||
         __atomic_load_n(&c->side[side].drain_ready, __ATOMIC_ACQUIRE) ||
         !__atomic_load_n(&c->side[1 - side].attached, __ATOMIC_ACQUIRE);
}

int dv8__channel_polling(dv8_channel_t *c, int side, int on) {
  uv_mutex_lock(&c->lock);
  c->side[side].polling = on;
  int waiting = dv8__channel_ready(c, side);
  uv_mutex_unlock(&c->lock);
  return waiting;
}

/* What a message holds of memory: the bound is on memory, not on data. */
static size_t cost(const dv8_message_t *m) { return sizeof(*m) + m->len; }

static int push(dv8_channel_t *c, int from, dv8_message_t *m, int bounded,
                int force) {
  int to = 1 - from;
  uv_mutex_lock(&c->lock);
  int err = 0;
  if (!c->side[to].attached) {
    err = DV8_ECLOSED;
  } else if (bounded && !force && c->side[to].bytes > 0 &&
             c->side[to].bytes + cost(m) > c->limit) {
    /* One message always fits an empty queue, however big: the bound
     * limits what waits, not what can be sent. */
    c->side[to].sender_full = 1;
    err = DV8_EFULL;
  } else {
    m->next = NULL;
    if (c->side[to].tail != NULL)
      c->side[to].tail->next = m;
    else
      __atomic_store_n(&c->side[to].head, m, __ATOMIC_RELEASE);
    c->side[to].tail = m;
    c->side[to].count++;
    if (bounded)
      c->side[to].bytes += cost(m);
    else
      m->flags |= DV8_MESSAGE_CONTROL;
    wake(c, to);
  }
  uv_mutex_unlock(&c->lock);
  return err;
}

int dv8__channel_send(dv8_channel_t *c, int from, dv8_message_t *m) {
  return push(c, from, m, 1, 0);
}

int dv8__channel_send_control(dv8_channel_t *c, int from, dv8_message_t *m) {
  return push(c, from, m, 0, 0);
}

int dv8__channel_send_forced(dv8_channel_t *c, int from, dv8_message_t *m) {
  return push(c, from, m, 1, 1);
}

dv8_message_t *dv8__channel_take(dv8_channel_t *c, int side, int *drained) {
  int other = 1 - side;
  /* Polling an empty queue takes no lock (see port_poll's spinning). */
  if (__atomic_load_n(&c->side[side].head, __ATOMIC_ACQUIRE) == NULL &&
      !__atomic_load_n(&c->side[side].drain_ready, __ATOMIC_ACQUIRE)) {
    *drained = 0;
    return NULL;
  }
  uv_mutex_lock(&c->lock);
  dv8_message_t *list = c->side[side].head;
  __atomic_store_n(&c->side[side].head, NULL, __ATOMIC_RELAXED);
  c->side[side].tail = NULL;
  c->side[side].count = 0;
  c->side[side].bytes = 0;
  /* The sender that was refused may go on: the queue is empty now. */
  if (list != NULL && c->side[side].sender_full) {
    c->side[side].sender_full = 0;
    __atomic_store_n(&c->side[other].drain_ready, 1, __ATOMIC_RELEASE);
    wake(c, other);
  }
  *drained = c->side[side].drain_ready;
  __atomic_store_n(&c->side[side].drain_ready, 0, __ATOMIC_RELAXED);
  uv_mutex_unlock(&c->lock);
  return list;
}

void dv8__channel_requeue(dv8_channel_t *c, int side, dv8_message_t *list) {
  if (list == NULL)
    return;
  size_t n = 0, bytes = 0;
  dv8_message_t *last = list;
  for (dv8_message_t *m = list; m != NULL; m = m->next) {
    n++;
    if (!(m->flags & DV8_MESSAGE_CONTROL))
      bytes += cost(m);
    last = m;
  }
  uv_mutex_lock(&c->lock);
  last->next = c->side[side].head;
  if (c->side[side].tail == NULL)
    c->side[side].tail = last;
  __atomic_store_n(&c->side[side].head, list, __ATOMIC_RELEASE);
  c->side[side].count += n;
  c->side[side].bytes += bytes;
  uv_mutex_unlock(&c->lock);
}

dv8_message_t *dv8__channel_take_control(dv8_channel_t *c, int side,
                                         int *drained) {
  if (__atomic_load_n(&c->side[side].head, __ATOMIC_ACQUIRE) == NULL &&
      !__atomic_load_n(&c->side[side].drain_ready, __ATOMIC_ACQUIRE)) {
    *drained = 0;
    return NULL;
  }
  uv_mutex_lock(&c->lock);
  *drained = c->side[side].drain_ready;
  __atomic_store_n(&c->side[side].drain_ready, 0, __ATOMIC_RELAXED);
  dv8_message_t *out = NULL, **out_tail = &out;
  dv8_message_t **link = &c->side[side].head, *last = NULL;
  while (*link != NULL) {
    dv8_message_t *m = *link;
    if (m->flags & DV8_MESSAGE_CONTROL) {
      *link = m->next;
      m->next = NULL;
      *out_tail = m;
      out_tail = &m->next;
      c->side[side].count--;
    } else {
      last = m;
      link = &m->next;
    }
  }
  c->side[side].tail = last;
  uv_mutex_unlock(&c->lock);
  return out;
}

int dv8__channel_peer_gone(dv8_channel_t *c, int side) {
  /* Asked at every poll: a peer still there costs no lock. */
  if (__atomic_load_n(&c->side[1 - side].attached, __ATOMIC_ACQUIRE))
    return 0;
  uv_mutex_lock(&c->lock);
  int gone = !c->side[1 - side].attached && c->side[side].head == NULL;
  uv_mutex_unlock(&c->lock);
  return gone;
}

void dv8__channel_stats(dv8_channel_t *c, int side, size_t *count,
                        size_t *bytes) {
  uv_mutex_lock(&c->lock);
  *count = c->side[side].count;
  *bytes = c->side[side].bytes;
  uv_mutex_unlock(&c->lock);
}

void dv8__channel_detach(dv8_channel_t *c, int side) {
  uv_mutex_lock(&c->lock);
  dv8_message_t *left = c->side[side].head;
  __atomic_store_n(&c->side[side].head, NULL, __ATOMIC_RELAXED);
  c->side[side].tail = NULL;
  c->side[side].count = c->side[side].bytes = 0;
  c->side[side].wake = NULL;
  __atomic_store_n(&c->side[side].attached, 0, __ATOMIC_RELEASE);
  c->side[1 - side].polling = 0; /* the peer learns that this side is gone */
  wake(c, 1 - side);
  int last = --c->refs == 0;
  uv_mutex_unlock(&c->lock);
  dv8__message_free(left);
  if (last) {
    dv8__message_free(c->side[1 - side].head);
    uv_mutex_destroy(&c->lock);
    free(c);
  }
}
