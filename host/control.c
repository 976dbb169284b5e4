/*
 * The control socket: a program run from a file listens on a unix socket
 * named after its pid, and `dv8 reload PID` (or a socket path) asks it to
 * reload and prints how that went (the client is control_client.c). The
 * socket lives in a directory only its user can enter (0700, checked to be
 * a real directory of ours) and is itself 0600; a peer of another uid
 * (root excepted) is refused after a SO_PEERCRED check. Protocol: one line
 * in ("reload", "upgrade", "stats"), one line out (stats: the Prometheus
 * text format, many lines, then the connection closes).
 *
 * Nothing a peer does holds the program: at most CLIENTS_MAX connections
 * are open at once (more are answered "busy" and closed), a peer has
 * LINE_MS to send its line and as long to take the answer, and a NUL or a
 * line past the buffer is refused at once. Between the line and the answer
 * (a reload, an upgrade under way) the peer waits as long as that takes.
 *
 * Threads: main thread only. A client lives from its accept to its close
 * callback (both its handles closed); it knows its control until the
 * control stops, which closes every client still open (an upgrade's
 * client has had its answer by then: dv8__upgrade_stop and the takeover
 * answer before the control stops).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "contexts/contexts.h"
#include "host/host.h"

/* Connections open at once; one more is answered "busy". */
#define CLIENTS_MAX 16
/* A peer's time to send its line, and to take the answer. */
#define LINE_MS 2000

typedef struct client client;

typedef struct control {
  uv_pipe_t server;
  dv8_runtime_t *rt;
  client *clients; /* open ones, a list */
  int n_clients;
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
} control;

struct client {
  uv_pipe_t pipe;
  uv_timer_t timer; /* runs while the peer is to send or to take */
  control *c;       /* NULL once the control has stopped */
  client *prev, *next;
  int reading; /* its line is still to come */
  int closing;
  int handles_open; /* pipe, timer: freed once both are closed */
  char line[64];
  size_t len;
  uv_write_t write;
  char reply[1024];
  char *long_reply; /* malloc'd: an answer past reply's size (stats) */
};

static control *the_control; /* the main thread's, if any */

int dv8__control_dir(char *out, size_t cap) {
  const char *runtime = getenv("XDG_RUNTIME_DIR");
  int n = runtime != NULL && runtime[0] == '/'
              ? snprintf(out, cap, "%s/dv8", runtime)
              : snprintf(out, cap, "/tmp/dv8-%u", (unsigned)getuid());
  return n > 0 && (size_t)n < cap ? 0 : UV_ENAMETOOLONG;
}

int dv8__control_dir_check(const char *dir, int make, char *why, size_t cap) {
  if (make && mkdir(dir, 0700) != 0 && errno != EEXIST) {
    int err = -errno;
    snprintf(why, cap,
             "cannot be made (%s): set XDG_RUNTIME_DIR to a directory of "
             "this user's",
             strerror(errno));
    return err;
  }
  struct stat st;
  if (lstat(dir, &st) != 0) {
    int err = -errno;
    snprintf(why, cap, "cannot be read (%s)", strerror(errno));
    return err;
  }
  const char *remove = "remove it (dv8 makes the directory itself)";
  if (S_ISLNK(st.st_mode))
    snprintf(why, cap, "is a symbolic link: %s", remove);
  else if (!S_ISDIR(st.st_mode))
    snprintf(why, cap, "is not a directory: %s", remove);
  else if (st.st_uid != getuid())
    snprintf(why, cap, "belongs to uid %u, not to this user (uid %u): %s",
             (unsigned)st.st_uid, (unsigned)getuid(), remove);
  else if ((st.st_mode & 0077) != 0)
    snprintf(why, cap, "is mode %04o, open to other users: chmod 700 it",
             (unsigned)(st.st_mode & 07777));
  else
    return 0;
  return UV_EPERM;
}

/* ---- clients ---- */

static void on_client_closed(uv_handle_t *h) {
  client *cl = h->data;
  if (--cl->handles_open == 0) {
    free(cl->long_reply);
    free(cl);
  }
}

static void client_close(client *cl) {
  if (cl->closing)
    return;
  cl->closing = 1;
  control *c = cl->c;
  if (c != NULL) {
    if (cl->prev != NULL)
      cl->prev->next = cl->next;
    else
      c->clients = cl->next;
    if (cl->next != NULL)
      cl->next->prev = cl->prev;
    c->n_clients--;
  }
  uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
  uv_close((uv_handle_t *)&cl->timer, on_client_closed);
}

/* The peer has not sent its line, or not taken the answer, in time. */
static void on_client_late(uv_timer_t *t) {
  client *cl = t->data;
  if (cl->reading) { /* say why, if the socket takes it now */
    char text[128];
    snprintf(text, sizeof(text),
             "timed out: no command within %d ms (send reload or upgrade, "
             "then a newline)\n",
             LINE_MS);
    uv_buf_t buf = uv_buf_init(text, (unsigned)strlen(text));
    uv_try_write((uv_stream_t *)&cl->pipe, &buf, 1);
  }
  client_close(cl);
}

static void on_written(uv_write_t *w, int status) {
  (void)status;
  client_close(w->data);
}

/* At once when the socket takes it (an upgrade's reply comes just before
 * this process ends, when a queued write would never go); else queued,
 * the peer given LINE_MS to take it. */
static void reply_bytes(client *cl, char *text, size_t len);

static void reply(client *cl, const char *text) {
  if (cl->closing)
    return;
  snprintf(cl->reply, sizeof(cl->reply), "%s", text);
  reply_bytes(cl, cl->reply, strlen(cl->reply));
}

/* text stays valid until the client is freed (reply, or long_reply). */
static void reply_bytes(client *cl, char *text, size_t len) {
  uv_buf_t buf = uv_buf_init(text, (unsigned)len);
  int n = uv_try_write((uv_stream_t *)&cl->pipe, &buf, 1);
  if (n == (int)buf.len)
    return client_close(cl);
  if (n > 0) {
    buf.base += n;
    buf.len -= (unsigned)n;
  }
  cl->write.data = cl;
  if (uv_write(&cl->write, (uv_stream_t *)&cl->pipe, &buf, 1, on_written) != 0)
    return client_close(cl);
  uv_timer_start(&cl->timer, on_client_late, LINE_MS, 0);
}

static void on_upgrade_done(void *arg, int status, const char *text) {
  char line[1024];
  snprintf(line, sizeof(line),
           status == 0 ? "upgraded: %s\n" : "upgrade failed: %s\n", text);
  reply(arg, line);
}

static void on_reload_done(dv8_runtime_t *rt, int status, void *arg);

/* The process's metrics, the Prometheus text format: many lines, after
 * which the connection closes. */
static void reply_stats(client *cl) {
  size_t len;
  cl->long_reply = dv8__metrics_text(cl->c->rt, &len);
  if (cl->long_reply == NULL)
    return reply(cl, "stats failed: out of memory\n");
  reply_bytes(cl, cl->long_reply, len);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  client *cl = h->data;
  *buf = uv_buf_init(cl->line + cl->len,
                     (unsigned)(sizeof(cl->line) - 1 - cl->len));
}

/* The answer to "reload", once it is done (a new code's top level may
 * await before it takes over). Not called once the control has stopped:
 * dv8__reload_stop comes after and drops a reload still waiting. */
static void on_reload_done(dv8_runtime_t *rt, int status, void *arg) {
  client *cl = arg;
  char text[1024];
  dv8__reload_report(rt, status, text, sizeof(text));
  /* Threads reload each on its own loop; their outcomes go to their
   * parents' Thread.onReload, not here. */
  int asked = dv8__threads_reload(rt);
  if (asked > 0) {
    size_t n = strlen(text);
    if (n > 0 && text[n - 1] == '\n')
      n--;
    snprintf(text + n, sizeof(text) - n, " (and %d thread%s asked to)\n", asked,
             asked == 1 ? "" : "s");
  }
  reply(cl, text);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  client *cl = s->data;
  if (n < 0)
    return client_close(cl);
  int nul = memchr(cl->line + cl->len, '\0', (size_t)n) != NULL;
  cl->len += (size_t)n;
  cl->line[cl->len] = '\0';
  char *nl = strchr(cl->line, '\n');
  if (!nul && nl == NULL && cl->len < sizeof(cl->line) - 1)
    return;
  uv_read_stop(s);
  cl->reading = 0;
  uv_timer_stop(&cl->timer); /* the peer waits for the answer now */
  if (nul)
    return reply(cl, "refused: a NUL byte in the command\n");
  if (nl == NULL) {
    char text[128];
    snprintf(text, sizeof(text),
             "refused: a command is one line of at most %zu bytes\n",
             sizeof(cl->line) - 1);
    return reply(cl, text);
  }
  *nl = '\0';
  if (nl > cl->line && nl[-1] == '\r')
    nl[-1] = '\0';
  if (strcmp(cl->line, "upgrade") == 0)
    dv8__upgrade(cl->c->rt, on_upgrade_done, cl);
  else if (strcmp(cl->line, "reload") == 0)
    dv8__reload(cl->c->rt, on_reload_done, cl);
  else if (strcmp(cl->line, "stats") == 0)
    reply_stats(cl);
  else
    reply(cl, "unknown command (try: reload, upgrade, stats)\n");
}

/* Accepts the connection waiting on server only to say text and close it
 * (libuv stops accepting until the one it took in is accepted). */
static void on_turned_away(uv_handle_t *h) { free(h); }

static void turn_away(uv_stream_t *server, const char *text) {
  uv_pipe_t *pipe = malloc(sizeof(*pipe));
  if (pipe == NULL)
    return;
  uv_pipe_init(server->loop, pipe, 0);
  if (uv_accept(server, (uv_stream_t *)pipe) == 0) {
    uv_buf_t buf = uv_buf_init((char *)text, (unsigned)strlen(text));
    uv_try_write((uv_stream_t *)pipe, &buf, 1); /* all, or nothing said */
  }
  uv_close((uv_handle_t *)pipe, on_turned_away);
}

/* Whether the peer on cl is our own user (or root). */
static int peer_allowed(client *cl) {
  uv_os_fd_t fd;
  struct ucred cred;
  socklen_t len = sizeof(cred);
  return uv_fileno((uv_handle_t *)&cl->pipe, &fd) == 0 &&
         getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
         (cred.uid == getuid() || cred.uid == 0);
}

static void on_connection(uv_stream_t *server, int status) {
  control *c = server->data;
  if (status < 0)
    return;
  if (c->n_clients >= CLIENTS_MAX) {
    char text[128];
    snprintf(text, sizeof(text),
             "busy: %d connections to this control socket are open; try "
             "again in a moment\n",
             CLIENTS_MAX);
    return turn_away(server, text);
  }
  client *cl = calloc(1, sizeof(*cl));
  if (cl == NULL)
    return turn_away(server, "busy: out of memory\n");
  cl->c = c;
  uv_pipe_init(server->loop, &cl->pipe, 0);
  uv_timer_init(server->loop, &cl->timer);
  cl->pipe.data = cl;
  cl->timer.data = cl;
  cl->handles_open = 2;
  /* Neither keeps the program up (nor does the control socket). */
  uv_unref((uv_handle_t *)&cl->pipe);
  uv_unref((uv_handle_t *)&cl->timer);
  cl->next = c->clients;
  if (c->clients != NULL)
    c->clients->prev = cl;
  c->clients = cl;
  c->n_clients++;
  if (uv_accept(server, (uv_stream_t *)&cl->pipe) != 0)
    return client_close(cl);
  if (!peer_allowed(cl))
    return reply(cl, "refused: not this process's user\n");
  cl->reading = 1;
  uv_timer_start(&cl->timer, on_client_late, LINE_MS, 0);
  if (uv_read_start((uv_stream_t *)&cl->pipe, on_alloc, on_read) != 0)
    client_close(cl);
}

/* ---- the socket ---- */

/* Sockets of programs that did not end normally (killed) are removed when
 * their pid is gone, so the directory does not fill up. */
static void remove_stale(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    char *end;
    long pid = strtol(e->d_name, &end, 10);
    if (pid <= 0 || strcmp(end, ".sock") != 0)
      continue;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
      unlinkat(dirfd(d), e->d_name, 0);
    }
  }
  closedir(d);
}

static void on_server_closed(uv_handle_t *h) { free(h->data); }

int dv8__control_start(dv8_runtime_t *rt) {
  char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
  char why[512];
  int err = dv8__control_dir(dir, sizeof(dir));
  if (err == 0 && (err = dv8__control_dir_check(dir, 1, why, sizeof(why)))) {
    /* Said once, at start: `dv8 reload PID` would only find nothing. */
    fprintf(stderr,
            "dv8: no control socket for this program: %s %s (meanwhile "
            "SIGHUP reloads this program and SIGUSR2 upgrades it)\n",
            dir, why);
    return err;
  }
  if (err)
    return err;
  remove_stale(dir);
  control *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return UV_ENOMEM;
  c->rt = rt;
  int n = snprintf(c->path, sizeof(c->path), "%s/%d.sock", dir,
                   (int)uv_os_getpid());
  if (n <= 0 || (size_t)n >= sizeof(c->path)) {
    free(c);
    return UV_ENAMETOOLONG;
  }
  unlink(c->path); /* a stale one from a process that had this pid */
  uv_pipe_init(&rt->loop, &c->server, 0);
  c->server.data = c;
  mode_t old = umask(0177); /* the socket is created 0600 */
  err = uv_pipe_bind(&c->server, c->path);
  umask(old);
  if (err == 0)
    err = uv_listen((uv_stream_t *)&c->server, 8, on_connection);
  if (err) {
    uv_close((uv_handle_t *)&c->server, on_server_closed);
    return err;
  }
  uv_unref((uv_handle_t *)&c->server); /* not a reason to stay up */
  the_control = c;
  return 0;
}

void dv8__control_stop(void) {
  control *c = the_control;
  if (c == NULL)
    return;
  the_control = NULL;
  unlink(c->path);
  /* Clients still open close unanswered (the program ends, or has been
   * upgraded: the new process has a socket of its own). */
  while (c->clients != NULL)
    client_close(c->clients);
  uv_close((uv_handle_t *)&c->server, on_server_closed);
}
