/*
 * --metrics HOST:PORT: GET /metrics answers with the process's metrics in
 * the Prometheus text format (metrics.c); anything else gets a 404 or a
 * 405. One request per connection (Connection: close): a scraper asks
 * every few seconds, and keeping connections would only hold memory.
 *
 * Nothing a peer does holds the program or grows without bound: at most
 * CLIENTS_MAX connections at once (more are closed at once), REQUEST_MAX
 * bytes of request (else 431), REQUEST_MS to send it and as long to take
 * the answer. The listener does not keep the program alive.
 *
 * An upgrade's new process starts while the old one still holds the port:
 * it tries again every RETRY_MS (the old process lets go as it ends) and
 * says so once. Main thread only.
 */
#include <string.h>

#include "host/host.h"

#define CLIENTS_MAX 32
#define REQUEST_MAX 8192
#define REQUEST_MS 5000
#define RETRY_MS 100

typedef struct peer {
  struct peer *prev, *next; /* the open ones, a list */
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_write_t write;
  int open; /* handles not yet closed */
  int closing;
  size_t len;
  char *answer; /* the body, if it is malloc'd (the metrics) */
  char head[256];
  char request[REQUEST_MAX + 1];
} peer;

static struct {
  dv8_runtime_t *rt;
  uv_tcp_t *server; /* malloc'd: a failed try's is still closing */
  uv_timer_t retry;
  peer *open;
  int listening, retrying, started;
  int peers;
  struct sockaddr_storage addr;
  char where[300];
} m;

static void on_peer_closed(uv_handle_t *h) {
  peer *p = h->data;
  if (--p->open == 0) {
    free(p->answer);
    free(p);
  }
}

static void peer_close(peer *p) {
  if (p->closing)
    return;
  p->closing = 1;
  if (p->prev != NULL)
    p->prev->next = p->next;
  else
    m.open = p->next;
  if (p->next != NULL)
    p->next->prev = p->prev;
  m.peers--;
  uv_close((uv_handle_t *)&p->tcp, on_peer_closed);
  uv_close((uv_handle_t *)&p->timer, on_peer_closed);
}

static void on_late(uv_timer_t *t) { peer_close(t->data); }

static void on_written(uv_write_t *w, int status) {
  (void)status;
  peer_close(w->data);
}

/* status line, and body (its length len) after the headers; head_only:
 * the headers say len, no body follows (HEAD). owned: body is malloc'd and
 * goes with p; else it lives as long as the program (a literal). */
static void answer(peer *p, const char *status, const char *type,
                   const char *body, size_t len, int head_only, int owned) {
  if (owned)
    p->answer = (char *)body;
  uv_read_stop((uv_stream_t *)&p->tcp);
  int n = snprintf(p->head, sizeof(p->head),
                   "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: "
                   "%zu\r\nConnection: close\r\n\r\n",
                   status, type, len);
  uv_buf_t bufs[2] = {uv_buf_init(p->head, (unsigned)n),
                      uv_buf_init((char *)body, head_only ? 0 : (unsigned)len)};
  p->write.data = p;
  if (uv_write(&p->write, (uv_stream_t *)&p->tcp, bufs, 2, on_written) != 0)
    return peer_close(p);
  uv_timer_start(&p->timer, on_late, REQUEST_MS, 0);
}

static void plain(peer *p, const char *status, const char *text) {
  answer(p, status, "text/plain; charset=utf-8", text, strlen(text), 0, 0);
}

/* The request line is all that matters; the headers are read and left. */
static void serve(peer *p) {
  char *sp1 = strchr(p->request, ' ');
  char *sp2 = sp1 != NULL ? strchr(sp1 + 1, ' ') : NULL;
  char *eol = strstr(p->request, "\r\n");
  if (sp1 == NULL || sp2 == NULL || eol == NULL || sp2 > eol)
    return plain(p, "400 Bad Request", "not an HTTP request\n");
  *sp1 = *sp2 = '\0';
  const char *method = p->request, *target = sp1 + 1;
  int head = strcmp(method, "HEAD") == 0;
  if (strcmp(method, "GET") != 0 && !head)
    return plain(p, "405 Method Not Allowed", "only GET /metrics\n");
  size_t path_len = strcspn(target, "?");
  if (path_len != strlen("/metrics") ||
      strncmp(target, "/metrics", path_len) != 0)
    return plain(p, "404 Not Found", "the metrics are at /metrics\n");
  size_t len;
  char *text = dv8__metrics_text(m.rt, &len);
  if (text == NULL)
    return plain(p, "503 Service Unavailable", "out of memory\n");
  answer(p, "200 OK", "text/plain; version=0.0.4; charset=utf-8", text, len,
         head, 1);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  peer *p = h->data;
  *buf = uv_buf_init(p->request + p->len, (unsigned)(REQUEST_MAX - p->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  peer *p = s->data;
  if (n < 0)
    return peer_close(p);
  p->len += (size_t)n;
  p->request[p->len] = '\0';
  if (memchr(p->request, '\0', p->len) != NULL)
    return plain(p, "400 Bad Request", "a NUL byte in the request\n");
  if (strstr(p->request, "\r\n\r\n") != NULL)
    return serve(p);
  if (p->len == REQUEST_MAX)
    plain(p, "431 Request Header Fields Too Large", "request too large\n");
}

static void on_connection(uv_stream_t *server, int status) {
  if (status < 0)
    return;
  peer *p = calloc(1, sizeof(*p));
  if (p == NULL)
    return;
  m.peers++;
  p->next = m.open;
  if (m.open != NULL)
    m.open->prev = p;
  m.open = p;
  p->open = 2;
  uv_tcp_init(server->loop, &p->tcp);
  uv_timer_init(server->loop, &p->timer);
  p->tcp.data = p->timer.data = p;
  uv_unref((uv_handle_t *)&p->tcp);
  uv_unref((uv_handle_t *)&p->timer);
  if (uv_accept(server, (uv_stream_t *)&p->tcp) != 0 || m.peers > CLIENTS_MAX)
    return peer_close(p);
  uv_timer_start(&p->timer, on_late, REQUEST_MS, 0);
  if (uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read) != 0)
    peer_close(p);
}

static void on_server_closed(uv_handle_t *h) { free(h); }

static int bind_listen(void) {
  uv_tcp_t *s = malloc(sizeof(*s));
  if (s == NULL)
    return UV_ENOMEM;
  int err = uv_tcp_init(&m.rt->loop, s);
  if (err) {
    free(s);
    return err;
  }
  uv_unref((uv_handle_t *)s);
  err = uv_tcp_bind(s, (struct sockaddr *)&m.addr, 0);
  if (err == 0)
    err = uv_listen((uv_stream_t *)s, 64, on_connection);
  if (err) {
    uv_close((uv_handle_t *)s, on_server_closed);
  } else {
    m.server = s;
    m.listening = 1;
  }
  return err;
}

static void on_retry(uv_timer_t *t) {
  if (bind_listen() == 0) {
    uv_timer_stop(t);
    fprintf(stderr, "dv8: --metrics: serving http://%s/metrics\n", m.where);
  }
}

/* HOST:PORT, [HOST]:PORT or PORT (on 127.0.0.1) into m.addr. */
static int parse(const char *spec, char *why, size_t cap) {
  char host[256] = "127.0.0.1";
  const char *port = spec;
  const char *colon = strrchr(spec, ':');
  if (colon != NULL) {
    const char *h = spec;
    size_t n = (size_t)(colon - spec);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
      h++;
      n -= 2;
    }
    if (n >= sizeof(host)) {
      snprintf(why, cap, "the host is too long");
      return UV_EINVAL;
    }
    if (n > 0) {
      memcpy(host, h, n);
      host[n] = '\0';
    }
    port = colon + 1;
  }
  char *end;
  unsigned long p = strtoul(port, &end, 10);
  if (*port == '\0' || *end != '\0' || p == 0 || p > 65535) {
    snprintf(why, cap,
             "needs HOST:PORT or PORT, with a port of 1 to 65535, "
             "not '%s'",
             spec);
    return UV_EINVAL;
  }
  if (uv_ip4_addr(host, (int)p, (struct sockaddr_in *)&m.addr) != 0 &&
      uv_ip6_addr(host, (int)p, (struct sockaddr_in6 *)&m.addr) != 0) {
    snprintf(why, cap, "'%s' is not an IPv4 or IPv6 address", host);
    return UV_EINVAL;
  }
  snprintf(m.where, sizeof(m.where), strchr(host, ':') ? "[%s]:%lu" : "%s:%lu",
           host, p);
  return 0;
}

int dv8__metrics_http_check(const char *spec, char *why, size_t cap) {
  return parse(spec, why, cap);
}

int dv8__metrics_http_start(dv8_runtime_t *rt, const char *spec, int retry,
                            char *why, size_t cap) {
  int err = parse(spec, why, cap);
  if (err)
    return err;
  m.rt = rt;
  m.started = 1;
  uv_timer_init(&rt->loop, &m.retry);
  uv_unref((uv_handle_t *)&m.retry);
  err = bind_listen();
  if (err == UV_EADDRINUSE && retry) {
    fprintf(stderr,
            "dv8: --metrics: %s is in use (the process this one upgrades "
            "may still hold it): trying again every %d ms\n",
            m.where, RETRY_MS);
    uv_timer_start(&m.retry, on_retry, RETRY_MS, RETRY_MS);
    return 0;
  }
  if (err)
    snprintf(why, cap, "cannot listen on %s: %s", m.where, dv8_strerror(err));
  return err;
}

void dv8__metrics_http_stop(void) {
  if (!m.started)
    return;
  m.started = 0;
  uv_close((uv_handle_t *)&m.retry, NULL);
  if (m.listening)
    uv_close((uv_handle_t *)m.server, on_server_closed);
  m.listening = 0;
  while (m.open != NULL)
    peer_close(m.open);
}
