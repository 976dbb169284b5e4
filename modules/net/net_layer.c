/*
 * net, stream layers: the service other modules use to put a protocol
 * between a stream and its JS (include/dv8_net.h; tls is the first). net
 * keeps the stream; the layer sees the bytes from below and decides what
 * JS gets, and JS's writes go through it. A layered stream is still a
 * stream to the handle table and to reload; it refuses to move to a thread
 * or a process unless its layer can carry its state (export).
 */
#include <stdint.h>
#include <stdlib.h>

#include <uv.h>

#include "dv8.h"
#include "dv8_net.h"
#include "net.h"

static int layer_arg_stream(dv8_env_t *env, dv8_call_t *call, int i,
                            dv8_handle_t **out) {
  stream *s;
  int err = net__arg_stream(env, call, i, &s);
  if (err == 0)
    *out = &s->base;
  return err;
}

static const char layer_buffer_key = 0;

char *net__layer_buffer(dv8_env_t *env) {
  return dv8->runtime_data(env, &layer_buffer_key, NET_LAYER_BUF, NULL);
}

static int layer_attach(dv8_handle_t *h, const dv8_net_layer_ops *ops,
                        void *layer) {
  stream *s = (stream *)h;
  if (s->layer != NULL)
    return UV_EBUSY;
  if (s->kind == KIND_FILE || (s->flags & (LISTENING | ENDED | SHUTTING)))
    return UV_EINVAL;
  if ((s->lbuf = net__layer_buffer(dv8->handle_env(h))) == NULL)
    return UV_ENOMEM;
  s->layer = ops;
  s->layer_data = layer;
  if (!(s->flags & CONNECTING))
    ops->start(layer);
  return 0;
}

static int layer_send(dv8_handle_t *h, const char *data, size_t len) {
  /* Unbounded: JS's write was checked against the limit as it came, and
   * what a layer encoded of it must go whole (a record refused halfway
   * would break the stream), as must what it sends by itself. */
  return net__write_below((stream *)h, data, len, 0);
}

static int layer_buffer(dv8_handle_t *h, char **data, size_t *len) {
  stream *s = (stream *)h;
  if (s->rbuf == NULL)
    return DV8_ECLOSED;
  *data = s->rbuf;
  *len = s->rlen;
  return 0;
}

static void layer_deliver(dv8_handle_t *h, ssize_t n) {
  stream *s = (stream *)h;
  if ((s->flags & ADRIFT) && !(s->flags & FROZEN)) {
    if (n <= 0) /* failed before any code knew of it */
      net__close_adrift(s);
    return;
  }
  /* No JS runs for a frozen stream (a reload, an upgrade): a failure then
   * (TLS: the handshake's deadline) waits for its resume. */
  if ((s->flags & FROZEN) && n <= 0) {
    if (!(s->flags & FAIL_DUE)) {
      s->flags |= FAIL_DUE;
      s->fail_status = (int)n;
    }
    return;
  }
  /* Decoded bytes are posted as plain reads are (the reads of one poll
   * reach JS in one call): the layer decodes no more meanwhile, since net
   * reads nothing from below while a read is posted. */
  net__deliver(s, n, 1);
}

static int layer_reading(dv8_handle_t *h) {
  return (((stream *)h)->flags & READING) != 0 && !dv8->slot_posted(h);
}

static void layer_event(dv8_handle_t *h, int what, double value) {
  if (what == DV8_NET_LAYER_READY && (((stream *)h)->flags & ADRIFT)) {
    net__adrift_ready((stream *)h);
    return;
  }
  double argv[2] = {what, value};
  dv8->slot_emit(h, SLOT_ON_LAYER, 2, argv);
}

static void *layer_of(dv8_handle_t *h, const dv8_net_layer_ops *ops) {
  stream *s = (stream *)h;
  return s->layer == ops ? s->layer_data : NULL;
}

static int layer_set_acceptor(dv8_handle_t *h, const dv8_net_acceptor_ops *ops,
                              void *data) {
  stream *s = (stream *)h;
  if (!(s->flags & LISTENING))
    return UV_EINVAL;
  net__release_acceptor(s);
  s->acceptor = ops;
  s->acceptor_data = data;
  if (ops != NULL)
    s->flags &= ~NEEDS_LAYER;
  return 0;
}

static int layer_arg_server(dv8_env_t *env, dv8_call_t *call, int i,
                            dv8_handle_t **out) {
  stream *s;
  int err = net__arg_stream(env, call, i, &s);
  if (err == 0 && !(s->flags & LISTENING))
    err = UV_EINVAL;
  if (err == 0)
    *out = &s->base;
  return err;
}

void net__release_acceptor(stream *s) {
  if (s->acceptor == NULL)
    return;
  const dv8_net_acceptor_ops *ops = s->acceptor;
  s->acceptor = NULL;
  ops->release(s->acceptor_data);
  s->acceptor_data = NULL;
}

int net__accepted(stream *server, stream *conn) {
  if (server->acceptor == NULL) /* never plain where a layer was */
    return (server->flags & NEEDS_LAYER) ? UV_EPROTO : 0;
  conn->server_id = dv8->handle_id(&server->base);
  return server->acceptor->accepted(server->acceptor_data, &conn->base);
}

/* layered(id): 1 while a layer holds JS's open back (TLS before its
 * handshake is done), 2 for a server that came from an upgrade whose
 * connections had a layer and has no acceptor yet, else 0. */
dv8_value_t net__js_layered(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  int err = net__arg_stream(env, call, 0, &s);
  if (err)
    return net__reply(env, err);
  if (s->flags & NEEDS_LAYER)
    return dv8->number(env, 2);
  return dv8->number(env, s->layer != NULL && s->layer->ready != NULL &&
                              !s->layer->ready(s->layer_data));
}

/* layerReason(id): why its layer failed the stream, or undefined. */
dv8_value_t net__js_layer_reason(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  if (net__arg_stream(env, call, 0, &s) != 0 || s->layer == NULL ||
      s->layer->reason == NULL)
    return NULL;
  const char *why = s->layer->reason(s->layer_data);
  return why != NULL ? dv8->string(env, why, SIZE_MAX) : NULL;
}

static const dv8_net_layer_api layer_api = {
    layer_arg_stream,   layer_attach,     layer_send,  layer_buffer,
    layer_deliver,      layer_reading,    layer_event, layer_of,
    layer_set_acceptor, layer_arg_server,
};

void net__layer_offer(void) {
  dv8->service_set(DV8_NET_LAYER_SERVICE, DV8_NET_LAYER_VERSION, &layer_api);
}
