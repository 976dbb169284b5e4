/*
 * repl.c — Ctrl-C in the REPL on a terminal, as in node: it interrupts the
 * input being evaluated, drops a half-typed line, and at an empty prompt
 * the second one in a row exits (the decisions are repl.js's).
 *
 * Threads: while JS runs, the main loop is blocked and cannot see a
 * signal, so SIGINT is watched by a thread of its own, on a loop of its
 * own (libuv's signal handler only writes to the pipe of each loop that
 * watches the signal, which keeps it async-signal-safe, and lets a JS
 * handler from process.onSignal coexist). While the REPL evaluates input
 * (armed), the watcher terminates the main isolate's JS; otherwise it wakes
 * the main loop, where repl.js handles Ctrl-C at its prompt. `lock` orders
 * the two: the isolate is terminated only while an evaluation runs, and
 * the evaluation learns on disarming whether it was.
 *
 * The terminal stays in canonical mode (line editing is its own). There
 * the kernel drops a half-typed line at Ctrl-C before anyone can tell
 * whether there was one, yet an empty prompt must be told from a
 * half-typed line. With NOFLSH the line stays for dv8__repl_discard_input
 * to count and drop; the flag is cleared when the REPL ends (a dv8 killed
 * meanwhile leaves it set on the terminal).
 */
#include <errno.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "contexts/contexts.h"
#include "host/host.h"

static struct {
  int started;
  dv8_runtime_t *rt;
  uv_mutex_t lock;
  int armed;  /* under lock: input is being evaluated */
  int fired;  /* under lock: Ctrl-C terminated that evaluation */
  int unseen; /* under lock: Ctrl-Cs at the prompt not handled yet */
  uv_thread_t thread;
  uv_loop_t loop;       /* the watcher thread's */
  uv_signal_t sigint;   /* on loop */
  uv_async_t quit;      /* on loop: the watcher ends */
  uv_async_t at_prompt; /* on rt's loop: Ctrl-C while no input runs */
  int set_noflsh;       /* NOFLSH was ours to set: cleared at the end */
} repl;

/* On the watcher thread. */
static void on_sigint(uv_signal_t *s, int signum) {
  (void)s;
  (void)signum;
  uv_mutex_lock(&repl.lock);
  if (!repl.armed) {
    repl.unseen++;
    uv_async_send(&repl.at_prompt);
  } else if (!repl.fired) {
    repl.fired = 1;
    dv8__isolate_terminate(repl.rt);
  }
  uv_mutex_unlock(&repl.lock);
}

static void on_quit(uv_async_t *a) {
  uv_close((uv_handle_t *)&repl.sigint, NULL);
  uv_close((uv_handle_t *)a, NULL);
}

static void watch(void *arg) {
  (void)arg;
  uv_run(&repl.loop, UV_RUN_DEFAULT);
}

/* Wakes coalesce: two quick Ctrl-Cs must still count as two. */
static void on_at_prompt(uv_async_t *a) {
  dv8_runtime_t *rt = a->data;
  uv_mutex_lock(&repl.lock);
  int n = repl.unseen;
  repl.unseen = 0;
  uv_mutex_unlock(&repl.lock);
  while (n-- > 0 && repl.started)
    dv8__repl_sigint(rt->env);
}

/* Sets NOFLSH, or clears it if it was ours. */
static void keep_typed_line(int on) {
  struct termios t;
  if (tcgetattr(STDIN_FILENO, &t) != 0)
    return;
  if (on && (t.c_lflag & NOFLSH) == 0) {
    t.c_lflag |= NOFLSH;
    repl.set_noflsh = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
  } else if (!on && repl.set_noflsh) {
    t.c_lflag &= ~(tcflag_t)NOFLSH;
    tcsetattr(STDIN_FILENO, TCSANOW, &t);
    repl.set_noflsh = 0;
  }
}

int dv8__repl_signals_start(dv8_runtime_t *rt) {
  if (repl.started)
    return 0;
  int err = uv_loop_init(&repl.loop);
  if (err)
    return err;
  CHECK(uv_mutex_init(&repl.lock) == 0);
  repl.rt = rt;
  repl.armed = repl.fired = repl.unseen = 0;
  CHECK(uv_signal_init(&repl.loop, &repl.sigint) == 0);
  CHECK(uv_signal_start(&repl.sigint, on_sigint, SIGINT) == 0);
  CHECK(uv_async_init(&repl.loop, &repl.quit, on_quit) == 0);
  CHECK(uv_async_init(&rt->loop, &repl.at_prompt, on_at_prompt) == 0);
  repl.at_prompt.data = rt;
  uv_unref((uv_handle_t *)&repl.at_prompt); /* not a reason to stay up */
  /* Signals are the loops' business, not the watcher thread's. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  uv_thread_options_t opts = {UV_THREAD_HAS_STACK_SIZE, 64u << 10};
  err = uv_thread_create_ex(&repl.thread, &opts, watch, NULL);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  CHECK(err == 0);
  keep_typed_line(1);
  repl.started = 1;
  return 0;
}

void dv8__repl_signals_stop(void) {
  if (!repl.started)
    return;
  repl.started = 0;
  keep_typed_line(0);
  uv_async_send(&repl.quit);
  CHECK(uv_thread_join(&repl.thread) == 0);
  CHECK(uv_loop_close(&repl.loop) == 0);
  uv_close((uv_handle_t *)&repl.at_prompt, NULL);
  uv_mutex_destroy(&repl.lock);
}

void dv8__repl_interrupt_arm(void) {
  if (!repl.started)
    return;
  uv_mutex_lock(&repl.lock);
  repl.armed = 1;
  repl.fired = 0;
  uv_mutex_unlock(&repl.lock);
}

int dv8__repl_interrupt_disarm(void) {
  if (!repl.started)
    return 0;
  uv_mutex_lock(&repl.lock);
  int fired = repl.fired;
  repl.armed = repl.fired = 0;
  uv_mutex_unlock(&repl.lock);
  /* What was typed meanwhile goes, as the terminal's Ctrl-C would drop it
   * without NOFLSH. */
  if (fired)
    dv8__repl_discard_input();
  return fired;
}

int dv8__repl_discard_input(void) {
  struct termios cooked, raw;
  if (tcgetattr(STDIN_FILENO, &cooked) != 0)
    return -errno;
  /* Out of canonical mode Linux counts a half-typed line as input, which
   * FIONREAD then sees; back in canonical mode, the line starts afresh. */
  raw = cooked;
  raw.c_lflag &= ~(tcflag_t)ICANON;
  int n = 0;
  if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) != 0)
    return -errno;
  if (ioctl(STDIN_FILENO, FIONREAD, &n) != 0)
    n = 0;
  tcflush(STDIN_FILENO, TCIFLUSH);
  tcsetattr(STDIN_FILENO, TCSANOW, &cooked);
  return n;
}
