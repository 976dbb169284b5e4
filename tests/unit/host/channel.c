/* Channels: messages go through in order both ways; the bound refuses a
 * send (the message stays the caller's) and the refused sender is told when
 * the queue drained; control messages pass the bound and come ahead of data;
 * a forced send passes it but counts; requeued messages come first again;
 * detaching frees what was queued to the side that left, and the last side
 * frees the channel (LSan checks under SAN=address). Two threads, each with
 * its own loop woken through the channel, exchange 100,000 messages each
 * way, then one way only, through a small bound; every loop closes cleanly.
 */
#include <stdint.h>
#include <string.h>

#include "host/host.h"
#include "unit.h"

const dv8_api_t dv8__api_table;

/* What a message holds against the bound (channel.c's cost()). */
#define COST(len) (sizeof(dv8_message_t) + (len))

/* Attachments released through dv8__message_release, counted. */
static int released;
static int attachment;

static void count_release(void *attached) {
  ASSERT(attached == &attachment);
  released++;
}

/* A data message of len bytes holding seq in its first byte. */
static dv8_message_t *message(uint8_t seq, size_t len) {
  dv8_message_t *m = dv8__message_new(DV8_MSG_DATA, len);
  ASSERT(m != NULL);
  ASSERT_EQ(m->len, len);
  ASSERT(m->next == NULL && m->attached == NULL && m->flags == 0);
  memset(m->data, seq, len);
  return m;
}

static dv8_message_t *control(uint8_t seq) {
  dv8_message_t *m = dv8__message_new(DV8_MSG_SIGNAL, 1);
  ASSERT(m != NULL);
  m->data[0] = seq;
  return m;
}

/* Asserts that list holds messages with these first bytes, in order, and
 * frees it. */
static void expect(dv8_message_t *list, const uint8_t *seqs, size_t n) {
  dv8_message_t *m = list;
  for (size_t i = 0; i < n; i++) {
    ASSERT(m != NULL);
    ASSERT_EQ(m->data[0], seqs[i]);
    m = m->next;
  }
  ASSERT(m == NULL);
  dv8__message_free(list);
}

static void expect_stats(dv8_channel_t *c, int side, size_t count,
                         size_t bytes) {
  size_t n = 99, b = 99;
  dv8__channel_stats(c, side, &n, &b);
  ASSERT_EQ(n, count);
  ASSERT_EQ(b, bytes);
}

static void test_in_order_both_ways(void) {
  dv8_channel_t *c;
  ASSERT_EQ(dv8__channel_new(&c, 1 << 20), 0);
  int drained = -1;
  ASSERT(dv8__channel_take(c, 0, &drained) == NULL);
  ASSERT_EQ(drained, 0);
  for (int from = 0; from < 2; from++) {
    for (uint8_t i = 1; i <= 3; i++)
      ASSERT_EQ(dv8__channel_send(c, from, message(i, 10 * i)), 0);
    expect_stats(c, 1 - from, 3, COST(10) + COST(20) + COST(30));
    expect_stats(c, from, 0, 0);
    /* Nothing was sent to the sender's own side. */
    ASSERT(dv8__channel_take(c, from, &drained) == NULL);
    dv8_message_t *list = dv8__channel_take(c, 1 - from, &drained);
    ASSERT_EQ(drained, 0);
    for (dv8_message_t *m = list; m != NULL; m = m->next)
      ASSERT_EQ(m->len, 10 * m->data[0]);
    expect(list, (const uint8_t[]){1, 2, 3}, 3);
    expect_stats(c, 1 - from, 0, 0);
    ASSERT(dv8__channel_take(c, 1 - from, &drained) == NULL);
  }
  ASSERT_EQ(dv8__channel_peer_gone(c, 0), 0);
  ASSERT_EQ(dv8__channel_peer_gone(c, 1), 0);
  dv8__channel_detach(c, 0);
  dv8__channel_detach(c, 1);
}

static void test_bound_and_drain(void) {
  dv8_channel_t *c;
  ASSERT_EQ(dv8__channel_new(&c, 2 * COST(100)), 0);
  int drained = -1;
  ASSERT_EQ(dv8__channel_send(c, 0, message(1, 100)), 0);
  ASSERT_EQ(dv8__channel_send(c, 0, message(2, 100)), 0);
  dv8_message_t *refused = message(3, 100);
  ASSERT_EQ(dv8__channel_send(c, 0, refused), DV8_EFULL);
  /* Still the caller's: untouched and not queued. */
  ASSERT(refused->next == NULL && refused->data[0] == 3);
  expect_stats(c, 1, 2, 2 * COST(100));
  /* The other direction has its own bound. */
  ASSERT_EQ(dv8__channel_send(c, 1, message(7, 100)), 0);
  /* No drain before the receiver takes. */
  expect(dv8__channel_take(c, 0, &drained), (const uint8_t[]){7}, 1);
  ASSERT_EQ(drained, 0);
  ASSERT_EQ(dv8__channel_send(c, 0, refused), DV8_EFULL);
  /* The receiver takes: the sender is told, once. */
  expect(dv8__channel_take(c, 1, &drained), (const uint8_t[]){1, 2}, 2);
  ASSERT_EQ(drained, 0);
  ASSERT(dv8__channel_take(c, 0, &drained) == NULL);
  ASSERT_EQ(drained, 1);
  ASSERT(dv8__channel_take(c, 0, &drained) == NULL);
  ASSERT_EQ(drained, 0);
  ASSERT_EQ(dv8__channel_send(c, 0, refused), 0);
  /* A take with nobody refused tells nobody. */
  expect(dv8__channel_take(c, 1, &drained), (const uint8_t[]){3}, 1);
  ASSERT(dv8__channel_take(c, 0, &drained) == NULL);
  ASSERT_EQ(drained, 0);
  /* One message always fits an empty queue, however big; the next waits. */
  ASSERT_EQ(dv8__channel_send(c, 0, message(4, 10 * COST(100))), 0);
  dv8_message_t *small = message(5, 1);
  ASSERT_EQ(dv8__channel_send(c, 0, small), DV8_EFULL);
  dv8__message_free(small);
  expect(dv8__channel_take(c, 1, &drained), (const uint8_t[]){4}, 1);
  ASSERT(dv8__channel_take(c, 0, &drained) == NULL);
  ASSERT_EQ(drained, 1);
  dv8__channel_detach(c, 1);
  dv8__channel_detach(c, 0);
}

static void test_control_ahead_of_data(void) {
  dv8_channel_t *c;
  ASSERT_EQ(dv8__channel_new(&c, COST(100)), 0);
  int drained = -1;
  ASSERT(dv8__channel_take_control(c, 1, &drained) == NULL);
  ASSERT_EQ(drained, 0);
  ASSERT_EQ(dv8__channel_send(c, 0, message(1, 100)), 0);
  dv8_message_t *refused = message(2, 100);
  ASSERT_EQ(dv8__channel_send(c, 0, refused), DV8_EFULL);
  /* Control messages pass a full bound and are not counted in bytes. */
  dv8_message_t *c1 = control(11);
  ASSERT_EQ(dv8__channel_send_control(c, 0, c1), 0);
  ASSERT(c1->flags & DV8_MESSAGE_CONTROL);
  ASSERT_EQ(dv8__channel_send_control(c, 0, control(12)), 0);
  expect_stats(c, 1, 3, COST(100));
  /* take_control takes them ahead of the data sent before them. */
  expect(dv8__channel_take_control(c, 1, &drained), (const uint8_t[]){11, 12},
         2);
  ASSERT_EQ(drained, 0);
  expect_stats(c, 1, 1, COST(100));
  ASSERT(dv8__channel_take_control(c, 1, &drained) == NULL);
  /* Taking control messages drains nothing: the data still waits. */
  ASSERT(dv8__channel_take(c, 0, &drained) == NULL);
  ASSERT_EQ(drained, 0);
  ASSERT_EQ(dv8__channel_send(c, 0, refused), DV8_EFULL);
  /* The queue's tail is the data message left: later sends follow it. */
  ASSERT_EQ(dv8__channel_send_control(c, 0, control(13)), 0);
  expect(dv8__channel_take(c, 1, &drained), (const uint8_t[]){1, 13}, 2);
  expect_stats(c, 1, 0, 0);
  ASSERT_EQ(dv8__channel_send(c, 0, refused), 0);
  /* Interleaved: data, control, data, control; only control comes out. */
  ASSERT_EQ(dv8__channel_send_control(c, 0, control(14)), 0);
  ASSERT_EQ(dv8__channel_send_forced(c, 0, message(3, 1)), 0);
  ASSERT_EQ(dv8__channel_send_control(c, 0, control(15)), 0);
  expect(dv8__channel_take_control(c, 1, &drained), (const uint8_t[]){14, 15},
         2);
  expect_stats(c, 1, 2, COST(100) + COST(1));
  ASSERT_EQ(dv8__channel_send_forced(c, 0, message(4, 1)), 0);
  expect(dv8__channel_take(c, 1, &drained), (const uint8_t[]){2, 3, 4}, 3);
  /* Only control messages queued: taking them empties the queue, and a
   * later send starts it afresh. */
  ASSERT_EQ(dv8__channel_send_control(c, 0, control(16)), 0);
  expect(dv8__channel_take_control(c, 1, &drained), (const uint8_t[]){16}, 1);
  expect_stats(c, 1, 0, 0);
  ASSERT(dv8__channel_take(c, 1, &drained) == NULL);
  ASSERT_EQ(dv8__channel_send(c, 0, message(5, 1)), 0);
  ASSERT_EQ(dv8__channel_send_control(c, 0, control(17)), 0);
  expect(dv8__channel_take(c, 1, &drained), (const uint8_t[]){5, 17}, 2);
  /* take_control reports a drain too (a refused sender waits on it). */
  ASSERT_EQ(dv8__channel_send(c, 1, message(6, 100)), 0);
  dv8_message_t *back = message(7, 100);
  ASSERT_EQ(dv8__channel_send(c, 1, back), DV8_EFULL);
  expect(dv8__channel_take(c, 0, &drained), (const uint8_t[]){6}, 1);
  ASSERT(dv8__channel_take_control(c, 1, &drained) == NULL);
  ASSERT_EQ(drained, 1);
  dv8__message_free(back);
  dv8__channel_detach(c, 0);
  dv8__channel_detach(c, 1);
}

static void test_forced_past_the_bound(void) {
  dv8_channel_t *c;
  ASSERT_EQ(dv8__channel_new(&c, COST(10)), 0);
  int drained = -1;
  ASSERT_EQ(dv8__channel_send(c, 0, message(1, 10)), 0);
  dv8_message_t *m = message(2, 10);
  ASSERT_EQ(dv8__channel_send(c, 0, m), DV8_EFULL);
  ASSERT_EQ(dv8__channel_send_forced(c, 0, m), 0);
  ASSERT_EQ(dv8__channel_send_forced(c, 0, message(3, 10)), 0);
  /* Counted, and not control: the bound still refuses plain sends. */
  ASSERT(!(m->flags & DV8_MESSAGE_CONTROL));
  expect_stats(c, 1, 3, 3 * COST(10));
  dv8_message_t *refused = message(4, 10);
  ASSERT_EQ(dv8__channel_send(c, 0, refused), DV8_EFULL);
  expect(dv8__channel_take_control(c, 1, &drained), NULL, 0);
  expect(dv8__channel_take(c, 1, &drained), (const uint8_t[]){1, 2, 3}, 3);
  ASSERT(dv8__channel_take(c, 0, &drained) == NULL);
  ASSERT_EQ(drained, 1);
  ASSERT_EQ(dv8__channel_send(c, 0, refused), 0);
  expect(dv8__channel_take(c, 1, &drained), (const uint8_t[]){4}, 1);
  dv8__channel_detach(c, 0);
  dv8__channel_detach(c, 1);
}

/* Splits list after its first n messages; returns the rest. */
static dv8_message_t *split(dv8_message_t *list, size_t n) {
  dv8_message_t *m = list;
  for (size_t i = 1; i < n; i++)
    m = m->next;
  dv8_message_t *rest = m->next;
  m->next = NULL;
  return rest;
}

static void test_requeue(void) {
  dv8_channel_t *c;
  ASSERT_EQ(dv8__channel_new(&c, 1 << 20), 0);
  int drained = -1;
  dv8__channel_requeue(c, 1, NULL); /* nothing to put back */
  expect_stats(c, 1, 0, 0);
  for (uint8_t i = 1; i <= 5; i++)
    ASSERT_EQ(dv8__channel_send(c, 0, message(i, 8)), 0);
  ASSERT_EQ(dv8__channel_send_control(c, 0, control(6)), 0);
  dv8_message_t *list = dv8__channel_take(c, 1, &drained);
  /* Two were delivered; the rest go back in front of what came since. */
  dv8_message_t *rest = split(list, 2);
  expect(list, (const uint8_t[]){1, 2}, 2);
  ASSERT_EQ(dv8__channel_send(c, 0, message(7, 8)), 0);
  dv8__channel_requeue(c, 1, rest);
  expect_stats(c, 1, 5, 4 * COST(8)); /* the control message is not bytes */
  ASSERT_EQ(dv8__channel_send(c, 0, message(8, 8)), 0);
  list = dv8__channel_take(c, 1, &drained);
  expect(list, (const uint8_t[]){3, 4, 5, 6, 7, 8}, 6);
  /* Into an empty queue: later sends follow the requeued ones. */
  for (uint8_t i = 1; i <= 3; i++)
    ASSERT_EQ(dv8__channel_send(c, 0, message(i, 8)), 0);
  list = dv8__channel_take(c, 1, &drained);
  expect_stats(c, 1, 0, 0);
  dv8__channel_requeue(c, 1, list);
  expect_stats(c, 1, 3, 3 * COST(8));
  ASSERT_EQ(dv8__channel_send(c, 0, message(4, 8)), 0);
  expect(dv8__channel_take(c, 1, &drained), (const uint8_t[]){1, 2, 3, 4}, 4);
  /* Requeued messages count against the bound again. */
  dv8_channel_t *b;
  ASSERT_EQ(dv8__channel_new(&b, 2 * COST(8)), 0);
  ASSERT_EQ(dv8__channel_send(b, 0, message(1, 8)), 0);
  ASSERT_EQ(dv8__channel_send(b, 0, message(2, 8)), 0);
  list = dv8__channel_take(b, 1, &drained);
  dv8__channel_requeue(b, 1, list);
  dv8_message_t *refused = message(3, 8);
  ASSERT_EQ(dv8__channel_send(b, 0, refused), DV8_EFULL);
  dv8__message_free(refused);
  dv8__channel_detach(b, 0);
  dv8__channel_detach(b, 1);
  dv8__channel_detach(c, 1);
  dv8__channel_detach(c, 0);
}

static dv8_message_t *attached(uint8_t seq) {
  dv8_message_t *m = message(seq, 4);
  m->attached = &attachment;
  return m;
}

static void test_detach(void) {
  dv8__message_release = count_release;
  dv8_channel_t *c;
  ASSERT_EQ(dv8__channel_new(&c, 1 << 20), 0);
  int drained = -1;
  for (uint8_t i = 1; i <= 3; i++)
    ASSERT_EQ(dv8__channel_send(c, 0, attached(i)), 0);
  ASSERT_EQ(dv8__channel_send_control(c, 0, control(4)), 0);
  ASSERT_EQ(dv8__channel_send(c, 1, attached(5)), 0);
  ASSERT_EQ(dv8__channel_send_control(c, 1, control(6)), 0);
  /* Side 1 leaves: what was queued to it is freed, what it sent stays. */
  released = 0;
  dv8__channel_detach(c, 1);
  ASSERT_EQ(released, 3);
  ASSERT_EQ(dv8__channel_peer_gone(c, 0), 0); /* messages left to take */
  expect_stats(c, 0, 2, COST(4));
  dv8_message_t *m = attached(7);
  ASSERT_EQ(dv8__channel_send(c, 0, m), DV8_ECLOSED);
  ASSERT_EQ(dv8__channel_send_control(c, 0, m), DV8_ECLOSED);
  ASSERT_EQ(dv8__channel_send_forced(c, 0, m), DV8_ECLOSED);
  ASSERT(m->next == NULL && released == 3);
  dv8__message_free(m);
  ASSERT_EQ(released, 4);
  expect(dv8__channel_take(c, 0, &drained), (const uint8_t[]){5, 6}, 2);
  ASSERT_EQ(released, 5);
  ASSERT_EQ(dv8__channel_peer_gone(c, 0), 1);
  dv8__channel_detach(c, 0); /* the last side: the channel is freed */

  /* The last side to leave frees what is still queued to it. */
  ASSERT_EQ(dv8__channel_new(&c, 1 << 20), 0);
  ASSERT_EQ(dv8__channel_send(c, 0, attached(1)), 0);
  ASSERT_EQ(dv8__channel_send(c, 1, attached(2)), 0);
  ASSERT_EQ(dv8__channel_send(c, 1, attached(3)), 0);
  ASSERT_EQ(dv8__channel_send_control(c, 1, control(4)), 0);
  released = 0;
  dv8__channel_detach(c, 1);
  ASSERT_EQ(released, 1);
  dv8__channel_detach(c, 0);
  ASSERT_EQ(released, 3);
  dv8__message_release = NULL;
}

static void test_message_new_huge(void) {
  /* The header plus len does not fit a size_t: no allocation, no write. */
  ASSERT(dv8__message_new(DV8_MSG_DATA, SIZE_MAX) == NULL);
  ASSERT(dv8__message_new(DV8_MSG_DATA, SIZE_MAX - sizeof(dv8_message_t) + 1) ==
         NULL);
  /* Representable but more than any machine has (under ASan, run-all sets
   * allocator_may_return_null). */
  ASSERT(dv8__message_new(DV8_MSG_DATA, SIZE_MAX / 2) == NULL);
  dv8_message_t *m = dv8__message_new(DV8_MSG_EXIT, 0);
  ASSERT(m != NULL && m->len == 0 && m->kind == DV8_MSG_EXIT);
  dv8__message_free(m);
  dv8__message_free(NULL);
}

/* ---- wake-ups through a real loop ---- */

static int wakes;

static void on_wake(uv_async_t *async) {
  (void)async;
  wakes++;
}

static void on_close_count(uv_handle_t *h) { *(int *)h->data += 1; }

static void test_wake_in_one_loop(void) {
  uv_loop_t loop;
  uv_async_t async;
  int closed = 0;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  ASSERT_EQ(uv_async_init(&loop, &async, on_wake), 0);
  async.data = &closed;
  dv8_channel_t *c;
  ASSERT_EQ(dv8__channel_new(&c, COST(1)), 0);
  int drained = -1;
  wakes = 0;
  /* Queued before side 1 had an async: announced when it gets one. */
  ASSERT_EQ(dv8__channel_send(c, 0, message(1, 1)), 0);
  uv_run(&loop, UV_RUN_NOWAIT);
  ASSERT_EQ(wakes, 0);
  dv8__channel_set_wake(c, 1, &async);
  uv_run(&loop, UV_RUN_NOWAIT);
  ASSERT_EQ(wakes, 1);
  expect(dv8__channel_take(c, 1, &drained), (const uint8_t[]){1}, 1);
  uv_run(&loop, UV_RUN_NOWAIT);
  ASSERT_EQ(wakes, 1);
  /* A send to side 1 wakes it. */
  ASSERT_EQ(dv8__channel_send(c, 0, message(2, 1)), 0);
  uv_run(&loop, UV_RUN_NOWAIT);
  ASSERT_EQ(wakes, 2);
  expect(dv8__channel_take(c, 1, &drained), (const uint8_t[]){2}, 1);
  /* Side 1's own sends do not; a drain it waits for does. */
  ASSERT_EQ(dv8__channel_send(c, 1, message(3, 1)), 0);
  dv8_message_t *refused = message(4, 1);
  ASSERT_EQ(dv8__channel_send(c, 1, refused), DV8_EFULL);
  uv_run(&loop, UV_RUN_NOWAIT);
  ASSERT_EQ(wakes, 2);
  expect(dv8__channel_take(c, 0, &drained), (const uint8_t[]){3}, 1);
  uv_run(&loop, UV_RUN_NOWAIT);
  ASSERT_EQ(wakes, 3);
  ASSERT(dv8__channel_take(c, 1, &drained) == NULL);
  ASSERT_EQ(drained, 1);
  ASSERT_EQ(dv8__channel_send(c, 1, refused), 0);
  /* The peer leaving wakes side 1 too. */
  dv8__channel_detach(c, 0);
  uv_run(&loop, UV_RUN_NOWAIT);
  ASSERT_EQ(wakes, 4);
  ASSERT_EQ(dv8__channel_peer_gone(c, 1), 1);
  /* After set_wake(NULL) nothing touches the async: it may close. */
  dv8__channel_set_wake(c, 1, NULL);
  uv_close((uv_handle_t *)&async, on_close_count);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ(closed, 1);
  dv8__channel_detach(c, 1);
  ASSERT_EQ(uv_loop_close(&loop), 0);
}

/* ---- two threads, two loops, 100,000 messages ---- */

enum { STREAM_COUNT = 100000 };

/* One side of the exchange, run by its own thread in its own loop. */
typedef struct {
  uv_loop_t loop;
  uv_async_t async;
  dv8_channel_t *c;
  int side;
  uint32_t to_send, to_receive;
  uint32_t sent, received;
  dv8_message_t *refused; /* refused with DV8_EFULL, sent again once drained */
  int waiting;            /* refused: sends nothing until told of a drain */
  unsigned efull, drains;
  int wait_for_peer; /* finishes only once the peer has detached */
} stream_side;

/* Body bytes of message seq from side: a length and contents that differ
 * from message to message and from side to side. */
static size_t stream_len(int side, uint32_t seq) {
  return 8 + (seq * 7 + (uint32_t)side) % 57;
}

static uint32_t fnv1a(const uint8_t *p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 16777619u;
  return h;
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static uint32_t get32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* [seq][checksum of the rest][bytes from a generator seeded by seq, side]. */
static dv8_message_t *stream_message(int side, uint32_t seq) {
  size_t len = stream_len(side, seq);
  dv8_message_t *m = dv8__message_new(DV8_MSG_DATA, len);
  ASSERT(m != NULL);
  uint32_t x = seq * 2654435761u + (uint32_t)side + 1;
  for (size_t i = 8; i < len; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    m->data[i] = (uint8_t)x;
  }
  put32(m->data, seq);
  put32(m->data + 4, fnv1a(m->data + 8, len - 8));
  return m;
}

static void stream_pump(stream_side *s) {
  while (!s->waiting && s->sent < s->to_send) {
    dv8_message_t *m =
        s->refused != NULL ? s->refused : stream_message(s->side, s->sent);
    int err = dv8__channel_send(s->c, s->side, m);
    if (err == DV8_EFULL) {
      s->refused = m;
      s->waiting = 1;
      s->efull++;
      return;
    }
    ASSERT_EQ(err, 0);
    s->refused = NULL;
    s->sent++;
  }
}

static void on_stream_wake(uv_async_t *async) {
  stream_side *s = async->data;
  int drained;
  dv8_message_t *list = dv8__channel_take(s->c, s->side, &drained);
  for (dv8_message_t *m = list; m != NULL; m = m->next) {
    /* From the peer, in order, whole. */
    ASSERT(s->received < s->to_receive);
    ASSERT_EQ(m->kind, DV8_MSG_DATA);
    ASSERT_EQ(m->len, stream_len(1 - s->side, s->received));
    ASSERT_EQ(get32(m->data), s->received);
    ASSERT_EQ(get32(m->data + 4), fnv1a(m->data + 8, m->len - 8));
    s->received++;
  }
  dv8__message_free(list);
  if (drained) {
    /* Told only after a refusal, once per refusal. */
    ASSERT(s->waiting);
    s->waiting = 0;
    s->drains++;
  }
  stream_pump(s);
  if (s->sent < s->to_send || s->received < s->to_receive)
    return;
  if (s->wait_for_peer && !dv8__channel_peer_gone(s->c, s->side))
    return;
  dv8__channel_detach(s->c, s->side);
  uv_close((uv_handle_t *)&s->async, NULL);
}

static void stream_start(stream_side *s, dv8_channel_t *c, int side) {
  s->c = c;
  s->side = side;
  ASSERT_EQ(uv_loop_init(&s->loop), 0);
  ASSERT_EQ(uv_async_init(&s->loop, &s->async, on_stream_wake), 0);
  s->async.data = s;
  dv8__channel_set_wake(c, side, &s->async);
}

static void stream_run(stream_side *s) {
  stream_pump(s);
  ASSERT_EQ(uv_run(&s->loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(uv_loop_close(&s->loop), 0);
}

static void stream_thread(void *arg) {
  stream_side *s = arg;
  /* Side 1 may already have sent: set_wake announces it. */
  stream_start(s, s->c, 0);
  stream_run(s);
}

/* Side 0 sends from a new thread, side 1 from this one; each receives
 * what the other sends. */
static void exchange(uint32_t from_0, uint32_t from_1) {
  dv8_channel_t *c;
  /* Room for a few messages: senders are refused and drained often. */
  ASSERT_EQ(dv8__channel_new(&c, 4 * COST(40)), 0);
  stream_side a, b;
  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  a.to_send = b.to_receive = from_0;
  b.to_send = a.to_receive = from_1;
  stream_start(&b, c, 1);
  b.wait_for_peer = 1; /* the peer's detach wakes this loop one last time */
  a.c = c;
  uv_thread_t thread;
  ASSERT_EQ(uv_thread_create(&thread, stream_thread, &a), 0);
  stream_run(&b);
  ASSERT_EQ(uv_thread_join(&thread), 0);
  stream_side *sides[2] = {&a, &b};
  for (int i = 0; i < 2; i++) {
    stream_side *s = sides[i];
    ASSERT_EQ(s->sent, s->to_send);
    ASSERT_EQ(s->received, s->to_receive);
    ASSERT(s->refused == NULL && !s->waiting);
    ASSERT(s->efull > 0 || s->to_send == 0);
    ASSERT_EQ(s->drains, s->efull);
  }
}

static void test_two_threads(void) {
  /* Both ways at once. */
  exchange(STREAM_COUNT, STREAM_COUNT);
  /* One way: nothing but the drain news wakes the refused sender. */
  exchange(STREAM_COUNT, 0);
}

int main(void) {
  test_in_order_both_ways();
  test_bound_and_drain();
  test_control_ahead_of_data();
  test_forced_past_the_bound();
  test_requeue();
  test_detach();
  test_message_new_huge();
  test_wake_in_one_loop();
  test_two_threads();
  return 0;
}
