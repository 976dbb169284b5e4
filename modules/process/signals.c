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

static dv8_value_t wrap_sig(dv8_env_t *env, dv8_handle_t *h) {
  return dv8->number(env, h->id);
}

typedef struct sig_handler {
  dv8_handle_t base;
  uv_signal_t uv;
  dv8_ref_t *callback;
  int signum;
  int paused, missed; /* a signal during a reload is delivered after */
  dv8_env_t *pending_env;
  dv8_ref_t *pending_callback;
} sig_handler;

static void free_sig(dv8_handle_t *h) {
  sig_handler *s = (sig_handler *)h;
  dv8->ref_free(s->callback);
  dv8->ref_free(s->pending_callback);
  free(s);
}

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
  dv8_env_t *env = s->base.env;
  s->base.counters[DV8_COUNTER_EVENTS]++;
  if (s->callback == NULL)
    return;
  dv8_scope_t scope;
  dv8->scope_open(env, &scope);
  dv8_value_t argv[1] = {
      dv8->string(env, process__signal_name(signum), SIZE_MAX)};
  dv8->call(env, dv8->ref_get(env, s->callback), NULL, 1, argv, NULL);
  dv8->scope_close(env, &scope);
}

static int pause_sig(dv8_handle_t *h) {
  ((sig_handler *)h)->paused = 1;
  return 0;
}

/* As a child's: the new code's callback (set with onSignal while it loaded)
 * or none; a signal that came meanwhile is delivered now. */
static int resume_sig(dv8_handle_t *h) {
  sig_handler *s = (sig_handler *)h;
  s->paused = 0;
  if (s->pending_env != NULL && s->pending_env == h->env) {
    dv8->ref_free(s->callback);
    s->callback = s->pending_callback;
    s->pending_callback = NULL;
  } else {
    dv8->ref_free(s->pending_callback);
    s->pending_callback = NULL;
  }
  s->pending_env = NULL;
  if (s->missed) {
    s->missed = 0;
    on_signal(&s->uv, s->signum);
  }
  return 0;
}

static const dv8_handle_type_t sig_type = {
    "signal", wrap_sig, pause_sig, resume_sig, free_sig, NULL, NULL,
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
    dv8_handle_t *h =
        dv8->handle_find(env, (uint32_t)dv8->to_number(env, what));
    if (h == NULL || h->type != &sig_type)
      return dv8->number(env, DV8_ECLOSED);
    sig_handler *s = (sig_handler *)h;
    if (env != h->env) {
      dv8->ref_free(s->pending_callback);
      s->pending_env = env;
      s->pending_callback = dv8->ref_new(env, cb);
    } else {
      dv8->ref_free(s->callback);
      s->callback = dv8->ref_new(env, cb);
    }
    return dv8->number(env, h->id);
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
  int err =
      dv8->handle_register(env, &s->base, &sig_type, (uv_handle_t *)&s->uv);
  if (err) {
    s->uv.data = s;
    uv_close((uv_handle_t *)&s->uv, on_unregistered_close);
    return dv8->throw_error(env, err, "onSignal");
  }
  s->signum = signum;
  s->callback = dv8->ref_new(env, cb);
  err = uv_signal_start(&s->uv, on_signal, signum);
  if (err) {
    dv8->handle_close(&s->base);
    return dv8->throw_error(env, err, "onSignal");
  }
  uv_unref((uv_handle_t *)&s->uv);
  return dv8->number(env, s->base.id);
}
/* refSignal(id, on): whether the handler keeps the program alive. */
dv8_value_t process__js_ref_signal(dv8_env_t *env, dv8_call_t *call) {
  double id;
  if (dv8->arg_number(env, call, 0, &id))
    return NULL;
  dv8_handle_t *h = dv8->handle_find(env, (uint32_t)id);
  if (h != NULL && h->type == &sig_type) {
    if (dv8->to_bool(env, dv8->arg(call, 1)))
      uv_ref(h->uv);
    else
      uv_unref(h->uv);
  }
  return NULL;
}

int process__close_signal(dv8_env_t *env, uint32_t id) {
  dv8_handle_t *h = dv8->handle_find(env, id);
  if (h == NULL || h->type != &sig_type)
    return 0;
  dv8->handle_close(h);
  return 1;
}

void process__export_signals(dv8_env_t *env, dv8_value_t exports) {
  for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
    dv8->set_number(env, exports, signals[i].name, signals[i].number);
}
