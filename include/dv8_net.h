/*
 * dv8_net.h — stream layers: how a module puts a protocol (TLS) between a
 * net stream and its JS, in C, so that the stream stays a stream to the
 * handle table, to reload and to JS (net's Socket objects), and the
 * protocol's state lives in C where a reload does not touch it.
 *
 * The net module offers this table as the service DV8_NET_LAYER_SERVICE
 * (dv8->service_get(DV8_NET_LAYER_SERVICE, DV8_NET_LAYER_VERSION)), once
 * some context has imported 'net'. Everything runs on the stream's thread.
 *
 * A layered stream reads into a buffer of net's (bytes from below go to
 * the layer's on_read, never to JS); the layer puts what it decodes into
 * JS's read buffer (buffer) and says so (deliver). JS's writes go to the
 * layer's write, which sends what it encodes below (send).
 */
#ifndef DV8_NET_H_
#define DV8_NET_H_

#include <sys/types.h>

#include "dv8.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DV8_NET_LAYER_SERVICE "net.layer"
#define DV8_NET_LAYER_VERSION 2
/* The layer's event (api->event) that says it is ready for JS. */
#define DV8_NET_LAYER_READY 1

/* What a layer does, called by net. */
typedef struct dv8_net_layer_ops {
  /* Bytes read from below (n > 0), or the end below: UV_EOF or an error. */
  void (*on_read)(void *layer, const char *data, ssize_t n);
  /* JS wrote len bytes: encode them and send(). Returns what net's write
   * does: 0 (written), 1 (queued: wait for drain), or an error. */
  int (*write)(void *layer, const char *data, size_t len);
  /* JS ended its side: say so below (before net shuts the socket down). */
  void (*end)(void *layer);
  /* JS resumed reading: deliver what the layer holds decoded. */
  void (*resume)(void *layer);
  /* The stream is closing: free the layer (no call of the table after). */
  void (*close)(void *layer);
  /* Why the layer's state cannot go to another process (so an upgrade
   * leaves the stream with this one, whose old code serves it until it
   * ends), or NULL if it could. */
  const char *(*stays)(void *layer);
  /* Whether the layer is ready for JS (TLS: its handshake is done); JS's
   * open waits for the layer's event DV8_NET_LAYER_READY until then. */
  int (*ready)(void *layer);
  /* Why the layer failed the stream (for JS's error), or NULL. */
  const char *(*reason)(void *layer);
  /* The stream is connected: at attach, or when a connect under way
   * completes (so a client layer attached at once speaks first then, and
   * stays on across a reload meanwhile). TLS: a client's hello. */
  void (*start)(void *layer);
  /* The stream moves to another thread: the layer's state, taken whole
   * (layer is no longer net's: the layer frees it once its own calls have
   * returned), or NULL and *err (EBUSY, ENOMEM) to refuse the move. */
  void *(*detach)(void *layer, int *err);
  /* In the thread it went to: the layer for state on stream h of env's
   * loop (it goes on where it was: a handshake's deadline too), or NULL
   * (state freed). */
  void *(*adopt)(void *state, dv8_env_t *env, dv8_handle_t *h);
  /* A detached state that will not be adopted: freed. */
  void (*drop)(void *state);
} dv8_net_layer_ops;

/* What a listening stream does with the connections it accepts: each gets
 * a layer from it before JS hears of it (so a server stays TLS whatever
 * code drives it after a reload). */
typedef struct dv8_net_acceptor_ops {
  /* Puts a layer on conn (api->attach); an error closes conn. */
  int (*accepted)(void *data, dv8_handle_t *conn);
  /* The server is closing, or another acceptor replaces this one. */
  void (*release)(void *data);
} dv8_net_acceptor_ops;

/* What net offers a layer. */
typedef struct dv8_net_layer_api {
  /* Argument i of a native call as a net stream (a connected socket):
   * 0, DV8_ETYPE (thrown) or DV8_ECLOSED. */
  int (*arg_stream)(dv8_env_t *env, dv8_call_t *call, int i,
                    dv8_handle_t **out);
  /* Puts layer on h (connected, or connecting: ops->start says when it
   * is); from now on reads go to ops->on_read. UV_EBUSY if h has a layer,
   * UV_EINVAL for a server or a stream that ended. */
  int (*attach)(dv8_handle_t *h, const dv8_net_layer_ops *ops, void *layer);
  /* Sends encoded bytes below: 0, 1 (queued) or an error; never refused
   * for the queue limit (JS's write was checked against it). */
  int (*send)(dv8_handle_t *h, const char *data, size_t len);
  /* JS's read buffer: 0 and *data, *len, or DV8_ECLOSED when none. */
  int (*buffer)(dv8_handle_t *h, char **data, size_t *len);
  /* n decoded bytes are in the read buffer (n > 0), or the end (UV_EOF),
   * or an error: to JS's read callback, now, or (bytes that did not fill
   * the buffer) posted to reach JS with the other reads of this poll; the
   * buffer is JS's until then (reading() says 0, and net reads nothing
   * from below meanwhile). */
  void (*deliver)(dv8_handle_t *h, ssize_t n);
  /* Whether JS reads (readStart done, not paused) and its buffer is free. */
  int (*reading)(dv8_handle_t *h);
  /* Calls JS's layer callback (net/raw onLayer) with (what, value). */
  void (*event)(dv8_handle_t *h, int what, double value);
  /* The layer on h if its ops are these, else NULL. */
  void *(*layer)(dv8_handle_t *h, const dv8_net_layer_ops *ops);
  /* Sets (or replaces: the old one is released) what a listening stream
   * does with each connection it accepts; ops NULL: nothing. Argument i
   * of a native call must be the server: arg_server. */
  int (*set_acceptor)(dv8_handle_t *server, const dv8_net_acceptor_ops *ops,
                      void *data);
  /* Argument i of a native call as a listening net stream. */
  int (*arg_server)(dv8_env_t *env, dv8_call_t *call, int i,
                    dv8_handle_t **out);
} dv8_net_layer_api;

#ifdef __cplusplus
}
#endif

#endif
