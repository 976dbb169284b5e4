/*
 * process, second half: signals to this process. onSignal(name, cb) is a
 * host handle per handler (a uv_signal), so that the host's defaults can
 * see it (host/signals.c: SIGTERM ends the program unless one is open;
 * SIGHUP reloads unless one is) and a reload can hand it to the new code.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "dv8.h"
#include "process.h"

static const struct {
  const char *name;
  int number;
} signals[] = {
    {"SIGHUP", SIGHUP},   {"SIGINT", SIGINT},   {"SIGQUIT", SIGQUIT},
    {"SIGKILL", SIGKILL}, {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2},
    {"SIGPIPE", SIGPIPE}, {"SIGALRM", SIGALRM}, {"SIGTERM", SIGTERM},
    {"SIGCONT", SIGCONT}, {"SIGSTOP", SIGSTOP}, {"SIGTSTP", SIGTSTP},
};

/* A signal given as a name ("SIGTERM") or a number; 0 if unknown. */
int process__signal_of(dv8_env_t *env, dv8_value_t v) {
  if (dv8->type_of(env, v) == DV8_TYPE_NUMBER) {
    double n = dv8->to_number(env, v);
    return n >= 1 && n < 65 && n == (int)n ? (int)n : 0;
  }
  char name[16];
  if (dv8->type_of(env, v) != DV8_TYPE_STRING ||
      dv8->to_utf8(env, v, name, sizeof(name)) >= sizeof(name))
    return 0;
  for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
    if (strcmp(signals[i].name, name) == 0)
      return signals[i].number;
  return 0;
}

static void on_unregistered_close(uv_handle_t *h) { free(h->data); }

enum { SLOT_HANDLER }; /* (name) */

typedef struct sig_handler {
  dv8_handle_t base;
  uv_signal_t uv;
  int signum;
  int paused, missed; /* a signal during a reload is delivered after */
} sig_handler;

static void free_sig(dv8_handle_t *h) { free(h); }

const char *process__signal_name(int signum) {
  for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
    if (signals[i].number == signum)
      return signals[i].name;
  return "SIG?";
}

static void on_signal(uv_signal_t *uv, int signum) {
  sig_handler *s = (sig_handler *)uv->data;
  if (s->paused) {
    s->missed = 1;
    return;
  }
  dv8_env_t *env = dv8->handle_env(&s->base);
  dv8->counters(&s->base)[DV8_COUNTER_EVENTS]++;
  if (!dv8->slot_bound(&s->base, SLOT_HANDLER))
    return;
  dv8_scope_t scope;
  dv8->scope_open(env, &scope);
  dv8_value_t argv[1] = {
      dv8->string(env, process__signal_name(signum), SIZE_MAX)};
  dv8->call(env, dv8->slot_get(&s->base, SLOT_HANDLER), NULL, 1, argv, NULL);
  dv8->scope_close(env, &scope);
}

static int pause_sig(dv8_handle_t *h) {
  ((sig_handler *)h)->paused = 1;
  return 0;
}

/* As a child's: the new code's callback (set with onSignal while it
 * loaded: the host swapped the slots) or none; a signal that came
 * meanwhile is delivered now. */
static int resume_sig(dv8_handle_t *h) {
  sig_handler *s = (sig_handler *)h;
  s->paused = 0;
  if (s->missed) {
    s->missed = 0;
    on_signal(&s->uv, s->signum);
  }
  return 0;
}

/* While a handler is open (and listening) it stands for its signal: the
 * host's default for it (SIGTERM ends, SIGHUP reloads) steps aside. */
static int signal_of(dv8_handle_t *h) {
  sig_handler *s = (sig_handler *)h;
  return uv_is_active((uv_handle_t *)&s->uv) ? s->signum : 0;
}

const dv8_handle_type_t process__signal_type = {
    DV8_HANDLE_TYPE_INIT,
    .name = "signal",
    .on_reload = DV8_CROSS_KEEP,
    .on_upgrade = DV8_CROSS_REFUSE,
    .pause = pause_sig,
    .resume = resume_sig,
    .free = free_sig,
    .signal = signal_of,
};

/* onSignal(name, cb(name)) -> id: cb runs on each delivery of the signal
 * (SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, ...) until close(id). While a
 * handler for SIGTERM or SIGINT is open, dv8's default (end the program,
 * closing every handle) stays off; one for SIGHUP replaces the reload it
 * triggers. The handler does not keep the program alive (ref(id, true)
 * makes it). Called with the id of a handler the code before a reload
 * opened, onSignal(id, cb) rebinds it. */
dv8_value_t process__js_on_signal(dv8_env_t *env, dv8_call_t *call) {
  dv8_value_t cb;
  if (dv8->arg_function(env, call, 1, &cb))
    return NULL;
  dv8_value_t what = dv8->arg(call, 0);
  if (dv8->type_of(env, what) == DV8_TYPE_NUMBER) {
    dv8_handle_t *h;
    int err = dv8->arg_handle(env, call, 0, &process__signal_type, &h);
    if (err == 0) /* the code a reload loads: the host keeps it for then */
      err = dv8->slot_set(env, h, SLOT_HANDLER, cb);
    if (err)
      return err == DV8_ETYPE ? NULL : dv8->number(env, err);
    return dv8->number(env, (double)dv8->handle_id(h));
  }
  int signum = process__signal_of(env, what);
  if (signum == 0 || signum == SIGKILL || signum == SIGSTOP)
    return dv8->throw_type_error(env, "onSignal: not a signal a handler can "
                                      "take (try 'SIGINT', 'SIGTERM', "
                                      "'SIGHUP', 'SIGUSR1', 'SIGUSR2')");
  sig_handler *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return dv8->throw_error(env, UV_ENOMEM, "onSignal");
  uv_signal_init(dv8->loop(env), &s->uv);
  int err = dv8->handle_register(env, &s->base, &process__signal_type,
                                 (uv_handle_t *)&s->uv);
  if (err) {
    s->uv.data = s;
    uv_close((uv_handle_t *)&s->uv, on_unregistered_close);
    return dv8->throw_error(env, err, "onSignal");
  }
  s->signum = signum;
  if ((err = dv8->slot_set(env, &s->base, SLOT_HANDLER, cb)) != 0 ||
      (err = uv_signal_start(&s->uv, on_signal, signum)) != 0) {
    dv8->handle_close(&s->base);
    return dv8->throw_error(env, err, "onSignal");
  }
  uv_unref((uv_handle_t *)&s->uv);
  return dv8->number(env, (double)dv8->handle_id(&s->base));
}

/* refSignal(id, on): whether the handler keeps the program alive. */
dv8_value_t process__js_ref_signal(dv8_env_t *env, dv8_call_t *call) {
  dv8_handle_t *h;
  if (dv8->arg_handle(env, call, 0, &process__signal_type, &h) == 0) {
    uv_handle_t *uv = (uv_handle_t *)&((sig_handler *)h)->uv;
    if (dv8->to_bool(env, dv8->arg(call, 1)))
      uv_ref(uv);
    else
      uv_unref(uv);
  }
  return NULL;
}

void process__close_signal(dv8_env_t *env, dv8_call_t *call) {
  dv8_handle_t *h;
  if (dv8->arg_handle(env, call, 0, &process__signal_type, &h) == 0)
    dv8->handle_close(h);
}

void process__export_signals(dv8_env_t *env, dv8_value_t exports) {
  for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
    dv8->set_number(env, exports, signals[i].name, signals[i].number);
}
