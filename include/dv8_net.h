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
 *
 * Layers stack, two at most (HTTP over TLS): the second goes on top of
 * the first. Each gets a link at attach, its place on the stream, which
 * the calls of the API take: what the lower one delivers goes to the
 * upper one's on_read (not JS), what the upper one sends goes to the
 * lower one's write (not the socket). JS talks to the top one.
 */
#ifndef DV8_NET_H_
#define DV8_NET_H_

#include <sys/types.h>

#include "dv8.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DV8_NET_LAYER_SERVICE "net.layer"
#define DV8_NET_LAYER_VERSION 4
/* The layer's event (api->event) that says it is ready for JS. */
#define DV8_NET_LAYER_READY 1

/* A layer's place on a stream (net's memory, valid until its close). */
typedef struct dv8_net_link dv8_net_link;

/* What a layer does, called by net. */
typedef struct dv8_net_layer_ops {
  /* Bytes read from below (n > 0), or the end below: UV_EOF or an error.
   * The bytes are the caller's only during the call: a layer keeps (copies)
   * what it does not decode now. */
  void (*on_read)(void *layer, const char *data, ssize_t n);
  /* JS wrote len bytes: encode them and send(). Returns what net's write
   * does: 0 (written), 1 (queued: wait for drain), or an error. */
  int (*write)(void *layer, const char *data, size_t len);
  /* JS ended its side: say so below (before net shuts the socket down). */
  void (*end)(void *layer);
  /* JS (or the layer above) takes input again: deliver what the layer
   * holds decoded. */
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
  /* In the thread it went to: the layer for state at link on a stream of
   * env's loop (it goes on where it was: a handshake's deadline too), or
   * NULL (state freed). Only a stream with one layer moves. */
  void *(*adopt)(void *state, dv8_env_t *env, dv8_net_link *link);
  /* A detached state that will not be adopted: freed. */
  void (*drop)(void *state);
  /* DV8_NET_DELIVER_NOW: what the layer delivers reaches JS at once, never
   * posted to the end of the poll (its JS shares one read buffer among
   * its streams). */
  unsigned flags;
  /* 1 while JS has begun work only it can finish (an HTTP answer under
   * way), which a reload waits for; NULL: never. */
  int (*unfinished)(void *layer);
  /* on: a reload waits for that: give JS no new work (the next requests);
   * off: the reload is over. NULL: nothing to do. */
  void (*settle)(void *layer, int on);
  /* 1: a reload's new code that does not bind the stream has no use for it
   * (a client's pooled connection, whose requests were the old code's):
   * net closes it at the commit. NULL: it waits, paused, as plain streams
   * do. */
  int (*orphan)(void *layer);
  /* 1: the layer holds nothing another process would lose (an idle HTTP
   * connection): an upgrade sends the stream there plain, and the new
   * process's code puts a new layer on it. NULL or 0: as stays says. */
  int (*shed)(void *layer);
} dv8_net_layer_ops;

#define DV8_NET_DELIVER_NOW 1u

/* What a listening stream does with the connections it accepts: each gets
 * a layer from it before JS hears of it (so a server stays TLS whatever
 * code drives it after a reload). A server has two: the transport's (TLS)
 * runs first, then the protocol's (HTTP), which goes on top. */
#define DV8_NET_TRANSPORT 0
#define DV8_NET_PROTOCOL 1
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
  /* Puts layer on h, on top of the one there if any (connected, or
   * connecting: ops->start says when it is), and sets *link, its place.
   * From now on what comes from below goes to ops->on_read. UV_EBUSY if h
   * has two layers, UV_EINVAL for a server or a stream that ended. */
  int (*attach)(dv8_handle_t *h, const dv8_net_layer_ops *ops, void *layer,
                dv8_net_link **link);
  /* Sends encoded bytes below (the socket, or the layer under this one):
   * 0, 1 (queued) or an error; never refused for the queue limit (JS's
   * write was checked against it). */
  int (*send)(dv8_net_link *link, const char *data, size_t len);
  /* Where decoded bytes go (JS's read buffer, or the layer above's input):
   * 0 and *data, *len, or DV8_ECLOSED when none. */
  int (*buffer)(dv8_net_link *link, char **data, size_t *len);
  /* n decoded bytes are in the buffer (n > 0), or the end (UV_EOF), or an
   * error. To the layer above, now; or to JS's read callback, now, or
   * (bytes that did not fill the buffer) posted to reach JS with the
   * other reads of this poll: the buffer is JS's until then (reading()
   * says 0, and net reads nothing from below meanwhile). */
  void (*deliver)(dv8_net_link *link, ssize_t n);
  /* Whether what is above takes input: JS reads (readStart done, not
   * paused) and its buffer is free, or the layer above is not stalled. */
  int (*reading)(dv8_net_link *link);
  /* Calls JS's layer callback (net/raw onLayer) with (what, value). */
  void (*event)(dv8_net_link *link, int what, double value);
  /* The layer on h if its ops are these, else NULL. */
  void *(*layer)(dv8_handle_t *h, const dv8_net_layer_ops *ops);
  /* Sets (or replaces: the old one is released) what a listening stream
   * does with each connection it accepts, as its transport's or its
   * protocol's (which); ops NULL: nothing. */
  int (*set_acceptor)(dv8_handle_t *server, int which,
                      const dv8_net_acceptor_ops *ops, void *data);
  /* Argument i of a native call as a listening net stream. */
  int (*arg_server)(dv8_env_t *env, dv8_call_t *call, int i,
                    dv8_handle_t **out);
  /* The stream a link is on. */
  dv8_handle_t *(*handle)(dv8_net_link *link);
  /* The layer takes no more input for now (on: net stops reading from
   * below, the layer below stops delivering), or again (off: reading goes
   * on where it was, and the layer below's resume delivers what it
   * holds). For a layer that must not buffer without bound (HTTP while
   * its answers lag behind). */
  void (*stall)(dv8_net_link *link, int on);
  /* The top layer's place on h, or NULL if h has no layer. */
  dv8_net_link *(*top)(dv8_handle_t *h);
  /* The layer at link (the top one) gives its place to layer: its close
   * runs, and the stream goes on with the new one at the same link (what
   * the old one stalled reads again). A protocol that hands its stream to
   * another: HTTP's upgrade to WebSocket. UV_EINVAL if link is not the
   * top. */
  int (*replace)(dv8_net_link *link, const dv8_net_layer_ops *ops, void *layer);
} dv8_net_layer_api;

#ifdef __cplusplus
}
#endif

#endif
