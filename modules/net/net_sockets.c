/*
 * net, second half: TCP and unix-socket servers and clients, socket
 * options, local and peer addresses. Streams made here are the same stream
 * handles as net.c's; see net.c for lifetimes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dv8_net.h"
#include "net.h"

/* A registered TCP or unix-socket stream, not yet bound or connected. */
static int new_socket(dv8_env_t *env, int kind, stream **out) {
  stream *s = net__new_stream(kind);
  if (s == NULL)
    return UV_ENOMEM;
  uv_loop_t *loop = dv8->loop(env);
  int err = kind == KIND_TCP ? uv_tcp_init(loop, &s->uv.tcp)
                             : uv_pipe_init(loop, &s->uv.pipe, 0);
  if (err) {
    free(s);
    return err;
  }
  if ((err = net__add_stream(env, s)))
    return err;
  *out = s;
  return 0;
}

/* "localhost" and numeric IPv4/IPv6 addresses; other names go through the
 * system resolver (synchronously: see README). */
static int parse_address(uv_loop_t *loop, const char *host, int port,
                         struct sockaddr_storage *addr) {
  if (strcmp(host, "localhost") == 0)
    host = "127.0.0.1";
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)addr) == 0)
    return 0;
  if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)addr) == 0)
    return 0;
  /* Without a callback uv_getaddrinfo runs at once and leaves nothing on
   * the loop. */
  uv_getaddrinfo_t req;
  struct addrinfo hints;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int err = uv_getaddrinfo(loop, &req, NULL, host, NULL, &hints);
  if (err == 0) {
    memcpy(addr, req.addrinfo->ai_addr, req.addrinfo->ai_addrlen);
    ((struct sockaddr_in *)addr)->sin_port = htons((uint16_t)port);
    uv_freeaddrinfo(req.addrinfo);
  }
  return err;
}

/* Arguments (host, port) at i, i + 1. */
static int arg_host_port(dv8_env_t *env, dv8_call_t *call, int i,
                         struct sockaddr_storage *addr) {
  char *host;
  int64_t port;
  if (dv8->arg_string(env, call, i, &host, NULL))
    return DV8_ETYPE;
  if (dv8->arg_integer(env, call, i + 1, 0, 65535, &port)) {
    free(host);
    return DV8_ETYPE;
  }
  int err = parse_address(dv8->loop(env), host, (int)port, addr);
  free(host);
  return err;
}

/* ---- servers ---- */

/*
 * At the process's descriptor limit (EMFILE, or the system's: ENFILE),
 * libuv 1.44 sheds load on its own: it closes a spare descriptor it keeps,
 * accepts every waiting connection and closes it at once, and calls the
 * server back with nothing, so JS never heard, and clients were cut off
 * while the server had room for them a moment later. When its spare is
 * gone (another thread took the descriptor it freed, or there was none to
 * keep), it calls back with EMFILE, then tries again at once, in a loop
 * that only ends when an accept succeeds: the process spun.
 *
 * So a server backs off before libuv gets there. Before a connection is
 * taken, a probe (a dup of the server's descriptor, closed at once) says
 * whether one more descriptor is free. If not, the connection is left
 * with libuv (which then stops watching the socket: later ones wait in the
 * kernel's accept queue, as for a paused server), onConnection gets the
 * code once, and a timer looks again every RETRY_MS until a descriptor is
 * free; then the waiting connection is delivered and accepting resumes.
 * Each server also keeps a spare descriptor of its own: should libuv's
 * loop call back with EMFILE anyway, giving it up lets the next accept
 * succeed, which ends that loop in the back-off above; the spare is taken
 * again before the back-off ends. The probe costs a dup and a close per
 * connection.
 */
#define RETRY_MS 100

typedef struct accept_guard {
  uv_timer_t timer; /* the next look while backing off */
  stream *server;
  int spare;       /* a descriptor to give up, or -1 */
  int backing_off; /* a connection waits for a descriptor */
} accept_guard;

static int open_spare(void) { return open("/", O_RDONLY | O_CLOEXEC); }

/* 0 if one more descriptor can be had now, else UV_EMFILE or UV_ENFILE. */
static int descriptor_limit(stream *server) {
  uv_os_fd_t fd;
  if (uv_fileno(&server->uv.handle, &fd) != 0)
    return 0;
  int probe = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (probe >= 0) {
    close(probe);
    return 0;
  }
  return errno == EMFILE || errno == ENFILE ? -errno : 0;
}

static int start_accept_guard(stream *s) {
  accept_guard *g = calloc(1, sizeof(*g));
  if (g == NULL)
    return UV_ENOMEM;
  g->server = s;
  g->spare = open_spare();
  uv_timer_init(dv8->loop(dv8->handle_env(&s->base)), &g->timer);
  g->timer.data = g;
  /* The server keeps the program alive, or not: never its timer. */
  uv_unref((uv_handle_t *)&g->timer);
  s->accept_guard = g;
  return 0;
}

static void on_guard_closed(uv_handle_t *h) {
  accept_guard *g = h->data;
  if (g->spare >= 0)
    close(g->spare);
  free(g);
}

void net__stop_accept_guard(stream *s) {
  if (s->accept_guard == NULL)
    return;
  uv_close((uv_handle_t *)&s->accept_guard->timer, on_guard_closed);
  s->accept_guard = NULL;
}

static void on_accept_retry(uv_timer_t *t) {
  accept_guard *g = t->data;
  stream *server = g->server;
  if (g->spare < 0)
    g->spare = open_spare();
  if (g->spare < 0 || descriptor_limit(server) != 0) {
    uv_timer_start(&g->timer, on_accept_retry, RETRY_MS, 0);
    return;
  }
  g->backing_off = 0;
  /* Paused meanwhile: resume delivers it. */
  if ((server->flags & READING) &&
      dv8->slot_bound(&server->base, SLOT_ON_CONNECTION))
    net__accept_pending(server);
}

/* The connection libuv holds waits (libuv stops watching the socket);
 * onConnection hears why, once; the timer looks again later. */
static void back_off(stream *server, int err) {
  accept_guard *g = server->accept_guard;
  server->flags |= ACCEPT_PENDING;
  g->backing_off = 1;
  uv_timer_start(&g->timer, on_accept_retry, RETRY_MS, 0);
  dv8->counters(&server->base)[DV8_COUNTER_ERRORS]++;
  net__emit(server, SLOT_ON_CONNECTION, 1, err);
}

static void refuse_one(stream *server);

/* A new connection's stream, accepted from server: its id, or a code. */
static double accept_one(stream *server) {
  stream *c;
  int err = new_socket(dv8->handle_env(&server->base), server->kind, &c);
  if (err) {
    refuse_one(server);
    return err;
  }
  err = uv_accept(&server->uv.stream, &c->uv.stream);
  if (err == 0)
    err = net__accepted(server, c);
  if (err) {
    dv8->handle_close(&c->base);
    return err;
  }
  return (double)dv8->handle_id(&c->base);
}

/* The metrics' count of accepted connections, this thread's cell. */
static const int accepted_key;
static void count_accepted(stream *server) {
  dv8_env_t *env = dv8->handle_env(&server->base);
  uint64_t **cell = dv8->runtime_data(env, &accepted_key, sizeof(*cell), NULL);
  if (cell == NULL)
    return;
  if (*cell == NULL)
    *cell = dv8->metric_counter(env, "dv8_net_connections_accepted_total",
                                "Connections servers accepted (net).");
  if (*cell != NULL)
    (**cell)++;
}

static void on_connection(uv_stream_t *uv, int status) {
  stream *server = (stream *)uv->data;
  accept_guard *g = server->accept_guard;
  if ((status == UV_EMFILE || status == UV_ENFILE) && g != NULL) {
    /* libuv's loop, without a spare of its own (above): it calls again at
     * once. Ours goes, so that its next accept succeeds and backs off. */
    dv8->counters(&server->base)[DV8_COUNTER_ERRORS]++;
    if (g->spare >= 0) {
      close(g->spare);
      g->spare = -1;
    }
    return;
  }
  if (status < 0) {
    dv8->counters(&server->base)[DV8_COUNTER_ERRORS]++;
    net__emit(server, SLOT_ON_CONNECTION, 1, status);
    return;
  }
  /* Paused (or not yet taken over by code): leave the connection
   * unaccepted. libuv then stops watching the socket, so later ones wait
   * in the kernel's accept queue. */
  if (!(server->flags & READING) ||
      !dv8->slot_bound(&server->base, SLOT_ON_CONNECTION)) {
    server->flags |= ACCEPT_PENDING;
    return;
  }
  int limit = g != NULL ? descriptor_limit(server) : 0;
  if (limit != 0) {
    back_off(server, limit);
    return;
  }
  dv8->counters(&server->base)[DV8_COUNTER_EVENTS]++;
  count_accepted(server);
  net__emit(server, SLOT_ON_CONNECTION, 1, accept_one(server));
}

void net__accept_pending(stream *server) {
  if (!(server->flags & ACCEPT_PENDING))
    return;
  if (server->accept_guard != NULL && server->accept_guard->backing_off)
    return; /* the timer delivers it once a descriptor is free */
  server->flags &= ~ACCEPT_PENDING;
  /* Delivered now, inside resume(): accepting restarts libuv's watch. */
  dv8->counters(&server->base)[DV8_COUNTER_EVENTS]++;
  count_accepted(server);
  net__emit(server, SLOT_ON_CONNECTION, 1, accept_one(server));
}

/* A connection libuv accepted for server but no stream could be made for
 * (memory, the table): taken and closed, so that libuv goes on watching
 * the server (it stops while it holds one nobody took). */
static void refuse_one(stream *server) {
  uv_loop_t *loop = dv8->loop(dv8->handle_env(&server->base));
  uv_stream_t *tmp =
      malloc(server->kind == KIND_TCP ? sizeof(uv_tcp_t) : sizeof(uv_pipe_t));
  if (tmp == NULL)
    return;
  int err = server->kind == KIND_TCP ? uv_tcp_init(loop, (uv_tcp_t *)tmp)
                                     : uv_pipe_init(loop, (uv_pipe_t *)tmp, 0);
  if (err) {
    free(tmp);
    return;
  }
  uv_accept(&server->uv.stream, tmp);
  uv_close((uv_handle_t *)tmp, (uv_close_cb)free);
}

/* The take_pending op: the connection libuv accepted for a paused server
 * and holds until asked, as a descriptor for another process (an
 * upgrade); asking for it through libuv's own uv_accept keeps its
 * internals out of reach. */
int net__take_pending(dv8_handle_t *h, int *fd) {
  stream *server = (stream *)h;
  if (!(server->flags & LISTENING) || !(server->flags & ACCEPT_PENDING))
    return UV_ENOENT;
  stream *c = net__new_stream(server->kind);
  if (c == NULL)
    return UV_ENOMEM;
  uv_loop_t *loop = dv8->loop(dv8->handle_env(h));
  int err = server->kind == KIND_TCP ? uv_tcp_init(loop, &c->uv.tcp)
                                     : uv_pipe_init(loop, &c->uv.pipe, 0);
  if (err) {
    free(c);
    return err;
  }
  c->uv.handle.data = c;
  err = uv_accept(&server->uv.stream, &c->uv.stream);
  server->flags &= ~ACCEPT_PENDING;
  uv_os_fd_t os_fd;
  if (err == 0 && (err = uv_fileno(&c->uv.handle, &os_fd)) == 0) {
    *fd = dup(os_fd);
    if (*fd < 0)
      err = UV_EMFILE;
  }
  uv_close(&c->uv.handle, net__on_unregistered_close);
  return err;
}

/* The give_pending op: a connection another process accepted goes to the
 * server's onConnection now, as if accepted here. */
int net__give_pending(dv8_handle_t *h, int fd) {
  stream *server = (stream *)h;
  if (!(server->flags & LISTENING))
    return UV_EINVAL;
  stream *c;
  int err = new_socket(dv8->handle_env(h), server->kind, &c);
  if (err)
    return err;
  err = server->kind == KIND_TCP ? uv_tcp_open(&c->uv.tcp, (uv_os_sock_t)fd)
                                 : uv_pipe_open(&c->uv.pipe, (uv_file)fd);
  if (err == 0)
    err = net__accepted(server, c);
  if (err) {
    dv8->handle_close(&c->base);
    return err;
  }
  dv8->counters(h)[DV8_COUNTER_EVENTS]++;
  net__emit(server, SLOT_ON_CONNECTION, 1, (double)dv8->handle_id(&c->base));
  return 0;
}

/* The end of listen, listenUnix and listenFd: s (bound, or opened, when
 * err is 0) listens; its id, or the code (s closed). listen() again on a
 * listening socket (listenFd) only sets its backlog; the connections in
 * its queue stay there. */
static dv8_value_t start_listening(dv8_env_t *env, stream *s, int err,
                                   int64_t backlog, dv8_value_t cb) {
  s->flags |= LISTENING | READING;
  if (err == 0)
    err = net__bind(env, s, SLOT_ON_CONNECTION, cb);
  if (err == 0 && s->accept_guard == NULL)
    err = start_accept_guard(s);
  if (err == 0)
    err = uv_listen(&s->uv.stream, backlog > 0 ? (int)backlog : 511,
                    on_connection);
  if (err) {
    dv8->handle_close(&s->base);
    return net__reply(env, err);
  }
  return net__id(env, s);
}

int net__listen_imported(stream *s) {
  s->flags |= LISTENING; /* READING once the code binds onConnection */
  int err = s->accept_guard == NULL ? start_accept_guard(s) : 0;
  return err ? err : uv_listen(&s->uv.stream, 511, on_connection);
}

/* Arguments (backlog, onConnection) at i, i + 1. */
static int arg_backlog_callback(dv8_env_t *env, dv8_call_t *call, int i,
                                int64_t *backlog, dv8_value_t *cb) {
  if (dv8->arg_integer(env, call, i, 0, INT32_MAX, backlog) ||
      dv8->arg_function(env, call, i + 1, cb))
    return DV8_ETYPE;
  return 0;
}

static dv8_value_t listen_on(dv8_env_t *env, dv8_call_t *call, int kind,
                             const struct sockaddr *addr, const char *path,
                             int arg) {
  int64_t backlog;
  dv8_value_t cb;
  if (arg_backlog_callback(env, call, arg, &backlog, &cb))
    return NULL;
  stream *s;
  int err = new_socket(env, kind, &s);
  if (err)
    return net__reply(env, err);
  err = kind == KIND_TCP ? uv_tcp_bind(&s->uv.tcp, addr, 0)
                         : uv_pipe_bind(&s->uv.pipe, path);
  return start_listening(env, s, err, backlog, cb);
}

/* listenFd(fd, backlog, onConnection) -> server id | code: a listening
 * socket made elsewhere (systemd's socket activation, dv8.listenFds; or a
 * process handing its server to the next), TCP or unix; the server owns fd
 * from here (closing it closes fd). EINVAL for a descriptor that is not a
 * socket. */
dv8_value_t net__js_listen_fd(dv8_env_t *env, dv8_call_t *call) {
  int64_t fd, backlog;
  dv8_value_t cb;
  if (dv8->arg_integer(env, call, 0, 0, INT32_MAX, &fd) ||
      arg_backlog_callback(env, call, 1, &backlog, &cb))
    return NULL;
  uv_handle_type t = uv_guess_handle((int)fd);
  int kind = t == UV_TCP ? KIND_TCP : t == UV_NAMED_PIPE ? KIND_PIPE : -1;
  if (kind < 0)
    return net__reply(env, UV_EINVAL);
  stream *s;
  int err = new_socket(env, kind, &s);
  if (err)
    return net__reply(env, err);
  err = kind == KIND_TCP ? uv_tcp_open(&s->uv.tcp, (uv_os_sock_t)fd)
                         : uv_pipe_open(&s->uv.pipe, (uv_file)fd);
  return start_listening(env, s, err, backlog, cb);
}

/* ---- clients ---- */

/* A connect timeout is its own little handle, not part of the stream, so
 * that either can go first: the timer finds its stream by id, and a stream
 * whose connect ends (or that closes) stops its timer. */
typedef struct connect_timer {
  uv_timer_t uv;
  stream *s;
} connect_timer;

static void on_timer_closed(uv_handle_t *h) { free(h->data); }

/* Also from the stream's close op, so the timer never outlives it. */
void net__stop_connect_timer(stream *s) {
  if (s->connect_timer == NULL)
    return;
  uv_close((uv_handle_t *)&s->connect_timer->uv, on_timer_closed);
  s->connect_timer = NULL;
}

static void on_connect_timeout(uv_timer_t *uv) {
  stream *s = ((connect_timer *)uv->data)->s;
  net__stop_connect_timer(s);
  /* Report the timeout (to whichever code drives the stream now: a reload
   * may have replaced the one that connected), then close: the cancelled
   * connect stays silent. */
  dv8->counters(&s->base)[DV8_COUNTER_ERRORS]++;
  net__emit_once(s, SLOT_ON_CONNECT, UV_ETIMEDOUT);
  dv8->handle_close(&s->base);
}

static int start_connect_timer(dv8_env_t *env, stream *s, double ms) {
  connect_timer *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return UV_ENOMEM;
  t->s = s;
  t->uv.data = t;
  uv_timer_init(dv8->loop(env), &t->uv);
  uv_update_time(dv8->loop(env));
  uv_timer_start(&t->uv, on_connect_timeout, (uint64_t)ms, 0);
  s->connect_timer = t;
  return 0;
}

static void on_connect(uv_connect_t *req, int status) {
  stream *s = req->data;
  s->flags &= ~CONNECTING;
  net__stop_connect_timer(s);
  if (status < 0)
    dv8->counters(&s->base)[DV8_COUNTER_ERRORS]++;
  else /* a client layer speaks first (TLS: hello) */
    for (int i = 0; i < s->layers; i++)
      s->link[i].ops->start(s->link[i].data);
  net__emit_once(s, SLOT_ON_CONNECT, status);
}

static dv8_value_t connect_to(dv8_env_t *env, dv8_call_t *call, int kind,
                              const struct sockaddr *addr, const char *path,
                              int arg) {
  dv8_value_t cb;
  double timeout = 0;
  if (dv8->arg_function(env, call, arg, &cb))
    return NULL;
  /* An optional timeout in ms follows the callback. */
  if (dv8->type_of(env, dv8->arg(call, arg + 1)) != DV8_TYPE_UNDEFINED) {
    if (dv8->arg_number(env, call, arg + 1, &timeout))
      return NULL;
    if (!(timeout >= 0 && timeout <= 2147483647))
      return dv8->throw_range_error(
          env, "connect: timeoutMs must be from 0 to 2147483647 (got %g)",
          timeout);
  }
  stream *s;
  int err = new_socket(env, kind, &s);
  if (err)
    return net__reply(env, err);
  s->connect_req.data = s;
  if (kind == KIND_TCP) {
    err = uv_tcp_connect(&s->connect_req, &s->uv.tcp, addr, on_connect);
  } else {
    uv_pipe_connect(&s->connect_req, &s->uv.pipe, path, on_connect);
  }
  if (err) {
    dv8->handle_close(&s->base);
    return net__reply(env, err);
  }
  s->flags |= CONNECTING;
  if ((err = net__bind(env, s, SLOT_ON_CONNECT, cb)) != 0 ||
      (timeout >= 1 && (err = start_connect_timer(env, s, timeout)) != 0)) {
    dv8->handle_close(&s->base);
    return net__reply(env, err);
  }
  return net__id(env, s);
}

/* onConnect(id, cb(status)) -> 0 | code: the callback for a connect in
 * flight, replaced; how code a reload loads hears how a connect the old
 * code started ends. EINVAL when no connect is in flight. */
dv8_value_t net__js_on_connect(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  dv8_value_t cb;
  int err = net__arg_rebind(env, call, CONNECTING, &s, &cb);
  return net__reply(env, err ? err : net__bind(env, s, SLOT_ON_CONNECT, cb));
}

/* listen and connect take (host, port, ...) for TCP and (path, ...) for unix
 * sockets, then the same arguments: these read the address and pass on. */
typedef dv8_value_t (*socket_op)(dv8_env_t *env, dv8_call_t *call, int kind,
                                 const struct sockaddr *addr, const char *path,
                                 int arg);

static dv8_value_t with_host_port(dv8_env_t *env, dv8_call_t *call,
                                  socket_op op) {
  struct sockaddr_storage addr;
  int err = arg_host_port(env, call, 0, &addr);
  if (err)
    return net__reply(env, err);
  return op(env, call, KIND_TCP, (struct sockaddr *)&addr, NULL, 2);
}

static dv8_value_t with_path(dv8_env_t *env, dv8_call_t *call, socket_op op) {
  char *path;
  if (dv8->arg_string(env, call, 0, &path, NULL))
    return NULL;
  dv8_value_t r = op(env, call, KIND_PIPE, NULL, path, 1);
  free(path);
  return r;
}

/* listen(host, port, backlog, onConnection(idOrError)) -> server id | code */
dv8_value_t net__js_listen(dv8_env_t *env, dv8_call_t *call) {
  return with_host_port(env, call, listen_on);
}

/* listenUnix(path, backlog, onConnection) -> server id | code */
dv8_value_t net__js_listen_unix(dv8_env_t *env, dv8_call_t *call) {
  return with_path(env, call, listen_on);
}

/* connect(host, port, onConnect(status), timeoutMs?) -> id | code;
 * past the timeout onConnect gets ETIMEDOUT and the stream closes. */
dv8_value_t net__js_connect(dv8_env_t *env, dv8_call_t *call) {
  return with_host_port(env, call, connect_to);
}

/* connectUnix(path, onConnect(status)) -> id | code */
dv8_value_t net__js_connect_unix(dv8_env_t *env, dv8_call_t *call) {
  return with_path(env, call, connect_to);
}

/* ---- options and addresses ---- */

/* Argument 0 as a live TCP stream; UV_ENOTSUP for other kinds. */
static int arg_tcp(dv8_env_t *env, dv8_call_t *call, stream **s) {
  int err = net__arg_stream(env, call, 0, s);
  if (err == 0 && (*s)->kind != KIND_TCP)
    err = UV_ENOTSUP;
  return err;
}

/* setNoDelay(id, on) -> 0 | code (TCP only: Nagle's algorithm off). */
dv8_value_t net__js_set_no_delay(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  int err = arg_tcp(env, call, &s);
  if (err)
    return net__reply(env, err);
  return net__reply(
      env, uv_tcp_nodelay(&s->uv.tcp, dv8->to_bool(env, dv8->arg(call, 1))));
}

/* setKeepAlive(id, on, delaySeconds = 60) -> 0 | code (TCP only). */
dv8_value_t net__js_set_keep_alive(dv8_env_t *env, dv8_call_t *call) {
  stream *s;
  int err = arg_tcp(env, call, &s);
  if (err)
    return net__reply(env, err);
  int64_t delay = 60;
  if (dv8->type_of(env, dv8->arg(call, 2)) != DV8_TYPE_UNDEFINED &&
      dv8->arg_integer(env, call, 2, 0, 32767, &delay))
    return NULL;
  return net__reply(env, uv_tcp_keepalive(&s->uv.tcp,
                                          dv8->to_bool(env, dv8->arg(call, 1)),
                                          delay < 1 ? 1 : (unsigned int)delay));
}

static dv8_value_t address_object(dv8_env_t *env,
                                  const struct sockaddr_storage *ss) {
  char ip[64];
  int port;
  const char *family;
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    uv_ip6_name(a, ip, sizeof(ip));
    port = ntohs(a->sin6_port);
    family = "IPv6";
  } else {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    uv_ip4_name(a, ip, sizeof(ip));
    port = ntohs(a->sin_port);
    family = "IPv4";
  }
  dv8_value_t obj = dv8->object(env);
  dv8->set_string(env, obj, "family", family);
  dv8->set_string(env, obj, "address", ip);
  dv8->set_number(env, obj, "port", port);
  return obj;
}

/* The local (peer = 0) or remote (peer = 1) address of a stream. */
static dv8_value_t stream_address(dv8_env_t *env, dv8_call_t *call, int peer) {
  stream *s;
  int err = net__arg_stream(env, call, 0, &s);
  if (err)
    return net__reply(env, err);
  if (s->kind == KIND_TCP) {
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    err = peer ? uv_tcp_getpeername(&s->uv.tcp, (struct sockaddr *)&ss, &len)
               : uv_tcp_getsockname(&s->uv.tcp, (struct sockaddr *)&ss, &len);
    return err ? net__reply(env, err) : address_object(env, &ss);
  }
  if (s->kind == KIND_PIPE) {
    char path[4096];
    size_t len = sizeof(path);
    err = peer ? uv_pipe_getpeername(&s->uv.pipe, path, &len)
               : uv_pipe_getsockname(&s->uv.pipe, path, &len);
    if (err)
      return net__reply(env, err);
    dv8_value_t obj = dv8->object(env);
    dv8->set(env, obj, "path", dv8->string(env, path, len));
    return obj;
  }
  return net__reply(env, UV_ENOTSUP);
}

/* address(id) -> { family, address, port } | { path } | code */
dv8_value_t net__js_address(dv8_env_t *env, dv8_call_t *call) {
  return stream_address(env, call, 0);
}

/* peer(id) -> the remote address, same shapes. */
dv8_value_t net__js_peer(dv8_env_t *env, dv8_call_t *call) {
  return stream_address(env, call, 1);
}
