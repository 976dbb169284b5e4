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

/* What a lower layer decodes for the one above goes through one buffer
 * per thread; while an upper layer's on_read runs (it may call JS, and
 * JS may resume another stream, whose lower layer then decodes at once)
 * a nested one gets its own. */
typedef struct mid_buffer {
  char buf[NET_LAYER_BUF];
  int depth; /* upper layers' on_read on the stack */
} mid_buffer;

static const char mid_buffer_key = 0;

static mid_buffer *mid_of(stream *s) {
  return dv8->runtime_data(dv8->handle_env(&s->base), &mid_buffer_key,
                           sizeof(mid_buffer), NULL);
}

static void mid_release(stream *s, mid_buffer *m) {
  if (s->mid != NULL && (m == NULL || s->mid != m->buf))
    free(s->mid);
  s->mid = NULL;
}

int net__layer_put(stream *s, const dv8_net_layer_ops *ops, void *layer,
                   struct dv8_net_link **link) {
  if (s->layers == 2)
    return UV_EBUSY;
  if (s->lbuf == NULL &&
      (s->lbuf = net__layer_buffer(dv8->handle_env(&s->base))) == NULL)
    return UV_ENOMEM;
  if (s->layers == 1 && mid_of(s) == NULL)
    return UV_ENOMEM;
  struct dv8_net_link *l = &s->link[s->layers];
  l->s = s;
  l->ops = ops;
  l->data = layer;
  l->level = s->layers++;
  if (link != NULL)
    *link = l;
  return 0;
}

int net__layers_ready(stream *s) {
  for (int i = 0; i < s->layers; i++)
    if (s->link[i].ops->ready != NULL &&
        !s->link[i].ops->ready(s->link[i].data))
      return 0;
  return 1;
}

void net__layers_close(stream *s) {
  while (s->layers > 0) {
    struct dv8_net_link *l = &s->link[--s->layers];
    const dv8_net_layer_ops *ops = l->ops;
    void *data = l->data;
    l->ops = NULL;
    l->data = NULL;
    ops->close(data);
  }
  s->stalled = 0;
  mid_release(s, mid_of(s));
}

static int layer_attach(dv8_handle_t *h, const dv8_net_layer_ops *ops,
                        void *layer, dv8_net_link **link) {
  stream *s = (stream *)h;
  if (s->kind == KIND_FILE || (s->flags & (LISTENING | ENDED | SHUTTING)))
    return UV_EINVAL;
  int err = net__layer_put(s, ops, layer, link);
  if (err == 0 && !(s->flags & CONNECTING))
    ops->start(layer);
  return err;
}

static int layer_send(dv8_net_link *link, const char *data, size_t len) {
  stream *s = link->s;
  if (link->level > 0) {
    struct dv8_net_link *below = &s->link[link->level - 1];
    return below->ops->write(below->data, data, len);
  }
  /* Unbounded: JS's write was checked against the limit as it came, and
   * what a layer encoded of it must go whole (a record refused halfway
   * would break the stream), as must what it sends by itself. */
  return net__write_below(s, data, len, 0);
}

static int layer_buffer(dv8_net_link *link, char **data, size_t *len) {
  stream *s = link->s;
  if (link->level < s->layers - 1) {
    mid_buffer *m = mid_of(s);
    if (m == NULL)
      return UV_ENOMEM;
    if (s->mid == NULL || (s->mid == m->buf && m->depth > 0)) {
      s->mid = m->depth > 0 ? malloc(NET_LAYER_BUF) : m->buf;
      if (s->mid == NULL)
        return UV_ENOMEM;
    }
    *data = s->mid;
    *len = NET_LAYER_BUF;
    return 0;
  }
  if (s->rbuf == NULL)
    return DV8_ECLOSED;
  *data = s->rbuf;
  *len = s->rlen;
  return 0;
}

/* To JS: decoded bytes, the end or a failure. */
static void deliver_js(stream *s, ssize_t n) {
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
   * reads nothing from below while a read is posted. A layer whose JS
   * shares one buffer among streams has them go now. */
  struct dv8_net_link *top = net__top(s);
  net__deliver(s, n, top == NULL || !(top->ops->flags & DV8_NET_DELIVER_NOW));
}

static void layer_deliver(dv8_net_link *link, ssize_t n) {
  stream *s = link->s;
  if (link->level == s->layers - 1) {
    deliver_js(s, n);
    return;
  }
  struct dv8_net_link *up = &s->link[link->level + 1];
  mid_buffer *m = mid_of(s); /* there: buffer() made it */
  m->depth++;
  up->ops->on_read(up->data, n > 0 ? s->mid : NULL, n);
  m->depth--;
  if (s->mid != NULL && s->mid != m->buf) /* a nested one's own */
    mid_release(s, m);
}

static int layer_reading(dv8_net_link *link) {
  stream *s = link->s;
  if (link->level < s->layers - 1)
    return !(s->stalled & (2u << link->level));
  return (s->flags & READING) != 0 && !dv8->slot_posted(&s->base);
}

static void layer_event(dv8_net_link *link, int what, double value) {
  stream *s = link->s;
  if (what == DV8_NET_LAYER_READY && (s->flags & ADRIFT)) {
    if (net__layers_ready(s))
      net__adrift_ready(s);
    return;
  }
  double argv[2] = {what, value};
  dv8->slot_emit(&s->base, SLOT_ON_LAYER, 2, argv);
}

static void *layer_of(dv8_handle_t *h, const dv8_net_layer_ops *ops) {
  stream *s = (stream *)h;
  for (int i = 0; i < s->layers; i++)
    if (s->link[i].ops == ops)
      return s->link[i].data;
  return NULL;
}

static int layer_set_acceptor(dv8_handle_t *h, int which,
                              const dv8_net_acceptor_ops *ops, void *data) {
  stream *s = (stream *)h;
  if (!(s->flags & LISTENING) ||
      (which != DV8_NET_TRANSPORT && which != DV8_NET_PROTOCOL))
    return UV_EINVAL;
  const dv8_net_acceptor_ops *old = s->acceptor[which];
  void *old_data = s->acceptor_data[which];
  s->acceptor[which] = ops;
  s->acceptor_data[which] = data;
  if (old != NULL)
    old->release(old_data);
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

static dv8_handle_t *layer_handle(dv8_net_link *link) { return &link->s->base; }

static void layer_stall(dv8_net_link *link, int on) {
  stream *s = link->s;
  unsigned bit = 1u << link->level;
  if (on) {
    s->stalled |= bit;
    net__stop_socket(s);
    return;
  }
  if (!(s->stalled & bit))
    return;
  s->stalled &= ~bit;
  if (s->stalled != 0)
    return;
  if (link->level > 0) /* what the one below holds comes first */
    s->link[link->level - 1].ops->resume(s->link[link->level - 1].data);
  /* Reading (the flag) stayed as JS left it. */
  if ((s->flags & READING) && !uv_is_closing(&s->uv.handle))
    net__start_socket(s);
}

static dv8_net_link *layer_top(dv8_handle_t *h) {
  return net__top((stream *)h);
}

static int layer_replace(dv8_net_link *link, const dv8_net_layer_ops *ops,
                         void *layer) {
  stream *s = link->s;
  if (link->level != s->layers - 1 || link->ops == NULL)
    return UV_EINVAL;
  const dv8_net_layer_ops *old = link->ops;
  void *old_data = link->data;
  link->ops = ops;
  link->data = layer;
  old->close(old_data);
  ops->start(layer);
  layer_stall(link, 0);
  return 0;
}

void net__release_acceptor(stream *s) {
  for (int i = 1; i >= 0; i--) {
    const dv8_net_acceptor_ops *ops = s->acceptor[i];
    if (ops == NULL)
      continue;
    s->acceptor[i] = NULL;
    ops->release(s->acceptor_data[i]);
    s->acceptor_data[i] = NULL;
  }
}

int net__accepted(stream *server, stream *conn) {
  if (server->acceptor[0] == NULL && server->acceptor[1] == NULL)
    /* never plain where a layer was */
    return (server->flags & NEEDS_LAYER) ? UV_EPROTO : 0;
  conn->server_id = dv8->handle_id(&server->base);
  for (int i = 0; i < 2; i++) {
    if (server->acceptor[i] == NULL)
      continue;
    int err =
        server->acceptor[i]->accepted(server->acceptor_data[i], &conn->base);
    if (err)
      return err;
  }
  return 0;
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
  return dv8->number(env, !net__layers_ready(s));
}

/* layerReason(id): why its layer failed the stream, or undefined. */
dv8_value_t net__js_layer_reason(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  if (net__arg_stream(env, call, 0, &s) != 0)
    return NULL;
  for (int i = 0; i < s->layers; i++) { /* the lowest failure is the cause */
    const dv8_net_layer_ops *ops = s->link[i].ops;
    const char *why = ops->reason != NULL ? ops->reason(s->link[i].data) : NULL;
    if (why != NULL)
      return dv8->string(env, why, SIZE_MAX);
  }
  return NULL;
}

static const dv8_net_layer_api layer_api = {
    layer_arg_stream,   layer_attach,     layer_send,   layer_buffer,
    layer_deliver,      layer_reading,    layer_event,  layer_of,
    layer_set_acceptor, layer_arg_server, layer_handle, layer_stall,
    layer_top,          layer_replace,
};

void net__layer_offer(void) {
  dv8->service_set(DV8_NET_LAYER_SERVICE, DV8_NET_LAYER_VERSION, &layer_api);
}
