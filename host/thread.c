/*
 * Worker threads: each runs its own runtime (loop, isolate, context) and
 * talks to its parent through a channel; only bytes cross. The parent holds
 * a port (side 0) that keeps its loop alive until the thread's exit has
 * been delivered; the thread holds a port (side 1) that keeps the thread's
 * loop alive only while JS listens for messages (thread.js refs it).
 *
 * Threads: the dv8_thread_t is shared. Its lock guards rt (the thread's
 * runtime while its isolate exists, for terminate) and terminating; the
 * channel has its own lock. The parent's port owns one reference, the
 * thread the other; the last one out frees the struct.
 */
#include <string.h>

#include "contexts/contexts.h"
#include "host/host.h"
#include "serdes/serdes.h"

struct dv8_thread_s {
  uv_thread_t tid;
  int joined;
  dv8_channel_t *channel;
  uv_mutex_t lock;
  dv8_runtime_t *rt; /* the thread's runtime while its isolate lives */
  int terminating;
  int refs;
  char *spec;
  int spec_is_source;
  uint8_t *args;
  size_t args_len;
  size_t heap_limit_mb;
  dv8_port_t *parent_port; /* in the thread: its side, made on first use */
  dv8_message_t *result;   /* what the parent gets at exit */
  char name[32];
  /* A spare: started ahead with its isolate and context, it waits (under
   * lock, on cond) to be handed a spec, or to quit. */
  int spare;
  int assigned;
  int quit;
  uv_cond_t cond;
};

static void thread_unref(dv8_thread_t *t) {
  uv_mutex_lock(&t->lock);
  int last = --t->refs == 0;
  uv_mutex_unlock(&t->lock);
  if (!last)
    return;
  dv8__message_free(t->result);
  uv_cond_destroy(&t->cond);
  uv_mutex_destroy(&t->lock);
  free(t->spec);
  free(t->args);
  free(t);
}

/* ---- ports ---- */

static void port_free(dv8_handle_t *h) { free(h); }

/* A reload pauses a port while the new code loads; resuming hands the
 * port to what the new code bound (contexts/thread.cc), and catches up on
 * what arrived meanwhile. */
static int port_pause(dv8_handle_t *h) {
  ((dv8_port_t *)h)->paused = 1;
  DV8_HEAD(h)->counters[DV8_COUNTER_PAUSES]++;
  return 0;
}

static void count_sent(dv8_port_t *p, size_t len) {
  DV8_HEAD(&p->h)->counters[DV8_COUNTER_WRITES]++;
  DV8_HEAD(&p->h)->counters[DV8_COUNTER_BYTES_WRITTEN] += len;
}

/* What the loaded code sent goes after what the old code sent, past the
 * bound (that code was told it went); or is dropped with that code. */
static void release_held(dv8_port_t *p, int send) {
  dv8_message_t *m = p->held;
  p->held = p->held_tail = NULL;
  p->held_env = NULL;
  while (m != NULL) {
    dv8_message_t *next = m->next;
    m->next = NULL;
    if (!send || p->channel == NULL ||
        dv8__channel_send_forced(p->channel, p->side, m) != 0) {
      dv8__message_free(m);
    } else {
      count_sent(p, m->len);
    }
    m = next;
  }
}

static int port_resume(dv8_handle_t *h) {
  dv8_port_t *p = (dv8_port_t *)h;
  p->paused = 0;
  DV8_HEAD(h)->counters[DV8_COUNTER_RESUMES]++;
  /* The commit moved the port to the new code's context; an abort did
   * not. (What a failed attempt's code sent late, its microtasks run
   * after the abort, goes too.) */
  release_held(p, p->held_env == DV8_HEAD(h)->env);
  dv8__port_switch(p);
  uv_async_send(&p->async);
  return 0;
}

static void port_close(dv8_handle_t *h);

/* A port crosses a reload (its thread goes on, talking to the new code)
 * but not an upgrade: the thread lives in this process. */
/* Bytes this end sent that the other has not taken yet (the metrics'
 * queue depth of a thread's channel). */
static size_t port_queued(dv8_handle_t *h) {
  dv8_port_t *p = (dv8_port_t *)h;
  size_t count = 0, bytes = 0;
  if (p->channel != NULL)
    dv8__channel_stats(p->channel, 1 - p->side, &count, &bytes);
  return bytes;
}

const dv8_handle_type_t dv8__port_type = {
    DV8_HANDLE_TYPE_INIT,        .name = "port",
    .on_reload = DV8_CROSS_KEEP, .on_upgrade = DV8_CROSS_REFUSE,
    .pause = port_pause,         .resume = port_resume,
    .close = port_close,         .free = port_free,
    .queued = port_queued,
};

static void on_port_wake(uv_async_t *async);
static void port_finish(dv8_port_t *p);
static void spare_make(void);

static int port_new(dv8_runtime_t *rt, dv8_env_t *env, dv8_channel_t *c,
                    int side, dv8_port_t **out) {
  dv8_port_t *p = calloc(1, sizeof(*p));
  if (p == NULL)
    return UV_ENOMEM;
  int err = uv_async_init(&rt->loop, &p->async, on_port_wake);
  if (err) {
    free(p);
    return err;
  }
  p->channel = c;
  p->side = side;
  p->slot_env = env;
  err = dv8__handle_register(rt, env, &p->h, &dv8__port_type,
                             (uv_handle_t *)&p->async);
  if (err) {
    uv_close((uv_handle_t *)&p->async, (uv_close_cb)free);
    return err;
  }
  dv8__channel_set_wake(c, side, &p->async);
  *out = p;
  return 0;
}

int dv8__port_send(dv8_port_t *p, const uint8_t *data, size_t len,
                   void *attached, int batch, int force, dv8_env_t *from) {
  if (p->channel == NULL)
    return DV8_ECLOSED;
  dv8_message_t *m = dv8__message_new(DV8_MSG_DATA, len);
  if (m == NULL)
    return UV_ENOMEM;
  memcpy(m->data, data, len);
  m->attached = attached;
  if (batch)
    m->flags |= DV8_MESSAGE_BATCH;
  if (from != DV8_HEAD(&p->h)->env) {
    if (p->held_env != from) /* an older attempt's: that code is gone */
      release_held(p, 0);
    p->held_env = from;
    if (p->held_tail != NULL)
      p->held_tail->next = m;
    else
      p->held = m;
    p->held_tail = m;
    return 0;
  }
  int err = force ? dv8__channel_send_forced(p->channel, p->side, m)
                  : dv8__channel_send(p->channel, p->side, m);
  if (err) {
    free(m); /* attached stays the caller's */
    return err;
  }
  count_sent(p, len);
  return 0;
}

void dv8__port_listen(dv8_port_t *p, int on) {
  p->listening = on;
  p->listened |= on;
  if (on)
    uv_async_send(&p->async); /* what waited comes now */
}

int dv8__port_signal(dv8_port_t *p, const char *name, size_t len) {
  if (p->channel == NULL)
    return DV8_ECLOSED;
  dv8_message_t *m = dv8__message_new(DV8_MSG_SIGNAL, len);
  if (m == NULL)
    return UV_ENOMEM;
  memcpy(m->data, name, len);
  int err = dv8__channel_send_control(p->channel, p->side, m);
  if (err)
    dv8__message_free(m);
  return err;
}

int dv8__port_reload(dv8_port_t *p, int threads_too) {
  if (p->channel == NULL || p->side != 0)
    return DV8_ECLOSED;
  dv8_message_t *m = dv8__message_new(DV8_MSG_RELOAD, 0);
  if (m == NULL)
    return UV_ENOMEM;
  m->code = threads_too;
  int err = dv8__channel_send_control(p->channel, 0, m);
  if (err)
    dv8__message_free(m);
  return err;
}

static void reload_one(dv8_handle_t *h, void *arg) {
  dv8_port_t *p = (dv8_port_t *)h;
  if (DV8_HEAD(h)->type == &dv8__port_type && p->side == 0 && !p->exited &&
      dv8__port_reload(p, 1) == 0)
    (*(int *)arg)++;
}

int dv8__threads_reload(dv8_runtime_t *rt) {
  int asked = 0;
  dv8__handles_each(&rt->handles, reload_one, &asked);
  return asked;
}

void dv8__thread_reloaded(dv8_runtime_t *rt, const char *error) {
  dv8_thread_t *t = rt->thread;
  if (t == NULL || t->parent_port == NULL || t->parent_port->channel == NULL)
    return;
  size_t len = error == NULL ? 0 : strlen(error);
  dv8_message_t *m = dv8__message_new(DV8_MSG_RELOADED, len);
  if (m == NULL)
    return;
  m->code = error == NULL ? 0 : -1;
  if (len > 0)
    memcpy(m->data, error, len);
  if (dv8__channel_send_control(t->parent_port->channel, 1, m) != 0)
    dv8__message_free(m);
}

/* Runs before a port's async is closed, so that the channel never wakes
 * a closing handle. The parent's port leaves the channel and waits for the
 * thread (whose last act is its exit message, so the join is short); the
 * thread's port only stops being woken: the thread leaves the channel
 * itself, after sending its exit (thread_main). */
static void port_finish(dv8_port_t *p) {
  release_held(p, 0);
  dv8__message_free(p->held_exit);
  p->held_exit = NULL;
  if (p->spin != NULL) {
    uv_close((uv_handle_t *)p->spin, (uv_close_cb)free);
    p->spin = NULL;
  }
  if (p->channel != NULL) {
    if (p->side == 0)
      dv8__channel_detach(p->channel, 0);
    else
      dv8__channel_set_wake(p->channel, 1, NULL);
    p->channel = NULL;
  }
  dv8_thread_t *t = p->thread;
  if (t != NULL) {
    p->thread = NULL;
    if (!t->joined) {
      uv_thread_join(&t->tid);
      t->joined = 1;
    }
    thread_unref(t);
    spare_make();
  }
}

static void finish_one(dv8_handle_t *h, void *arg) {
  (void)arg;
  if (DV8_HEAD(h)->type != &dv8__port_type)
    return;
  dv8_port_t *p = (dv8_port_t *)h;
  if (p->side == 0)
    dv8__thread_terminate(p);
  port_finish(p);
}

/* The close op: a parent's port ends its thread (terminated, joined)
 * before its async handle closes, so that nothing wakes a closing handle. */
static void port_close(dv8_handle_t *h) { finish_one(h, NULL); }

void dv8__port_close(dv8_port_t *p) { dv8__handle_close(&p->h); }

void dv8__ports_close(dv8_runtime_t *rt) {
  dv8__handles_each(&rt->handles, finish_one, NULL);
}

/* After a message arrives the port keeps polling its channel for a while
 * (the loop stays responsive: an idle handle makes it poll without
 * blocking), because a reply often follows within microseconds and a
 * thread woken from epoll costs tens of them. While it polls, senders do
 * not wake it (dv8__channel_polling): no eventfd write, read and poll per
 * message. The window adapts: it doubles (up to SPIN_MAX_NS) each time a
 * message arrives within it or soon after it ran out, as in a
 * conversation, and halves (down to SPIN_MIN_NS) each time it runs out,
 * as with sparse traffic, which so costs at most SPIN_MIN_NS per message.
 * Only while no other thread waits for this CPU (dv8__cpu_spare, spin.c):
 * on a busy machine the polling would take the CPU the reply needs.
 * docs/threads.md, Speed, has the measurements. */
#define SPIN_MIN_NS 25000
#define SPIN_MAX_NS 400000
/* Between two turns of the loop (whose poll is a system call, ~2 us on
 * this project's VMs), the queue is watched in memory for up to this long:
 * other events of the loop wait at most this long for their turn. */
#define SPIN_INNER_NS 20000

static int port_poll(dv8_port_t *p);

/* Tells the CPU that this is a wait loop (it yields to a sibling
 * hyper-thread and leaves the loop without a memory-order stall). */
static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* While the port polls, the channel does not wake it (channel.c); when it
 * stops, what came in between is announced as a wake-up would have. */
static void spin_stop(dv8_port_t *p) {
  uv_idle_stop(p->spin);
  if (p->channel != NULL && dv8__channel_polling(p->channel, p->side, 0))
    uv_async_send(&p->async);
}

static void on_spin(uv_idle_t *idle) {
  dv8_port_t *p = idle->data;
  if (!dv8__cpu_spare(0)) { /* the machine got busy: sleep (spin.c) */
    spin_stop(p);
    return;
  }
  uint64_t now = uv_hrtime();
  uint64_t until = now + SPIN_INNER_NS;
  if (until > p->spin_until)
    until = p->spin_until;
  for (int i = 1; p->channel != NULL && now < until &&
                  !dv8__channel_ready(p->channel, p->side);
       i++) {
    cpu_relax();
    if (i % 32 == 0)
      now = uv_hrtime();
  }
  if (port_poll(p) > 0) {
    if (p->spin_ns < SPIN_MAX_NS)
      p->spin_ns *= 2;
    p->spin_until = uv_hrtime() + p->spin_ns;
  } else if (now >= p->spin_until) {
    if (p->spin_ns > SPIN_MIN_NS)
      p->spin_ns /= 2;
    p->spin_ended = now;
    if (p->spin != NULL) /* port_poll may have finished the port */
      spin_stop(p);
  }
}

static void spin_start(dv8_port_t *p) {
  int active = p->spin != NULL && uv_is_active((uv_handle_t *)p->spin);
  if (!active && !dv8__cpu_spare(1))
    return;
  if (p->spin == NULL) {
    p->spin = malloc(sizeof(*p->spin));
    if (p->spin == NULL)
      return;
    uv_idle_init(p->async.loop, p->spin);
    uv_unref((uv_handle_t *)p->spin); /* never keeps the loop alive */
    p->spin->data = p;
    p->spin_ns = 2 * SPIN_MIN_NS;
  }
  uint64_t now = uv_hrtime();
  /* A message that comes soon after the window ran out says the window is
   * too short for this conversation: without this, two sides that once
   * both fell asleep (a long GC) stay asleep, as each one's reply takes a
   * wake-up longer than the other's window (a ping-pong at a quarter of
   * its rate, for good). */
  if (!active && now - p->spin_ended < SPIN_MAX_NS && p->spin_ns < SPIN_MAX_NS)
    p->spin_ns *= 2;
  p->spin_until = now + p->spin_ns;
  if (!active && p->channel != NULL)
    dv8__channel_polling(p->channel, p->side, 1);
  uv_idle_start(p->spin, on_spin);
}

static void on_port_wake(uv_async_t *async) {
  dv8_port_t *p = async->data; /* the handle header comes first */
  if (port_poll(p) > 0)
    spin_start(p);
}

/* Takes and delivers what arrived; how many messages that was. */
static int port_poll(dv8_port_t *p) {
  if (p->channel == NULL || p->paused)
    return 0;
  int drained = 0;
  dv8_message_t *list =
      p->listening ? dv8__channel_take(p->channel, p->side, &drained)
                   : dv8__channel_take_control(p->channel, p->side, &drained);
  /* An exit held behind messages a paused listener left (the delivery
   * holds it, contexts/thread.cc) comes once they are taken. */
  size_t waiting = 0, bytes;
  if (p->held_exit != NULL && p->listening)
    dv8__channel_stats(p->channel, p->side, &waiting, &bytes);
  if (p->held_exit != NULL && p->listening && waiting == 0) {
    dv8_message_t **t = &list;
    while (*t != NULL)
      t = &(*t)->next;
    *t = p->held_exit;
    p->held_exit = NULL;
  }
  int gone =
      p->held_exit == NULL && dv8__channel_peer_gone(p->channel, p->side);
  for (dv8_message_t *m = list; m != NULL; m = m->next) {
    if (m->kind == DV8_MSG_DATA) {
      DV8_HEAD(&p->h)->counters[DV8_COUNTER_READS]++;
      DV8_HEAD(&p->h)->counters[DV8_COUNTER_BYTES_READ] += m->len;
    }
  }
  /* A terminate notice stops this thread's loop; JS was stopped already
   * (or will be at its next entry) by the isolate's termination. */
  dv8_runtime_t *rt = p->async.loop->data;
  for (dv8_message_t *m = list; m != NULL; m = m->next) {
    if (m->kind == DV8_MSG_TERMINATE)
      dv8__runtime_stop(rt, 1);
    else if (m->kind == DV8_MSG_RELOAD)
      dv8__reload_request(rt, m->code);
  }
  int count = 0, exited = 0;
  for (dv8_message_t *m = list; m != NULL; m = m->next) {
    count++;
    exited |= m->kind == DV8_MSG_EXIT;
  }
  if (list != NULL || drained || gone)
    dv8__port_deliver(p, list, drained, gone);
  if (p->held_exit != NULL) /* held by the delivery: not the end yet */
    gone = exited = 0;
  /* After the exit, data nobody listened for is dropped with the channel. */
  if ((gone || exited) && p->side == 0 && !p->exited) {
    /* The thread has exited and its exit has been delivered. */
    p->exited = 1;
    port_finish(p);
    dv8__handle_close(&p->h);
    return 0;
  }
  return count;
}

/* ---- the thread ---- */

/* The first error wins; an error replaces a value returned before it (a
 * callback that throws after the thread's function returned). */
static void record(dv8_thread_t *t, dv8_message_t *m) {
  if (t->result == NULL || (!(t->result->flags & DV8_MESSAGE_ERROR) &&
                            (m->flags & DV8_MESSAGE_ERROR))) {
    dv8__message_free(t->result);
    t->result = m;
  } else {
    dv8__message_free(m);
  }
}

static int recorded_error(dv8_thread_t *t) {
  return t->result != NULL && (t->result->flags & DV8_MESSAGE_ERROR);
}

void dv8__thread_set_result(dv8_runtime_t *rt, const uint8_t *data, size_t len,
                            int is_error) {
  dv8_thread_t *t = rt->thread;
  if (t == NULL || recorded_error(t))
    return;
  dv8_message_t *m = dv8__message_new(DV8_MSG_EXIT, len);
  if (m == NULL)
    return;
  memcpy(m->data, data, len);
  if (is_error)
    m->flags |= DV8_MESSAGE_ERROR;
  record(t, m);
}

void dv8__thread_set_error(dv8_runtime_t *rt, const char *name,
                           const char *message, const char *stack) {
  if (rt->thread == NULL || recorded_error(rt->thread))
    return;
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  if (dv8_serdes_pack_error(&pk, name, message, stack) == 0)
    dv8__thread_set_result(rt, (const uint8_t *)sb.data, sb.size, 1);
  msgpack_sbuffer_destroy(&sb);
}

void dv8__thread_spec(dv8_runtime_t *rt, const char **spec, int *is_source,
                      const uint8_t **args, size_t *args_len) {
  dv8_thread_t *t = rt->thread;
  *spec = t->spec;
  *is_source = t->spec_is_source;
  *args = t->args;
  *args_len = t->args_len;
}

int dv8__thread_parent_port(dv8_runtime_t *rt, dv8_port_t **out) {
  dv8_thread_t *t = rt->thread;
  if (t == NULL || t->parent_port == NULL)
    return UV_EINVAL;
  *out = t->parent_port;
  return 0;
}

/* A spare waits here, its isolate and context ready, until spawn hands it
 * a spec (1) or the process ends (0). */
static int await_assignment(dv8_thread_t *t) {
  uv_mutex_lock(&t->lock);
  while (!t->assigned && !t->quit)
    uv_cond_wait(&t->cond, &t->lock);
  int go = t->assigned;
  uv_mutex_unlock(&t->lock);
  return go;
}

static void run(dv8_thread_t *t, int *code) {
  char *argv[] = {t->name, NULL};
  dv8_runtime_t rt;
  if (dv8__runtime_init(&rt, 1, argv) != 0)
    return;
  dv8__crash_thread_enter(&rt, t->name);
  rt.thread = t;
  rt.heap_limit_mb = t->heap_limit_mb;
  dv8_env_t *env = NULL;
  if (dv8__isolate_new(&rt) == 0) {
    uv_mutex_lock(&t->lock);
    t->rt = &rt;
    int terminated = t->terminating;
    uv_mutex_unlock(&t->lock);
    if (terminated)
      dv8__isolate_terminate(&rt);
    env = dv8__context_new(&rt);
    if (t->spare && env != NULL)
      dv8__prepare_thread_main(env);
    if (t->spare && !await_assignment(t)) {
      /* A spare told to quit: nobody waits for its exit. */
    } else if (env != NULL &&
               port_new(&rt, env, t->channel, 1, &t->parent_port) == 0) {
      /* The thread's port exists from the start, so that a terminate
       * notice always wakes the loop; it keeps the loop alive only while
       * JS listens (thread.js refs it). */
      uv_unref((uv_handle_t *)&t->parent_port->async);
      int status = dv8__run_thread_main(env);
      if (status == 0) {
        dv8__runtime_run(&rt);
        /* A reload may have replaced the context the thread started in
         * (the one it replaced is disposed with the isolate). */
        env = rt.env;
        status = dv8__finish_main(env);
      }
      if (dv8__turn_last(env) != 0 && status == 0)
        status = 1;
      *code = rt.stopping ? rt.exit_code : status;
    } else if (env != NULL) {
      dv8__thread_set_error(&rt, "Error", "cannot open the thread's port",
                            NULL);
    }
  } else {
    dv8__thread_set_error(&rt, "Error", "cannot create an isolate", NULL);
  }
  if (t->terminating) {
    dv8__thread_set_error(&rt, "Error", "thread terminated", NULL);
    *code = 1;
  }
  /* No more JS: the parent may no longer reach the isolate. */
  uv_mutex_lock(&t->lock);
  t->rt = NULL;
  uv_mutex_unlock(&t->lock);
  dv8__reload_stop(&rt);
  dv8__ports_close(&rt);
  int err = dv8__runtime_close(&rt);
  CHECK(err == 0);
  t->parent_port = NULL;
  if (env != NULL)
    dv8__context_dispose(env);
  dv8__isolate_dispose(&rt);
  dv8__runtime_data_free(&rt);
  dv8__crash_thread_leave();
}

static void thread_main(void *arg) {
  dv8_thread_t *t = arg;
  int code = 1;
  run(t, &code);
  if (t->spare && !t->assigned) { /* quit before any use */
    dv8__channel_detach(t->channel, 0);
    dv8__channel_detach(t->channel, 1);
    thread_unref(t);
    return;
  }
  dv8_message_t *m = t->result;
  t->result = NULL;
  if (m == NULL) {
    m = dv8__message_new(DV8_MSG_EXIT, 0);
    CHECK(m != NULL);
  }
  m->code = code;
  dv8_channel_t *c = t->channel;
  /* The last things this thread does with the channel: after them the
   * parent may join. */
  if (dv8__channel_send_control(c, 1, m) != 0)
    dv8__message_free(m);
  dv8__channel_detach(c, 1);
  thread_unref(t);
}

/* A thread struct with its channel, not started; refs 2 (the thread's
 * own, and its parent port's or the spare slot's). */
static dv8_thread_t *thread_new(size_t queue_limit) {
  static uint32_t next_id;
  dv8_thread_t *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return NULL;
  if (uv_mutex_init(&t->lock) != 0) {
    free(t);
    return NULL;
  }
  if (uv_cond_init(&t->cond) != 0 ||
      dv8__channel_new(&t->channel, queue_limit) != 0) {
    uv_mutex_destroy(&t->lock);
    free(t);
    return NULL;
  }
  t->refs = 2;
  snprintf(t->name, sizeof(t->name), "[thread %u]",
           __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED));
  return t;
}

static int thread_start(dv8_thread_t *t) {
  uv_thread_options_t opts = {UV_THREAD_HAS_STACK_SIZE, 8u << 20};
  return uv_thread_create_ex(&t->tid, &opts, thread_main, t);
}

/* One spare runtime, made when a thread ends (spawn/join patterns then
 * find it ready): spawn hands it the spec and skips creating the isolate
 * and context and loading thread.js and serdes (dv8__prepare_thread_main):
 * 0.5-1 ms to the first message instead of about 7. It costs one idle
 * isolate's memory; DV8_THREAD_SPARE=0 turns it off. */
static uv_mutex_t spare_lock;
static uv_once_t spare_once = UV_ONCE_INIT;
static dv8_thread_t *spare;
static int spares_off; /* the process is ending, or spares are disabled */

static void spare_init(void) {
  CHECK(uv_mutex_init(&spare_lock) == 0);
  const char *env = getenv("DV8_THREAD_SPARE");
  spares_off = env != NULL && strcmp(env, "0") == 0;
}

static void spare_make(void) {
  uv_once(&spare_once, spare_init);
  uv_mutex_lock(&spare_lock);
  if (spare == NULL && !spares_off) {
    dv8_thread_t *t = thread_new(DV8_QUEUE_LIMIT_DEFAULT);
    if (t != NULL) {
      t->spare = 1;
      if (thread_start(t) == 0) {
        spare = t;
      } else {
        dv8__channel_detach(t->channel, 0);
        dv8__channel_detach(t->channel, 1);
        t->refs = 1;
        thread_unref(t);
      }
    }
  }
  uv_mutex_unlock(&spare_lock);
}

static dv8_thread_t *spare_take(void) {
  uv_once(&spare_once, spare_init);
  uv_mutex_lock(&spare_lock);
  dv8_thread_t *t = spare;
  spare = NULL;
  uv_mutex_unlock(&spare_lock);
  return t;
}

void dv8__threads_shutdown(void) {
  uv_once(&spare_once, spare_init);
  uv_mutex_lock(&spare_lock);
  spares_off = 1;
  dv8_thread_t *t = spare;
  spare = NULL;
  uv_mutex_unlock(&spare_lock);
  if (t == NULL)
    return;
  uv_mutex_lock(&t->lock);
  t->quit = 1;
  uv_cond_signal(&t->cond);
  uv_mutex_unlock(&t->lock);
  uv_thread_join(&t->tid);
  thread_unref(t); /* the slot's reference */
}

int dv8__thread_spawn(dv8_runtime_t *rt, dv8_env_t *env,
                      const dv8_thread_options *o, dv8_port_t **out) {
  char *spec = strdup(o->spec);
  uint8_t *args = malloc(o->args_len ? o->args_len : 1);
  size_t limit = o->queue_limit ? o->queue_limit : DV8_QUEUE_LIMIT_DEFAULT;
  /* A spare has V8's default heap and the default queue limit. */
  dv8_thread_t *t = o->heap_limit_mb == 0 && limit == DV8_QUEUE_LIMIT_DEFAULT
                        ? spare_take()
                        : NULL;
  int started = t != NULL;
  if (t == NULL)
    t = thread_new(limit);
  dv8_port_t *p = NULL;
  int err = spec == NULL || args == NULL || t == NULL ? UV_ENOMEM : 0;
  if (err == 0)
    err = port_new(rt, env, t->channel, 0, &p);
  if (err) {
    free(spec);
    free(args);
    if (t != NULL && started) {
      /* Back to being a spare: nothing was changed in it. */
      uv_mutex_lock(&spare_lock);
      if (spare == NULL && !spares_off) {
        spare = t;
        t = NULL;
      }
      uv_mutex_unlock(&spare_lock);
      if (t != NULL) {
        uv_mutex_lock(&t->lock);
        t->quit = 1;
        uv_cond_signal(&t->cond);
        uv_mutex_unlock(&t->lock);
        uv_thread_join(&t->tid);
        thread_unref(t);
      }
    } else if (t != NULL) {
      dv8__channel_detach(t->channel, 0);
      dv8__channel_detach(t->channel, 1);
      t->refs = 1;
      thread_unref(t);
    }
    return err;
  }
  memcpy(args, o->args, o->args_len);
  p->thread = t;
  uv_mutex_lock(&t->lock);
  t->spec = spec;
  t->args = args;
  t->args_len = o->args_len;
  t->spec_is_source = o->spec_is_source;
  t->heap_limit_mb = o->heap_limit_mb;
  t->assigned = 1;
  uv_cond_signal(&t->cond);
  uv_mutex_unlock(&t->lock);
  if (!started) {
    err = thread_start(t);
    if (err) {
      /* The thread's side leaves as the thread would have. */
      dv8__channel_detach(t->channel, 1);
      t->joined = 1;
      t->refs = 1;
      p->thread = NULL;
      thread_unref(t);
      port_finish(p);
      dv8__handle_close(&p->h);
      return err;
    }
  }
  *out = p;
  return 0;
}

void dv8__thread_terminate(dv8_port_t *p) {
  dv8_thread_t *t = p->thread;
  if (t == NULL || p->channel == NULL)
    return;
  uv_mutex_lock(&t->lock);
  t->terminating = 1;
  if (t->rt != NULL)
    dv8__isolate_terminate(t->rt);
  uv_mutex_unlock(&t->lock);
  dv8_message_t *m = dv8__message_new(DV8_MSG_TERMINATE, 0);
  if (m != NULL && dv8__channel_send_control(p->channel, 0, m) != 0)
    dv8__message_free(m);
}
