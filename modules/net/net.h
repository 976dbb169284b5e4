/*
 * net.h — what the two halves of the net module share: net.c (the stream
 * handle type, the data path, stdio, the module's init) and net_sockets.c
 * (servers, clients, socket options and addresses). Not a public header.
 */
#ifndef DV8_NET_H
#define DV8_NET_H

#include <uv.h>

#include "dv8.h"

enum { KIND_TCP, KIND_PIPE, KIND_TTY, KIND_FILE };

enum {
  READING = 1,          /* JS wants data (readStart and not paused) */
  LISTENING = 2,        /* a server */
  ENDED = 4,            /* EOF seen */
  SHUTTING = 8,         /* shutdown requested */
  CONNECTING = 64,      /* connect in flight */
  ACCEPT_PENDING = 128, /* a server paused with a connection to accept */
  HOST_PAUSED = 256,    /* a reload paused it while it was reading */
  FROZEN = 512,         /* the host paused it: no callback runs (an
                           upgrade's drain: writes go on, JS does not) */
  DRAIN_DUE = 1024,     /* a drain came while frozen: told at resume */
  HOLDING = 2048,       /* writes wait (holdWrites: an upgrade's old
                           process is still flushing its own) */
  SHUTDOWN_HELD = 4096  /* shutdown asked while holding: done at release */
};

/* write() results for JS, besides negative error codes. */
enum { WRITE_DONE = 0, WRITE_QUEUED = 1 };

typedef struct stream {
  dv8_handle_t base;
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
    uv_tty_t tty;
    uv_idle_t idle; /* KIND_FILE: reads run from it (see on_file_idle) */
  } uv;
  int kind;
  int fd; /* KIND_FILE: the descriptor read and written */
  unsigned flags;
  char *rbuf; /* JS's read buffer (borrowed; kept alive by read_buffer) */
  size_t rlen;
  size_t queued; /* bytes in uv_write requests not yet completed */
  size_t queue_limit;
  dv8_ref_t *read_buffer;
  dv8_ref_t *on_read;       /* (n) */
  dv8_ref_t *on_drain;      /* (status) */
  dv8_ref_t *on_connect;    /* (status) */
  dv8_ref_t *on_connection; /* (id or error) */
  dv8_ref_t *on_shutdown;   /* (status) */
  dv8_ref_t *on_close;      /* (final counters) */
  uv_connect_t connect_req;
  struct connect_timer *connect_timer; /* connect(..., timeoutMs) pending */
  uv_shutdown_t shutdown_req;
  /* setLowLatency: after data arrives the loop polls instead of sleeping
   * for an adaptive window (net.c, spin_after_read). */
  int drain_status; /* with DRAIN_DUE */
  char *held;       /* HOLDING: the writes waiting, in order */
  size_t held_len;
  uv_idle_t *spin;
  uint64_t spin_until, spin_ns;
  /* Reload (docs/reload.md): the context whose callbacks are live, and
   * what the code being loaded asked for, kept apart until the host
   * commits (h->env changes, then resume) or aborts (resume alone). */
  dv8_env_t *slot_env;
  struct {
    dv8_env_t *env;
    dv8_ref_t *read_buffer, *on_read, *on_drain, *on_connection;
    char *rbuf;
    size_t rlen;
  } pending;
} stream;

/* Calls the callback held by ref with one number (none when argc is 0),
 * from a libuv callback. */
void net__emit(stream *s, dv8_ref_t *ref, int argc, double value);
/* Calls the one-shot callback in *slot with status (unless the handle is
 * closing: UV_ECANCELED) and drops it. */
void net__emit_once(stream *s, dv8_ref_t **slot, int status);
/* Replaces the reference in *slot with one to value (NULL: none). */
void net__set_ref(dv8_env_t *env, dv8_ref_t **slot, dv8_value_t value);
/* What a function returns after a failed step: nothing when an exception is
 * pending, else the code as a number. */
dv8_value_t net__reply(dv8_env_t *env, int err);
/* Argument i as a live stream: 0, DV8_ETYPE (thrown) or DV8_ECLOSED. */
int net__arg_stream(dv8_env_t *env, dv8_call_t *call, int i, stream **out);
/* Argument i as a callback, or NULL for undefined or null. */
int net__arg_callback(dv8_env_t *env, dv8_call_t *call, int i,
                      dv8_value_t *out);
/* A zeroed stream of a kind, not yet initialised; NULL without memory. */
stream *net__new_stream(int kind);
/* Registers a stream whose uv handle is initialised; on failure closes it
 * (freed once libuv is done) and returns the error. */
int net__add_stream(dv8_env_t *env, stream *s);
/* Close callback for a handle never registered: frees h->data. */
void net__on_unregistered_close(uv_handle_t *h);

/* net_sockets.c: accepts the connection a paused server left waiting. */
void net__accept_pending(stream *server);

/* net_sockets.c: the JS functions of the second half. */
dv8_value_t net__js_listen(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_listen_fd(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_accept_fd(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_listen_unix(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_connect(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_connect_unix(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_set_no_delay(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_set_keep_alive(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_address(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_peer(dv8_env_t *env, dv8_call_t *call);

#endif
