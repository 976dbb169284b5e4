/*
 * Whole messages and descriptors over a unix socket, for an upgrade's
 * handoff (upgrade.c, takeover.c): one side may be non-blocking (libuv
 * polls it), so a send that finds no room waits for some, up to 5 s. And
 * the messages' parts: little-endian integers and short names, written
 * into a growing buffer and read back without running past the end of
 * what came.
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

/* ---- messages built and read in little-endian parts ---- */

void dv8__wire_put(dv8_wire_t *b, const void *p, size_t n) {
  if (b->failed)
    return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->len + n)
      cap *= 2;
    uint8_t *data = realloc(b->data, cap);
    if (data == NULL) {
      b->failed = 1;
      return;
    }
    b->data = data;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

void dv8__wire_put32(dv8_wire_t *b, uint32_t v) {
  uint8_t p[4];
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
  dv8__wire_put(b, p, 4);
}

void dv8__wire_put64(dv8_wire_t *b, uint64_t v) {
  dv8__wire_put32(b, (uint32_t)v);
  dv8__wire_put32(b, (uint32_t)(v >> 32));
}

void dv8__wire_put_name(dv8_wire_t *b, const char *s) {
  size_t n = strlen(s);
  uint8_t len = (uint8_t)(n > 255 ? 255 : n);
  dv8__wire_put(b, &len, 1);
  dv8__wire_put(b, s, len);
}

uint32_t dv8__wire_get32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

uint64_t dv8__wire_get64(const uint8_t *p) {
  return dv8__wire_get32(p) | (uint64_t)dv8__wire_get32(p + 4) << 32;
}

const uint8_t *dv8__wire_take(dv8_wire_reader_t *r, size_t n) {
  if (r->bad || (size_t)(r->end - r->p) < n) {
    r->bad = 1;
    return NULL;
  }
  const uint8_t *at = r->p;
  r->p += n;
  return at;
}

uint32_t dv8__wire_take32(dv8_wire_reader_t *r) {
  const uint8_t *p = dv8__wire_take(r, 4);
  return p ? dv8__wire_get32(p) : 0;
}

uint64_t dv8__wire_take64(dv8_wire_reader_t *r) {
  const uint8_t *p = dv8__wire_take(r, 8);
  return p ? dv8__wire_get64(p) : 0;
}

void dv8__wire_take_name(dv8_wire_reader_t *r, char out[256]) {
  const uint8_t *len = dv8__wire_take(r, 1);
  const uint8_t *p = len ? dv8__wire_take(r, *len) : NULL;
  size_t n = p ? *len : 0;
  if (n > 0)
    memcpy(out, p, n);
  out[n] = '\0';
}
