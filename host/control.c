/*
 * The control socket: a program run from a file listens on a unix socket
 * named after its pid, and `dv8 reload PID` (or a socket path) asks it to
 * reload and prints how that went. The socket lives in a directory only
 * its user can enter (0700, checked to be a real directory of ours) and is
 * itself 0600; a peer of another uid (root excepted) is refused after a
 * SO_PEERCRED check. Protocol: one line in ("reload"), one line out.
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

typedef struct control {
  uv_pipe_t server;
  dv8_runtime_t *rt;
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
} control;

typedef struct client {
  uv_pipe_t pipe;
  control *c;
  char line[64];
  size_t len;
  uv_write_t write;
  char reply[1024];
} client;

static control *the_control; /* the main thread's, if any */

int dv8__control_dir(char *out, size_t cap) {
  const char *runtime = getenv("XDG_RUNTIME_DIR");
  int n = runtime != NULL && runtime[0] == '/'
              ? snprintf(out, cap, "%s/dv8", runtime)
              : snprintf(out, cap, "/tmp/dv8-%u", (unsigned)getuid());
  return n > 0 && (size_t)n < cap ? 0 : UV_ENAMETOOLONG;
}

/* The directory exists, is a directory (not a link), is ours and 0700. */
static int secure_dir(const char *dir) {
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return -errno;
  struct stat st;
  if (lstat(dir, &st) != 0)
    return -errno;
  if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 0077) != 0)
    return UV_EPERM;
  return 0;
}

static void on_client_closed(uv_handle_t *h) { free(h->data); }

static void on_written(uv_write_t *w, int status) {
  (void)status;
  client *cl = w->data;
  uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
}

/* At once when the socket takes it (an upgrade's reply comes just before
 * this process ends, when a queued write would never go). */
static void reply(client *cl, const char *text) {
  snprintf(cl->reply, sizeof(cl->reply), "%s", text);
  uv_buf_t buf = uv_buf_init(cl->reply, (unsigned)strlen(cl->reply));
  int n = uv_try_write((uv_stream_t *)&cl->pipe, &buf, 1);
  if (n == (int)buf.len) {
    uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
    return;
  }
  if (n > 0) {
    buf.base += n;
    buf.len -= (unsigned)n;
  }
  cl->write.data = cl;
  if (uv_write(&cl->write, (uv_stream_t *)&cl->pipe, &buf, 1, on_written) != 0)
    uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
}

static void on_upgrade_done(void *arg, int status, const char *text) {
  char line[1024];
  snprintf(line, sizeof(line),
           status == 0 ? "upgraded: %s\n" : "upgrade failed: %s\n", text);
  reply(arg, line);
}

static void on_reload_done(dv8_runtime_t *rt, int status, void *arg);

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  client *cl = h->data;
  *buf = uv_buf_init(cl->line + cl->len,
                     (unsigned)(sizeof(cl->line) - 1 - cl->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  client *cl = s->data;
  if (n < 0) {
    uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
    return;
  }
  cl->len += (size_t)n;
  cl->line[cl->len] = '\0';
  char *nl = strchr(cl->line, '\n');
  if (nl == NULL && cl->len < sizeof(cl->line) - 1)
    return;
  uv_read_stop(s);
  if (nl != NULL)
    *nl = '\0';
  if (strcmp(cl->line, "upgrade") == 0) {
    dv8__upgrade(cl->c->rt, on_upgrade_done, cl);
    return;
  }
  if (strcmp(cl->line, "reload") != 0) {
    reply(cl, "unknown command (try: reload, upgrade)\n");
    return;
  }
  dv8__reload(cl->c->rt, on_reload_done, cl);
}

/* The answer to "reload", once it is done (a new code's top level may
 * await before it takes over). */
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

static void on_connection(uv_stream_t *server, int status) {
  control *c = server->data;
  if (status < 0)
    return;
  client *cl = calloc(1, sizeof(*cl));
  if (cl == NULL)
    return;
  cl->c = c;
  uv_pipe_init(server->loop, &cl->pipe, 0);
  cl->pipe.data = cl;
  if (uv_accept(server, (uv_stream_t *)&cl->pipe) != 0) {
    uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
    return;
  }
  /* Only our own user (or root) may drive this process. */
  uv_os_fd_t fd;
  struct ucred cred;
  socklen_t len = sizeof(cred);
  if (uv_fileno((uv_handle_t *)&cl->pipe, &fd) != 0 ||
      getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
      (cred.uid != getuid() && cred.uid != 0)) {
    reply(cl, "refused: not this process's user\n");
    return;
  }
  uv_read_start((uv_stream_t *)&cl->pipe, on_alloc, on_read);
}

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

int dv8__control_start(dv8_runtime_t *rt) {
  char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
  int err = dv8__control_dir(dir, sizeof(dir));
  if (err == 0)
    err = secure_dir(dir);
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
    uv_close((uv_handle_t *)&c->server, on_client_closed);
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
  uv_close((uv_handle_t *)&c->server, on_client_closed);
}

/* dv8 reload|upgrade PID|PATH: the client side, plain blocking sockets. */
int dv8__control_command(const char *command, const char *target) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  char dir[sizeof(addr.sun_path)];
  int n;
  if (strchr(target, '/') != NULL) {
    n = snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", target);
  } else {
    char *end;
    long pid = strtol(target, &end, 10);
    if (*target == '\0' || *end != '\0' || pid <= 0 ||
        dv8__control_dir(dir, sizeof(dir)) != 0) {
      fprintf(stderr, "dv8 %s: expected a pid or a socket path, not '%s'\n",
              command, target);
      return 2;
    }
    n = snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%ld.sock", dir, pid);
  }
  if (n <= 0 || (size_t)n >= sizeof(addr.sun_path)) {
    fprintf(stderr, "dv8 %s: path too long\n", command);
    return 2;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
    fprintf(stderr, "dv8 %s: cannot reach %s: %s\n", command, addr.sun_path,
            strerror(errno));
    if (fd >= 0)
      close(fd);
    return 1;
  }
  char cmd[32];
  snprintf(cmd, sizeof(cmd), "%s\n", command);
  char buf[1024];
  size_t got = 0;
  ssize_t r = write(fd, cmd, strlen(cmd));
  while (r >= 0 && got < sizeof(buf) - 1 &&
         (r = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
    got += (size_t)r;
  close(fd);
  buf[got] = '\0';
  if (got == 0) {
    fprintf(stderr, "dv8 %s: no answer from %s\n", command, addr.sun_path);
    return 1;
  }
  /* "reloaded: ..." or "upgraded: ...": it worked. */
  int ok = strncmp(buf, "reloaded", 8) == 0 || strncmp(buf, "upgraded", 8) == 0;
  fputs(buf, ok ? stdout : stderr);
  return ok ? 0 : 1;
}
