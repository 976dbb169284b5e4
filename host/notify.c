/*
 * systemd's service notifications (sd_notify(3)), spoken directly: one
 * datagram to the unix socket named by $NOTIFY_SOCKET (a path, or '@' for
 * an abstract name), so that a unit with Type=notify knows when dv8 is
 * ready, reloading and stopping, and follows an upgrade: the old process
 * names the new one its successor (MAINPID=) before it ends, so systemd
 * does not take the old one's exit for the service's. Without the
 * variable nothing is sent. A send that fails is said once on stderr; the
 * program goes on. docs/processes.md, "Under a supervisor".
 *
 * The --init supervisor (init.c) listens on such a socket itself and
 * learns the same way which process is the program now.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "host/host.h"

static int warned;

int dv8__notify_to(const char *name, const char *text) {
  if (name == NULL || name[0] == '\0')
    return 0;
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  size_t len = strlen(name);
  if ((name[0] != '/' && name[0] != '@') || len >= sizeof(addr.sun_path)) {
    if (!warned++)
      fprintf(stderr,
              "dv8: NOTIFY_SOCKET '%s' is not a socket path or an abstract "
              "name (@...): no notifications are sent\n",
              name);
    return UV_EINVAL;
  }
  memcpy(addr.sun_path, name, len);
  if (name[0] == '@')
    addr.sun_path[0] = '\0';
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
  ssize_t sent = sendto(fd, text, strlen(text), MSG_NOSIGNAL,
                        (struct sockaddr *)&addr, alen);
  int err = sent < 0 ? -errno : 0;
  close(fd);
  if (err && !warned++)
    fprintf(stderr,
            "dv8: cannot notify %s (%s): the supervisor may not see "
            "this program's state\n",
            name, strerror(-err));
  return err;
}

int dv8__notify(const char *fmt, ...) {
  const char *name = getenv("NOTIFY_SOCKET");
  if (name == NULL || name[0] == '\0')
    return 0;
  char text[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(text, sizeof(text), fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof(text))
    return UV_EINVAL;
  return dv8__notify_to(name, text);
}
