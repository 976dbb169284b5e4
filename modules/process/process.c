/*
 * process: child processes. spawn() starts a program (uv_spawn) with its
 * stdin/stdout/stderr each a pipe (a unix socketpair whose parent end JS
 * wraps with net.open(fd): the same stream handle as a socket), the
 * parent's own descriptor, or /dev/null; the child is a host handle whose
 * exit callback gets the exit status or the terminating signal. exec()
 * runs a program to completion and hands back its status and everything
 * it wrote.
 *
 * Every descriptor dv8 makes is close-on-exec, so a child gets exactly
 * the three it was given. A program that cannot be run (missing, not
 * executable) is a negative code from spawn itself, with no child left
 * behind. libuv reaps every child (SIGCHLD): none stays a zombie while the
 * handle is open, and the handle stays open until the exit was delivered.
 * Signal handlers for this process are signals.c's.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "dv8.h"
#include "process.h"

typedef struct capture capture;

/* The exit callback, the child's one slot: (status, signal) or, for exec,
 * (status, signal, stdout, stderr). */
enum { SLOT_EXIT };

typedef struct child {
  dv8_handle_t base;
  uv_process_t uv;
  int exited;    /* the exit came (while paused: it waits) */
  int delivered; /* the exit callback ran (or there was none) */
  int64_t status;
  int signal;
  /* A reload: the exit waits while paused, and goes to the callback the
   * new code set (onExit) if it set one. */
  int paused;
  /* exec: stdout and stderr gathered, delivered once both ended and the
   * child exited. */
  capture *out[2];
  int open_captures;
  size_t max_output;
} child;

/* What exec gathers from one output. It outlives its pipe (the bytes are
 * handed over when the child has exited): freed with the child, or by its
 * pipe's close callback if the child went first. */
struct capture {
  uv_pipe_t pipe;
  child *owner; /* NULL once the child is gone */
  char *data;
  size_t len, cap;
  int error; /* ENOBUFS past max_output, or a read error */
  int closing, closed;
};

static void deliver_exit(child *c);

static void on_unregistered_close(uv_handle_t *h) { free(h->data); }

static void on_capture_closed(uv_handle_t *h) {
  capture *cap = (capture *)h;
  cap->closed = 1;
  if (cap->owner == NULL) {
    free(cap->data);
    free(cap);
  }
}

static void capture_close(capture *cap) {
  if (!cap->closing) {
    cap->closing = 1;
    uv_close((uv_handle_t *)&cap->pipe, on_capture_closed);
  }
}

static void capture_drop(capture *cap) {
  if (cap == NULL)
    return;
  if (cap->closed) {
    free(cap->data);
    free(cap);
    return;
  }
  cap->owner = NULL;
  capture_close(cap);
}

static void free_child(dv8_handle_t *h) {
  child *c = (child *)h;
  for (int i = 0; i < 2; i++)
    capture_drop(c->out[i]);
  free(c);
}

static int pause_child(dv8_handle_t *h) {
  ((child *)h)->paused = 1;
  dv8->counters(h)[DV8_COUNTER_PAUSES]++;
  return 0;
}

/* After a reload the callback is the new code's (what it set with onExit
 * while loading: the host swapped the slots), or none if it set none;
 * after a failed one, the old. An exit that came meanwhile goes now. */
static int resume_child(dv8_handle_t *h) {
  child *c = (child *)h;
  c->paused = 0;
  dv8->counters(h)[DV8_COUNTER_RESUMES]++;
  if (c->exited && c->open_captures == 0)
    deliver_exit(c);
  return 0;
}

/* A child crosses a reload (its exit goes to the new code) but not an
 * upgrade: it is this process's child, and no other can wait for it. */
static const dv8_handle_type_t child_type = {
    DV8_HANDLE_TYPE_INIT,        .name = "process",
    .on_reload = DV8_CROSS_KEEP, .on_upgrade = DV8_CROSS_REFUSE,
    .pause = pause_child,        .resume = resume_child,
    .free = free_child,
};

/* Calls the exit callback once: the child exited, and for exec both of its
 * outputs ended. The handle closes after. */
static void deliver_exit(child *c) {
  if (c->paused || c->delivered)
    return;
  c->delivered = 1;
  dv8_env_t *env = dv8->handle_env(&c->base);
  dv8->counters(&c->base)[DV8_COUNTER_EVENTS]++;
  if (dv8->slot_bound(&c->base, SLOT_EXIT)) {
    dv8_scope_t scope;
    dv8->scope_open(env, &scope);
    dv8_value_t cb = dv8->slot_get(&c->base, SLOT_EXIT);
    dv8->slot_set(env, &c->base, SLOT_EXIT, NULL);
    dv8_value_t argv[4] = {
        dv8->number(env, (double)c->status),
        c->signal ? dv8->number(env, c->signal) : dv8->null(env), NULL, NULL};
    int argc = 2;
    if (c->max_output > 0) {
      for (int i = 0; i < 2; i++) {
        capture *cap = c->out[i];
        void *data;
        dv8_value_t ab = dv8->arraybuffer(env, cap->len, &data);
        if (ab == NULL) {
          argv[2 + i] = dv8->undefined(env);
          continue;
        }
        if (cap->len > 0)
          memcpy(data, cap->data, cap->len);
        argv[2 + i] = cap->error ? dv8->error(env, cap->error, "exec output")
                                 : dv8->uint8array(env, ab, 0, cap->len);
      }
      argc = 4;
    }
    dv8->call(env, cb, NULL, argc, argv, NULL);
    dv8->scope_close(env, &scope);
  }
  dv8->handle_close(&c->base);
}

static void on_child_exit(uv_process_t *uv, int64_t status, int term_signal) {
  child *c = (child *)uv->data;
  c->exited = 1;
  c->status = status;
  c->signal = term_signal;
  if (c->open_captures == 0)
    deliver_exit(c);
}

/* ---- exec's captured output ---- */

static void on_capture_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  capture *cap = (capture *)h;
  if (cap->cap - cap->len < 16384) {
    size_t want = cap->cap < 65536 ? 65536 : cap->cap * 2;
    char *p = realloc(cap->data, want);
    if (p == NULL) {
      buf->base = NULL;
      buf->len = 0;
      return;
    }
    cap->data = p;
    cap->cap = want;
  }
  buf->base = cap->data + cap->len;
  buf->len = cap->cap - cap->len;
}

static void on_capture_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  capture *cap = (capture *)s;
  child *c = cap->owner;
  if (n > 0) {
    cap->len += (size_t)n;
    if (c != NULL && cap->len > c->max_output && cap->error == 0) {
      cap->error = UV_ENOBUFS; /* too much: stop gathering, kill it */
      uv_process_kill(&c->uv, SIGKILL);
    }
    if (cap->error == 0)
      return;
  } else if (n == 0) {
    return;
  } else if (n != UV_EOF) {
    cap->error = (int)n;
  }
  uv_read_stop(s);
  capture_close(cap); /* the bytes stay until the exit is delivered */
  if (c == NULL)
    return;
  c->open_captures--;
  if (c->open_captures == 0 && c->exited)
    deliver_exit(c);
}

/* ---- spawning ---- */

/* A copy of the string v, or NULL (out of memory). *nul is set if v holds
 * a NUL: the kernel reads what spawn passes as C strings, so the copy
 * would end there. */
static char *utf8_dup(dv8_env_t *env, dv8_value_t v, int *nul) {
  size_t need = dv8->to_utf8(env, v, NULL, 0);
  char *out = malloc(need + 1);
  if (out != NULL) {
    dv8->to_utf8(env, v, out, need + 1);
    *nul |= strlen(out) != need;
  }
  return out;
}

static void free_n(char **list, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(list[i]);
  free(list);
}

/* A NULL-terminated array of the strings in arr (prefix first, if any);
 * NULL with an exception thrown if one is not a string (or memory ran
 * out: never a shorter list). *nul is set if one holds a NUL. */
static char **string_array(dv8_env_t *env, dv8_value_t arr, const char *prefix,
                           const char *what, int *nul) {
  uint32_t n = 0;
  if (dv8->type_of(env, arr) != DV8_TYPE_UNDEFINED) {
    dv8_value_t len = dv8->get(env, arr, "length");
    if (dv8->type_of(env, arr) != DV8_TYPE_ARRAY || len == NULL) {
      dv8->throw_type_error(env, "%s must be an array of strings", what);
      return NULL;
    }
    n = (uint32_t)dv8->to_number(env, len);
  }
  size_t first = prefix != NULL;
  char **out = calloc(first + n + 1, sizeof(char *));
  if (out == NULL) {
    dv8->throw_error(env, UV_ENOMEM, what);
    return NULL;
  }
  if (prefix != NULL && (out[0] = strdup(prefix)) == NULL)
    goto nomem;
  for (uint32_t i = 0; i < n; i++) {
    dv8_value_t v = dv8->get_index(env, arr, i);
    if (v == NULL || dv8->type_of(env, v) != DV8_TYPE_STRING) {
      free_n(out, first + n);
      dv8->throw_type_error(env, "%s must be an array of strings", what);
      return NULL;
    }
    if ((out[first + i] = utf8_dup(env, v, nul)) == NULL)
      goto nomem;
  }
  return out;
nomem:
  free_n(out, first + n);
  dv8->throw_error(env, UV_ENOMEM, what);
  return NULL;
}

static void free_strings(char **list) {
  if (list == NULL)
    return;
  for (size_t i = 0; list[i] != NULL; i++)
    free(list[i]);
  free(list);
}

enum { STDIO_PIPE, STDIO_INHERIT, STDIO_IGNORE };

/* options.stdio: [stdin, stdout, stderr], each 'pipe', 'inherit' or
 * 'ignore' (default all 'pipe'); or one of those for all three. */
static int stdio_modes(dv8_env_t *env, dv8_value_t opts, int modes[3]) {
  for (int i = 0; i < 3; i++)
    modes[i] = STDIO_PIPE;
  dv8_value_t spec = dv8->get(env, opts, "stdio");
  if (spec == NULL || dv8->type_of(env, spec) == DV8_TYPE_UNDEFINED)
    return 0;
  int is_array = dv8->type_of(env, spec) == DV8_TYPE_ARRAY;
  for (int i = 0; i < 3; i++) {
    dv8_value_t v = is_array ? dv8->get_index(env, spec, (uint32_t)i) : spec;
    char word[16];
    if (v == NULL || dv8->type_of(env, v) != DV8_TYPE_STRING ||
        dv8->to_utf8(env, v, word, sizeof(word)) >= sizeof(word))
      goto bad;
    if (strcmp(word, "pipe") == 0)
      modes[i] = STDIO_PIPE;
    else if (strcmp(word, "inherit") == 0)
      modes[i] = STDIO_INHERIT;
    else if (strcmp(word, "ignore") == 0)
      modes[i] = STDIO_IGNORE;
    else
      goto bad;
  }
  return 0;
bad:
  dv8->throw_type_error(
      env, "options.stdio: each of stdin, stdout, stderr is 'pipe', "
           "'inherit' or 'ignore'");
  return DV8_ETYPE;
}

extern char **environ;

/* The child's environment with DV8_CHANNEL_FD=3 added (a helper finds its
 * channel by it) and, when max_message > 0, DV8_CHANNEL_MAX_MESSAGE (the
 * largest message either side may send, which the helper enforces too):
 * from list, or from this process's own, without any DV8_CHANNEL_ variable
 * of theirs. */
static char **with_channel(char **list, double max_message) {
  char **from = list != NULL ? list : environ;
  size_t n = 0;
  while (from[n] != NULL)
    n++;
  char **out = calloc(n + 3, sizeof(char *));
  if (out == NULL)
    return NULL;
  char limit[64];
  snprintf(limit, sizeof(limit), "DV8_CHANNEL_MAX_MESSAGE=%.0f", max_message);
  size_t k = 0;
  for (size_t i = 0; i <= n + 1; i++) {
    const char *var = i < n ? from[i] : i == n ? "DV8_CHANNEL_FD=3" : limit;
    if (i < n && strncmp(var, "DV8_CHANNEL_", 12) == 0)
      continue;
    if (i == n + 1 && max_message <= 0)
      continue;
    if ((out[k++] = strdup(var)) == NULL) {
      free_n(out, k);
      return NULL;
    }
  }
  return out;
}

/* The common part of spawn and exec: the child's handle, started, or a
 * negative code (nothing left behind). fds: the parent's ends of pipes
 * (-1 where none), fds[3] that of the channel (options.channel: a fourth
 * socket, the child's fd 3); for exec, stdout and stderr are gathered
 * instead. */
static int start(dv8_env_t *env, dv8_call_t *call, int gather, child **out,
                 int fds[4]) {
  char *file = NULL, *cwd = NULL;
  char **args = NULL, **envp = NULL;
  dv8_value_t opts = dv8->arg(call, 2);
  int modes[3];
  int sv[4][2] = {{-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}};
  int err = DV8_ETYPE;
  child *c = NULL;
  for (int i = 0; i < 4; i++)
    fds[i] = -1;
  /* A NUL in the file, an argument, an environment entry or the directory
   * would cut it short where the kernel reads it, and run something other
   * than what JS asked for: EINVAL, as fs refuses such a path (once the
   * types are checked: those throw first). */
  int nul = 0;
  size_t file_len;
  if (dv8->arg_string(env, call, 0, &file, &file_len))
    goto done;
  nul = strlen(file) != file_len;
  if (dv8->type_of(env, opts) == DV8_TYPE_UNDEFINED)
    opts = dv8->object(env);
  else if (dv8->type_of(env, opts) != DV8_TYPE_OBJECT) {
    dv8->throw_type_error(env, "options must be an object");
    goto done;
  }
  if ((args = string_array(env, dv8->arg(call, 1), file, "args", &nul)) == NULL)
    goto done;
  dv8_value_t env_list = dv8->get(env, opts, "env");
  if (env_list != NULL && dv8->type_of(env, env_list) != DV8_TYPE_UNDEFINED &&
      (envp = string_array(env, env_list, NULL,
                           "options.env (['NAME=value', ...])", &nul)) == NULL)
    goto done;
  dv8_value_t cwd_v = dv8->get(env, opts, "cwd");
  if (cwd_v != NULL && dv8->type_of(env, cwd_v) == DV8_TYPE_STRING) {
    if ((cwd = utf8_dup(env, cwd_v, &nul)) == NULL) {
      err = UV_ENOMEM;
      goto done;
    }
  } else if (cwd_v != NULL && dv8->type_of(env, cwd_v) != DV8_TYPE_UNDEFINED) {
    dv8->throw_type_error(env, "options.cwd must be a string");
    goto done;
  }
  if (stdio_modes(env, opts, modes))
    goto done;
  if (nul) {
    err = UV_EINVAL;
    goto done;
  }
  /* options.channel: true, or the channel's largest message (a number,
   * checked by the helper module) */
  dv8_value_t chan = dv8->get(env, opts, "channel");
  int channel = chan != NULL && dv8->to_bool(env, chan) && !gather;
  if (channel) {
    double max_message = dv8->type_of(env, chan) == DV8_TYPE_NUMBER
                             ? dv8->to_number(env, chan)
                             : 0;
    char **full = with_channel(envp, max_message);
    free_strings(envp);
    envp = full;
    if (envp == NULL) {
      err = UV_ENOMEM;
      goto done;
    }
  }
  c = calloc(1, sizeof(*c));
  if (c == NULL) {
    err = UV_ENOMEM;
    goto done;
  }
  uv_stdio_container_t stdio[4];
  if (channel) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[3]) != 0) {
      err = -errno;
      goto done;
    }
    stdio[3].flags = UV_INHERIT_FD;
    stdio[3].data.fd = sv[3][1];
  }
  for (int i = 0; i < 3; i++) {
    /* exec gathers stdout and stderr; its stdin is never a pipe. */
    int mode = gather && i > 0 ? -1 : modes[i];
    if (gather && i == 0 && mode == STDIO_PIPE)
      mode = STDIO_IGNORE;
    if (mode == -1) { /* exec gathers stdout and stderr itself */
      capture *cap = calloc(1, sizeof(*cap));
      if (cap == NULL) {
        err = UV_ENOMEM;
        goto done;
      }
      uv_pipe_init(dv8->loop(env), &cap->pipe, 0);
      cap->owner = c;
      c->out[i - 1] = cap;
      stdio[i].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
      stdio[i].data.stream = (uv_stream_t *)&cap->pipe;
    } else if (mode == STDIO_PIPE) {
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[i]) != 0) {
        err = -errno;
        goto done;
      }
      stdio[i].flags = UV_INHERIT_FD;
      stdio[i].data.fd = sv[i][1];
    } else if (mode == STDIO_INHERIT) {
      stdio[i].flags = UV_INHERIT_FD;
      stdio[i].data.fd = i;
    } else {
      stdio[i].flags = UV_IGNORE;
    }
  }
  uv_process_options_t o;
  memset(&o, 0, sizeof(o));
  o.exit_cb = on_child_exit;
  o.file = file;
  o.args = args;
  o.env = envp;
  o.cwd = cwd;
  o.stdio_count = channel ? 4 : 3;
  o.stdio = stdio;
  err = uv_spawn(dv8->loop(env), &c->uv, &o);
  if (err == 0) {
    err =
        dv8->handle_register(env, &c->base, &child_type, (uv_handle_t *)&c->uv);
    if (err)
      uv_process_kill(&c->uv, SIGKILL);
  }
  if (err) {
    /* Not ours to keep: the handle (initialised by uv_spawn even when it
     * fails) is closed, the child struct freed after. */
    for (int i = 0; i < 2; i++)
      capture_drop(c->out[i]);
    c->uv.data = c;
    uv_close((uv_handle_t *)&c->uv, on_unregistered_close);
    c = NULL;
    goto done;
  }
  for (int i = 0; i < 4; i++) {
    if (sv[i][1] >= 0)
      close(sv[i][1]);
    fds[i] = sv[i][0];
    sv[i][0] = sv[i][1] = -1;
  }
  if (gather) {
    for (int i = 0; i < 2; i++) {
      uv_read_start((uv_stream_t *)&c->out[i]->pipe, on_capture_alloc,
                    on_capture_read);
      c->open_captures++;
    }
  }
  *out = c;
  c = NULL;
  err = 0;
done:
  if (c != NULL) { /* failed before uv_spawn */
    for (int i = 0; i < 2; i++)
      capture_drop(c->out[i]);
    free(c);
  }
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 2; j++)
      if (sv[i][j] >= 0)
        close(sv[i][j]);
  free(file);
  free(cwd);
  free_strings(args);
  free_strings(envp);
  return err;
}

/* spawn(file, args, options, onExit(status, signal)) -> { id, pid, stdio }
 * or a negative code (ENOENT: no such program, EACCES: not executable).
 * stdio: the parent's ends of the pipes ([fd or -1, ...]), for net.open. */
static dv8_value_t js_spawn(dv8_env_t *env, dv8_call_t *call) {
  dv8_value_t cb = NULL;
  if (dv8->type_of(env, dv8->arg(call, 3)) != DV8_TYPE_UNDEFINED &&
      dv8->arg_function(env, call, 3, &cb))
    return NULL;
  child *c;
  int fds[4];
  int err = start(env, call, 0, &c, fds);
  if (err == DV8_ETYPE)
    return NULL;
  if (err)
    return dv8->number(env, err);
  dv8->slot_set(env, &c->base, SLOT_EXIT, cb);
  dv8_value_t out = dv8->object(env);
  dv8->set_number(env, out, "id", (double)dv8->handle_id(&c->base));
  dv8->set_number(env, out, "pid", c->uv.pid);
  dv8_value_t arr = dv8->array(env, 3);
  for (uint32_t i = 0; i < 3; i++)
    dv8->set_index(env, arr, i, dv8->number(env, fds[i]));
  dv8->set(env, out, "stdio", arr);
  if (fds[3] >= 0)
    dv8->set_number(env, out, "channel", fds[3]);
  return out;
}

/* exec(file, args, options, onDone(status, signal, stdout, stderr)) -> id
 * or a negative code: runs the program to completion, gathering what it
 * writes (options.maxOutput bytes per stream, default 64 MiB; past that
 * it is killed and that stream comes as an ENOBUFS error). */
static dv8_value_t js_exec(dv8_env_t *env, dv8_call_t *call) {
  dv8_value_t cb;
  if (dv8->arg_function(env, call, 3, &cb))
    return NULL;
  double max = 64.0 * 1024 * 1024;
  dv8_value_t opts = dv8->arg(call, 2);
  if (dv8->type_of(env, opts) == DV8_TYPE_OBJECT) {
    dv8_value_t m = dv8->get(env, opts, "maxOutput");
    if (m != NULL && dv8->type_of(env, m) != DV8_TYPE_UNDEFINED) {
      max = dv8->to_number(env, m);
      if (!(max >= 1 && max <= 1024.0 * 1024 * 1024))
        return dv8->throw_range_error(
            env, "options.maxOutput must be 1 byte to 1 GiB");
    }
  }
  child *c;
  int fds[4];
  int err = start(env, call, 1, &c, fds);
  if (err == DV8_ETYPE)
    return NULL;
  if (err)
    return dv8->number(env, err);
  c->max_output = (size_t)max;
  dv8->slot_set(env, &c->base, SLOT_EXIT, cb);
  return dv8->number(env, (double)dv8->handle_id(&c->base));
}

/* Argument 0 as an open child: 0, DV8_ETYPE (not an id: thrown) or
 * UV_ESRCH (no such child: it exited and was reported, or never was). */
static int find_child(dv8_env_t *env, dv8_call_t *call, child **out) {
  int err = dv8->arg_handle(env, call, 0, &child_type, (dv8_handle_t **)out);
  return err == DV8_ECLOSED ? UV_ESRCH : err;
}

/* kill(id, signal = 'SIGTERM') -> 0, ESRCH (it has exited), or a code. */
static dv8_value_t js_kill(dv8_env_t *env, dv8_call_t *call) {
  dv8_value_t v = dv8->arg(call, 1);
  int sig = dv8->type_of(env, v) == DV8_TYPE_UNDEFINED
                ? SIGTERM
                : process__signal_of(env, v);
  if (sig == 0)
    return dv8->throw_type_error(env, "kill: unknown signal");
  child *c;
  int err = find_child(env, call, &c);
  if (err == 0 && c->exited)
    err = UV_ESRCH;
  if (err)
    return err == DV8_ETYPE ? NULL : dv8->number(env, err);
  return dv8->number(env, uv_process_kill(&c->uv, sig));
}

/* onExit(id, cb): replaces the exit callback; how code loaded by a reload
 * takes a running child over (docs/processes.md). */
static dv8_value_t js_on_exit(dv8_env_t *env, dv8_call_t *call) {
  child *c;
  dv8_value_t cb;
  int err = find_child(env, call, &c);
  if (err == DV8_ETYPE || dv8->arg_function(env, call, 1, &cb))
    return NULL;
  if (err == 0) /* the code a reload loads: the host keeps it for then */
    err = dv8->slot_set(env, &c->base, SLOT_EXIT, cb);
  return dv8->number(env, err);
}

/* pid(id) -> the child's pid, or ESRCH. */
static dv8_value_t js_pid(dv8_env_t *env, dv8_call_t *call) {
  child *c;
  int err = find_child(env, call, &c);
  if (err == DV8_ETYPE)
    return NULL;
  return dv8->number(env, err ? err : c->uv.pid);
}

static dv8_value_t js_ref(dv8_env_t *env, dv8_call_t *call) {
  child *c;
  if (find_child(env, call, &c) == 0) {
    if (dv8->to_bool(env, dv8->arg(call, 1)))
      uv_ref((uv_handle_t *)&c->uv);
    else
      uv_unref((uv_handle_t *)&c->uv);
  }
  return NULL;
}

/* close(id): a signal handler stops; a child's handle is kept until its
 * exit (closing it would leave a zombie), so for a child it only drops the
 * callback. */
static dv8_value_t js_close(dv8_env_t *env, dv8_call_t *call) {
  dv8_handle_t *h;
  if (dv8->arg_handle(env, call, 0, &child_type, &h) == 0)
    dv8->slot_set(env, h, SLOT_EXIT, NULL);
  else if (!dv8->exception_pending(env))
    process__close_signal(env, call);
  return NULL;
}

/* error(code, what?) -> an Error with .code (its name), .errno (code) and a
 * message naming what, made where every system error is (the object
 * layer's, process.js). */
static dv8_value_t js_error(dv8_env_t *env, dv8_call_t *call) {
  int64_t code;
  if (dv8->arg_integer(env, call, 0, INT32_MIN, -1, &code))
    return NULL;
  char *what = NULL;
  if (dv8->argc(call) > 1 &&
      dv8->type_of(env, dv8->arg(call, 1)) != DV8_TYPE_UNDEFINED &&
      dv8->arg_string(env, call, 1, &what, NULL))
    return NULL;
  dv8_value_t err = dv8->error(env, (int)code, what);
  free(what);
  return err;
}

static int process_init(dv8_env_t *env, dv8_value_t exports) {
  static const struct {
    const char *name;
    dv8_function_cb fn;
  } functions[] = {
      {"spawn", js_spawn},
      {"exec", js_exec},
      {"kill", js_kill},
      {"onExit", js_on_exit},
      {"pid", js_pid},
      {"ref", js_ref},
      {"onSignal", process__js_on_signal},
      {"refSignal", process__js_ref_signal},
      {"close", js_close},
      {"error", js_error},
  };
  for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
    int err = dv8->set_function(env, exports, functions[i].name,
                                functions[i].fn, NULL);
    if (err)
      return err;
  }
  process__export_signals(env, exports);
  dv8->set_number(env, exports, "ENOENT", UV_ENOENT);
  dv8->set_number(env, exports, "EACCES", UV_EACCES);
  dv8->set_number(env, exports, "EINVAL", UV_EINVAL);
  dv8->set_number(env, exports, "ESRCH", UV_ESRCH);
  dv8->set_number(env, exports, "ENOBUFS", UV_ENOBUFS);
  return 0;
}

static const dv8_handle_type_t *const process_types[] = {
    &child_type, &process__signal_type, NULL};

DV8_MODULE_TYPES(process, process_init, process_types, NULL);

DV8_MODULE_JS("modules/process/process.js");
