/*
 * Whole messages and descriptors over a unix socket, for an upgrade's
 * handoff (contexts/upgrade.cc): one side may be non-blocking (libuv polls
 * it), so a send that finds no room waits for some, up to 5 s.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host/host.h"

/* Until fd takes more, or 5 s. */
static int writable(int fd) {
  struct pollfd p = {fd, POLLOUT, 0};
  int r;
  do
    r = poll(&p, 1, 5000);
  while (r < 0 && errno == EINTR);
  return r == 1 && (p.revents & POLLOUT) != 0;
}

int dv8__send_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN && writable(fd))
      continue;
    if (n <= 0)
      return 0;
    p += n;
    len -= (size_t)n;
  }
  return 1;
}

int dv8__recv_all(int fd, void *data, size_t len) {
  char *p = data;
  while (len > 0) {
    ssize_t n = recv(fd, p, len, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return 0;
    p += n;
    len -= (size_t)n;
  }
  return 1;
}

/* A one-byte message ('D') with room for n descriptors. */
typedef struct {
  char byte;
  struct iovec iov;
  struct msghdr msg;
  char *control;
} fd_message;

static int fd_message_init(fd_message *m, size_t n) {
  m->byte = 'D';
  m->iov.iov_base = &m->byte;
  m->iov.iov_len = 1;
  memset(&m->msg, 0, sizeof(m->msg));
  m->msg.msg_iov = &m->iov;
  m->msg.msg_iovlen = 1;
  m->msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
  m->control = calloc(1, m->msg.msg_controllen);
  m->msg.msg_control = m->control;
  return m->control != NULL;
}

int dv8__send_fds(int fd, const int *fds, size_t n) {
  fd_message m;
  if (!fd_message_init(&m, n))
    return 0;
  struct cmsghdr *c = CMSG_FIRSTHDR(&m.msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * n);
  memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
  ssize_t r;
  do
    r = sendmsg(fd, &m.msg, MSG_NOSIGNAL);
  while (r < 0 && (errno == EINTR || (errno == EAGAIN && writable(fd))));
  free(m.control);
  return r == 1;
}

int dv8__recv_fds(int fd, size_t n, int *out) {
  fd_message m;
  if (!fd_message_init(&m, n))
    return -1;
  ssize_t r;
  do
    r = recvmsg(fd, &m.msg, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  size_t got = 0, came = 0;
  if (r == 1) {
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m.msg); c != NULL;
         c = CMSG_NXTHDR(&m.msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
        continue;
      size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      /* More than asked for (a confused peer; CMSG_SPACE's padding can
       * make room for one more without MSG_CTRUNC): kept out, and closed. */
      for (size_t i = 0; i < k; i++) {
        int d;
        memcpy(&d, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        came++;
        if (got < n)
          out[got++] = d;
        else
          close(d);
      }
    }
  }
  free(m.control);
  if (r == 1 && m.byte == 'D' && (m.msg.msg_flags & MSG_CTRUNC) == 0 &&
      came == n)
    return 0;
  for (size_t i = 0; i < got; i++)
    close(out[i]);
  return -1;
}
