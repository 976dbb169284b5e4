/*
 * net.h — what the three parts of the net module share: net.c (the stream
 * handle type, the read path, stdio, the module's init), net_write.c (the
 * write path) and net_sockets.c (servers, clients, socket options and
 * addresses). Not a public header.
 */
#ifndef DV8_NET_H
#define DV8_NET_H

#include <uv.h>

#include "dv8.h"
#include "dv8_net.h"

enum { KIND_TCP, KIND_PIPE, KIND_TTY, KIND_FILE };

/* The JS values a stream calls or fills, kept by the host per context (so
 * that a reload's new code binds its own; see dv8.h, slot_set). */
enum {
  SLOT_READ_BUFFER,   /* the buffer reads land in */
  SLOT_ON_READ,       /* (n) */
  SLOT_ON_DRAIN,      /* (status) */
  SLOT_ON_CONNECT,    /* (status) */
  SLOT_ON_CONNECTION, /* (id or error) */
  SLOT_ON_SHUTDOWN,   /* (status) */
  SLOT_ON_CLOSE,      /* (final counters) */
  SLOT_ON_LAYER       /* (what, value): a layer's events (net_layer.c) */
};

enum {
  READING = 1,           /* JS wants data (readStart and not paused) */
  LISTENING = 2,         /* a server */
  ENDED = 4,             /* EOF seen */
  SHUTTING = 8,          /* shutdown requested */
  CONNECTING = 64,       /* connect in flight */
  ACCEPT_PENDING = 128,  /* a server paused with a connection to accept */
  HOST_PAUSED = 256,     /* a reload paused it while it was reading */
  FROZEN = 512,          /* the host paused it: no callback runs (an
                            upgrade's drain: writes go on, JS does not) */
  DRAIN_DUE = 1024,      /* a drain came while frozen: told at resume */
  HOLDING = 2048,        /* writes wait (the hold op: an upgrade's old
                            process is still flushing its own) */
  SHUTDOWN_HELD = 4096,  /* shutdown asked while holding: done at release */
  FILE_WAITING = 8192,   /* KIND_FILE: the device said EAGAIN to a read */
  NEEDS_LAYER = 16384,   /* a server whose connections had a layer in the
                            process before an upgrade: none is accepted
                            plain (its code sets an acceptor) */
  FAIL_DUE = 32768,      /* a layer failed the stream while frozen: told
                            at resume (fail_status) */
  ADRIFT = 65536,        /* accepted, its layer not ready when a reload
                            committed: no code knows of it (net_layer.c) */
  SHUTDOWN_PREP = 131072 /* shutdown asked by code a reload is loading:
                            done at its commit, after its writes */
};

/* write() results for JS, besides negative error codes. */
enum { WRITE_DONE = 0, WRITE_QUEUED = 1 };

/* A layer's place on a stream (the public header's opaque link). */
struct dv8_net_link {
  struct stream *s;
  const struct dv8_net_layer_ops *ops;
  void *data;
  int level; /* 0 reads the socket */
};

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
  /* The memory of the buffer bound to SLOT_READ_BUFFER by slot_env's code
   * (a reload's commit changes whose bindings the stream has). */
  char *rbuf;
  size_t rlen;
  dv8_env_t *slot_env;
  size_t queued; /* bytes accepted by write() and not yet in the kernel */
  size_t queue_limit;
  uv_connect_t connect_req;
  struct connect_timer *connect_timer; /* connect(..., timeoutMs) pending */
  /* A server's back-off at the descriptor limit (net_sockets.c). */
  struct accept_guard *accept_guard;
  uv_shutdown_t shutdown_req;
  int drain_status; /* with DRAIN_DUE */
  int fail_status;  /* with FAIL_DUE */
  char *held;       /* HOLDING: the writes waiting, in order */
  size_t held_len;
  /* setLowLatency: after data arrives the loop polls instead of sleeping
   * for an adaptive window (net.c, keep_polling). */
  uv_idle_t *spin;
  uint64_t spin_until, spin_ns;
  /* KIND_FILE on a device that can say EAGAIN: a poll handle waits for it
   * instead of retrying in a loop, and what it did not take waits here. */
  uv_poll_t *file_poll;
  char *file_out;
  size_t file_out_len;
  /* Protocols layered over the stream (include/dv8_net.h, net_layer.c),
   * bottom first: reads land in lbuf (the thread's, net__layer_buffer)
   * and go to link[0]; what it decodes goes to link[1] if there is one,
   * through mid; JS's writes go to the top one. */
  struct dv8_net_link link[2];
  int layers;
  unsigned stalled; /* bit per level: that layer takes no input now */
  char *lbuf;
  char *mid;
  /* A server's: what each accepted connection gets (its layers: the
   * transport's, then the protocol's). */
  const struct dv8_net_acceptor_ops *acceptor[2];
  void *acceptor_data[2];
  /* A connection a server with an acceptor made: that server's id, to
   * hand it to the server's code if a reload leaves it ADRIFT. */
  uint64_t server_id;
  /* What the code a reload is loading (prep_env) wrote: sent at its
   * commit, dropped if the reload fails (net_write.c). */
  char *prep;
  size_t prep_len;
  dv8_env_t *prep_env;
} stream;

/* A reload's end for what its new code wrote and shut (prep): sent, in
 * that order, if the code committed (the stream is its env's now), else
 * dropped. */
void net__prep_settle(stream *s);
/* Frees what the loading code wrote (a failed reload, a closing stream). */
void net__prep_drop(stream *s);

/* Closes a stream no code knows of (ADRIFT), as JS's close would. */
void net__close_adrift(stream *s);
/* An ADRIFT stream's layer is ready: its server's code gets it as a new
 * connection (onConnection), or it is closed if none takes it. */
void net__adrift_ready(stream *s);

/* Calls the function bound to slot with one number (none when argc is 0),
 * from a libuv callback. */
void net__emit(stream *s, unsigned slot, int argc, double value);
/* Calls the one-shot callback bound to slot with status (unless the
 * handle is closing: UV_ECANCELED) and unbinds it. */
void net__emit_once(stream *s, unsigned slot, int status);
/* Binds value to s's slot for env's code (NULL unbinds). */
int net__bind(dv8_env_t *env, stream *s, unsigned slot, dv8_value_t value);
/* Whether env is code a reload is loading (not yet the stream's). */
int net__preparing(dv8_env_t *env, stream *s);
/* What a function returns after a failed step: nothing when an exception is
 * pending, else the code as a number. */
dv8_value_t net__reply(dv8_env_t *env, int err);
/* Argument i as a live stream: 0, DV8_ETYPE (thrown) or DV8_ECLOSED. */
int net__arg_stream(dv8_env_t *env, dv8_call_t *call, int i, stream **out);
/* Arguments (id, callback) to rebind a stream that has flag set (a
 * server's onConnection, a connect's onConnect): 0, DV8_ETYPE (thrown),
 * DV8_ECLOSED or UV_EINVAL (flag not set). */
int net__arg_rebind(dv8_env_t *env, dv8_call_t *call, unsigned flag, stream **s,
                    dv8_value_t *cb);
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
/* The stream's id as a JS number. */
dv8_value_t net__id(dv8_env_t *env, stream *s);
/* Data came in or went out on a low-latency stream: poll for a while. */
void net__keep_polling(stream *s);
/* KIND_FILE: what the poll handle should wait for changed. */
int net__file_poll_update(stream *s);

/* Starts and stops reading from the socket (or device) below any layer;
 * a stalled layer (net_layer.c) keeps it stopped. */
int net__start_socket(stream *s);
int net__stop_socket(stream *s);

/* Gives JS's read callback n (bytes in its buffer, UV_EOF or an error)
 * as a read does: now, or posted (may_post, a read that did not fill the
 * buffer) to reach JS with the other reads of this poll. */
void net__deliver(stream *s, ssize_t n, int may_post);

/* net_layer.c: offers the layer service (at the module's init). */
void net__layer_offer(void);
/* The layer JS talks to (the top one), or NULL. */
static inline struct dv8_net_link *net__top(stream *s) {
  return s->layers > 0 ? &s->link[s->layers - 1] : NULL;
}
/* Whether every layer is ready for JS (TLS: its handshake done). */
int net__layers_ready(stream *s);
/* Closes the layers, top first (the stream is closing). */
void net__layers_close(stream *s);
/* Puts a layer on s at the next level; 0, UV_EBUSY or UV_ENOMEM. */
int net__layer_put(stream *s, const struct dv8_net_layer_ops *ops, void *layer,
                   struct dv8_net_link **link);
/* A server's acceptor goes (closing, or replaced). */
void net__release_acceptor(stream *s);
/* What server's acceptor does with a connection it accepted: 0, or an
 * error (conn is then closed). */
int net__accepted(stream *server, stream *conn);
/* net/raw layered(id) and layerReason(id). */
dv8_value_t net__js_layered(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_layer_reason(dv8_env_t *env, dv8_call_t *call);
/* The size of a layered stream's read buffer (its lbuf). */
#define NET_LAYER_BUF (64 * 1024)
/* The read buffer of env's thread's layered streams (one per thread: a
 * layer takes each read whole before the next, copying what it keeps), or
 * NULL without memory. */
char *net__layer_buffer(dv8_env_t *env);

/* net_write.c: the write path. */
/* Writes (or queues) len bytes; WRITE_DONE, WRITE_QUEUED or a code. JS's
 * writes: through the stream's layer, if it has one. */
int net__write(stream *s, const char *data, size_t len);
/* The same, below any layer; bounded: refused with DV8_EFULL past the
 * queue limit (a layer's sends are not: what it encoded must go whole). */
int net__write_below(stream *s, const char *data, size_t len, int bounded);
/* onDrain now, or at resume while the host has the stream frozen. */
void net__emit_drain(stream *s, int status);
/* The hold op: writes wait (on) or go, then a shutdown asked meanwhile. */
int net__hold(dv8_handle_t *h, int on);
/* KIND_FILE: the device can take more: write what waits. */
void net__file_writable(stream *s);
/* Completion of a shutdown request. */
void net__on_shutdown(uv_shutdown_t *req, int status);

/* net_sockets.c: accepts the connection a paused server left waiting. */
void net__accept_pending(stream *server);
/* net_sockets.c: the handle ops for servers in an upgrade. */
int net__take_pending(dv8_handle_t *h, int *fd);
int net__give_pending(dv8_handle_t *h, int fd);
/* net_sockets.c: stops a stream's connect timeout (it is closing, or the
 * connect ended). */
void net__stop_connect_timer(stream *s);
/* net_sockets.c: stops a server's back-off timer and gives up its spare
 * descriptor (it is closing). */
void net__stop_accept_guard(stream *s);
/* net_sockets.c: listens on a socket s already holds (an imported
 * descriptor); 0 or a code. */
int net__listen_imported(stream *s);

/* The JS functions of net_write.c and net_sockets.c. */
dv8_value_t net__js_write(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_shutdown(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_queued(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_set_queue_limit(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_listen(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_listen_fd(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_listen_unix(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_connect(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_connect_unix(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_on_connect(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_set_no_delay(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_set_keep_alive(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_address(dv8_env_t *env, dv8_call_t *call);
dv8_value_t net__js_peer(dv8_env_t *env, dv8_call_t *call);

#endif
