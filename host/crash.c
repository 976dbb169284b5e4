/*
 * crash.c — a fatal signal prints where it happened before the process dies
 * of it: one line naming the signal and the thread, the native backtrace,
 * and the JavaScript stack of the thread that crashed. Then the signal's
 * default disposition is restored and the signal raised again, so the exit
 * status stays 128 + signal and a core dump is still written.
 *
 * The signals: SIGSEGV, SIGBUS, SIGILL, SIGFPE (bad code), SIGABRT (abort():
 * a CHECK, dv8's V8 fatal-error and OOM handlers) and SIGTRAP, which is how
 * V8's own internal CHECKs end (--hard-abort, on by default, traps with int3).
 * A signal whose disposition is not the default when dv8__crash_init runs is
 * left alone: whoever installed that handler stays in charge. That is how
 * AddressSanitizer builds keep ASan's report for SIGSEGV, SIGBUS and SIGFPE
 * (richer than ours: shadow memory, symbolised frames); ASan leaves SIGABRT
 * and SIGILL to us by default. V8 installs no handler here: its WebAssembly
 * trap handler exists only if the embedder calls
 * V8::EnableWebAssemblyTrapHandler, which dv8 does not (wasm memory accesses
 * are bounds-checked in code instead; /proc/PID/status of a dv8 running wasm
 * shows no SIGSEGV handler but ours), and V8's trap handler, were it
 * enabled, hands faults that are not its own back to the previous handler.
 *
 * Each runtime thread runs the handler on its own alternate stack (mapped
 * in dv8__crash_thread_enter, with a guard page), so that a stack overflow
 * still reports. Other threads (V8's platform workers, libuv's pool) report
 * on their own stack, without a JavaScript part.
 *
 * Async-signal-safety. Safe: the header line (formatted by hand, write(2)),
 * sigaction, pthread_sigmask, raise, alarm, pause, prctl, gettid.
 * backtrace() is not (its first call loads libgcc_s, which allocates), so
 * dv8__crash_init calls it once ahead; after that it only walks the stack,
 * and backtrace_symbols_fd writes to the descriptor without allocating.
 * Not safe: printing the JavaScript stack, which runs V8 code that
 * allocates (the C++ heap and the V8 heap). That is accepted because the
 * process is dying anyway: the report is best effort, and two guards keep a
 * report that goes wrong from changing how the process ends:
 * - a fault inside the handler (a heap the crash corrupted) ends the
 *   process at once with the first signal (on_fatal_signal);
 * - a report that deadlocks (abort() from inside malloc, which holds its
 *   arena lock) is cut short by alarm(): the process still dies of the
 *   first signal, REPORT_SECONDS later.
 * Native frames print as FILE(SYMBOL+0xOFF) for exported symbols and as
 * FILE(+0xOFF) otherwise (dv8's own functions: the binary is not linked
 * with -rdynamic, which would let modules bind to its symbols; see the
 * module ABI in STYLE.md): `addr2line -f -e FILE 0xOFF` turns those into a
 * function and a line, the binary being built with -g.
 */
#include <execinfo.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "contexts/contexts.h"
#include "host/host.h"

#define ALT_STACK_SIZE (256u << 10) /* V8 prints the JS stack on it too */
#define ALT_MARGIN (32u << 10)      /* kept from V8 for what it calls */
#define REPORT_SECONDS 5
#define MAX_FRAMES 64

static const struct {
  int signum;
  const char *name;
} fatal_signals[] = {
    {SIGSEGV, "SIGSEGV"}, {SIGBUS, "SIGBUS"},   {SIGILL, "SIGILL"},
    {SIGFPE, "SIGFPE"},   {SIGABRT, "SIGABRT"}, {SIGTRAP, "SIGTRAP"},
};
#define FATAL_COUNT (sizeof(fatal_signals) / sizeof(fatal_signals[0]))

/* The runtime thread's own: set by dv8__crash_thread_enter, read by the
 * handler on the same thread. */
static __thread dv8_runtime_t *thread_rt;
static __thread const char *thread_name; /* a worker's, or NULL on main */
static __thread void *alt_map;           /* our alternate stack, or NULL */
static __thread stack_t alt_previous;    /* the thread's one before ours */

/* The thread reporting a crash (0: none yet), and its signal. */
static int crashing_tid;
static volatile sig_atomic_t crash_signal;

/* ---- the report ---- */

typedef struct {
  char text[256];
  size_t len;
} line_t;

static void add(line_t *l, const char *s) {
  while (*s != '\0' && l->len < sizeof(l->text))
    l->text[l->len++] = *s++;
}

static void add_number(line_t *l, uintptr_t n, unsigned base) {
  char digits[24];
  size_t i = sizeof(digits);
  digits[--i] = '\0';
  do {
    digits[--i] = "0123456789abcdef"[n % base];
    n /= base;
  } while (n != 0);
  if (base == 16)
    add(l, "0x");
  add(l, digits + i);
}

static void write_all(const char *s, size_t len) {
  while (len > 0) {
    ssize_t n = write(STDERR_FILENO, s, len);
    if (n <= 0)
      return;
    s += n;
    len -= (size_t)n;
  }
}

static const char *signal_name(int signum) {
  for (size_t i = 0; i < FATAL_COUNT; i++)
    if (fatal_signals[i].signum == signum)
      return fatal_signals[i].name;
  return "?";
}

/* "dv8: fatal signal SIGSEGV (address 0x0) in the main thread" */
static void write_header(int signum, const siginfo_t *info) {
  line_t l = {.len = 0};
  add(&l, "dv8: fatal signal ");
  add(&l, signal_name(signum));
  /* si_addr means something only for a fault the kernel raised; abort()
   * and kill() fill that union with a pid and uid instead. */
  if (info->si_code > 0 && signum != SIGABRT && signum != SIGTRAP) {
    add(&l, " (address ");
    add_number(&l, (uintptr_t)info->si_addr, 16);
    add(&l, ")");
  }
  pid_t tid = gettid();
  if (thread_name != NULL) {
    add(&l, " in worker thread ");
    add(&l, thread_name);
  } else if (tid == getpid()) {
    add(&l, " in the main thread");
  } else {
    char comm[17] = {0}; /* the kernel's thread name: "V8 DefaultWorke" */
    prctl(PR_GET_NAME, comm);
    add(&l, " in thread ");
    add_number(&l, (uintptr_t)tid, 10);
    add(&l, " (");
    add(&l, comm);
    add(&l, ", runs no JavaScript)");
  }
  add(&l, "\n");
  write_all(l.text, l.len);
}

static void write_report(int signum, const siginfo_t *info) {
  write_header(signum, info);
  static const char native[] =
      "native stack (FILE(+0xOFF): addr2line -f -e FILE 0xOFF):\n";
  write_all(native, sizeof(native) - 1);
  void *frames[MAX_FRAMES];
  int n = backtrace(frames, MAX_FRAMES);
  backtrace_symbols_fd(frames, n, STDERR_FILENO);
  if (thread_rt != NULL) {
    /* V8 may use the alternate stack down to a margin above its guard. */
    uintptr_t low = 0;
    if (alt_map != NULL)
      low = (uintptr_t)alt_map + (uintptr_t)sysconf(_SC_PAGESIZE) + ALT_MARGIN;
    dv8__crash_print_js_stack(thread_rt, STDERR_FILENO, low);
  }
}

/* ---- dying ---- */

/* Ends the process with signum as if no handler had been installed. */
static void die(int signum) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  sigaction(signum, &dfl, NULL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signum);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  raise(signum);
  _exit(128 + signum); /* not reached: the default action kills */
}

/* The report took too long (a lock the crash left held): die without it. */
static void on_report_timeout(int signum) {
  (void)signum;
  die(crash_signal);
}

static void on_fatal_signal(int signum, siginfo_t *info, void *ucontext) {
  (void)ucontext;
  int self = (int)gettid();
  int expected = 0;
  if (!__atomic_compare_exchange_n(&crashing_tid, &expected, self, 0,
                                   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    /* The report itself crashed: the first signal is what the process
     * dies of. Another thread's crash: that thread ends the process. */
    if (expected == self)
      die(crash_signal);
    for (;;)
      pause();
  }
  crash_signal = signum;
  struct sigaction timeout;
  memset(&timeout, 0, sizeof(timeout));
  timeout.sa_handler = on_report_timeout;
  timeout.sa_flags = SA_ONSTACK;
  sigaction(SIGALRM, &timeout, NULL);
  alarm(REPORT_SECONDS);
  write_report(signum, info);
  die(signum);
}

/* ---- setup ---- */

void dv8__crash_init(void) {
  void *frame;
  backtrace(&frame, 1); /* loads libgcc_s now rather than in the handler */
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = on_fatal_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < FATAL_COUNT; i++) {
    struct sigaction old;
    if (sigaction(fatal_signals[i].signum, NULL, &old) == 0 &&
        !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL)
      sigaction(fatal_signals[i].signum, &sa, NULL);
  }
}

/* Maps an alternate signal stack for this thread, a guard page below it
 * (an overflow of the handler's own stack faults instead of writing over
 * memory). The thread's previous one is put back by alt_stack_pop: ASan
 * sets its own per thread and unmaps the one current when the thread ends,
 * which must then be its own. Without an alternate stack (mmap failed) the
 * thread still reports everything but an overflow. */
static void alt_stack_push(void) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  char *map = mmap(NULL, page + ALT_STACK_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED)
    return;
  stack_t ss = {.ss_sp = map + page, .ss_size = ALT_STACK_SIZE};
  if (mprotect(map, page, PROT_NONE) != 0 ||
      sigaltstack(&ss, &alt_previous) != 0) {
    munmap(map, page + ALT_STACK_SIZE);
    return;
  }
  alt_map = map;
}

static void alt_stack_pop(void) {
  if (alt_map == NULL)
    return;
  sigaltstack(&alt_previous, NULL);
  munmap(alt_map, (size_t)sysconf(_SC_PAGESIZE) + ALT_STACK_SIZE);
  alt_map = NULL;
}

void dv8__crash_thread_enter(dv8_runtime_t *rt, const char *name) {
  alt_stack_push();
  thread_name = name;
  thread_rt = rt;
}

void dv8__crash_thread_leave(void) {
  thread_rt = NULL;
  thread_name = NULL;
  alt_stack_pop();
}
