/* Whole messages and descriptors over a unix socket (an upgrade's handoff):
 * messages many times the socket's buffer arrive whole, through a blocking
 * or a non-blocking sender; a peer that is gone is 0, never SIGPIPE;
 * descriptors arrive in order, close-on-exec, as the same open files, up
 * to 250 at once; a receive that gets more or fewer than it asked for, or
 * descriptors with the wrong byte, closes them: /proc/self/fd is counted
 * before and after. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/host.h"
#include "unit.h"

const dv8_api_t dv8__api_table;

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  ASSERT(d != NULL);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.')
      n++;
  closedir(d);
  return n;
}

static void pair(int sv[2]) {
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

/* An anonymous file, not close-on-exec (so a received copy's flag is the
 * receiver's doing). */
static int new_file(void) {
  int fd = memfd_create("dv8-fdpass-test", 0);
  ASSERT(fd >= 0);
  return fd;
}

static int same_file(int a, int b) {
  struct stat sa, sb;
  ASSERT_EQ(fstat(a, &sa), 0);
  ASSERT_EQ(fstat(b, &sb), 0);
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int cloexec(int fd) {
  int flags = fcntl(fd, F_GETFD);
  ASSERT(flags >= 0);
  return (flags & FD_CLOEXEC) != 0;
}

/* ---- whole messages ---- */

enum { BIG = 8 << 20 };

typedef struct {
  int fd;
  uint8_t *big;
  char tail[4];
  int ok_big, ok_tail;
  size_t stop_after; /* nonzero: read this much, then close fd */
} reader;

static void read_messages(void *arg) {
  reader *r = arg;
  if (r->stop_after > 0) {
    r->ok_big = dv8__recv_all(r->fd, r->big, r->stop_after);
    close(r->fd);
    return;
  }
  r->ok_big = dv8__recv_all(r->fd, r->big, BIG);
  r->ok_tail = dv8__recv_all(r->fd, r->tail, 3);
}

static uint8_t *pattern(void) {
  uint8_t *p = malloc(BIG);
  ASSERT(p != NULL);
  uint32_t x = 12345;
  for (size_t i = 0; i < BIG; i++) {
    x = x * 1103515245u + 12345u;
    p[i] = (uint8_t)(x >> 16);
  }
  return p;
}

static void test_whole_messages(int nonblocking) {
  int sv[2];
  pair(sv);
  int sndbuf = 0;
  socklen_t optlen = sizeof(sndbuf);
  ASSERT_EQ(getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &optlen), 0);
  ASSERT(sndbuf < BIG / 4); /* the message cannot go in one send */
  if (nonblocking)          /* as when libuv polls the socket */
    ASSERT_EQ(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
  uint8_t *data = pattern();
  reader r;
  memset(&r, 0, sizeof(r));
  r.fd = sv[1];
  r.big = malloc(BIG);
  ASSERT(r.big != NULL);
  uv_thread_t thread;
  ASSERT_EQ(uv_thread_create(&thread, read_messages, &r), 0);
  ASSERT_EQ(dv8__send_all(sv[0], data, BIG), 1);
  ASSERT_EQ(dv8__send_all(sv[0], "end", 3), 1);
  ASSERT_EQ(dv8__send_all(sv[0], "", 0), 1);
  ASSERT_EQ(uv_thread_join(&thread), 0);
  ASSERT_EQ(r.ok_big, 1);
  ASSERT_EQ(r.ok_tail, 1);
  ASSERT(memcmp(r.big, data, BIG) == 0);
  ASSERT(memcmp(r.tail, "end", 3) == 0);
  free(r.big);
  free(data);
  close(sv[0]);
  close(sv[1]);
}

static void test_peer_gone(int nonblocking) {
  int sv[2];
  char buf[16];
  /* Closed before anything was sent: 0, and no SIGPIPE (its default
   * action would end this process). */
  pair(sv);
  close(sv[1]);
  ASSERT_EQ(dv8__send_all(sv[0], "hello", 5), 0);
  ASSERT_EQ(dv8__recv_all(sv[0], buf, 1), 0);
  close(sv[0]);
  /* Part of a message, then the end: 0. */
  pair(sv);
  ASSERT_EQ(dv8__send_all(sv[1], "hello", 5), 1);
  close(sv[1]);
  ASSERT_EQ(dv8__recv_all(sv[0], buf, 10), 0);
  close(sv[0]);
  /* Gone while a big send waits for room. */
  pair(sv);
  if (nonblocking)
    ASSERT_EQ(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
  uint8_t *data = pattern();
  reader r;
  memset(&r, 0, sizeof(r));
  r.fd = sv[1];
  r.big = malloc(BIG);
  ASSERT(r.big != NULL);
  r.stop_after = 100000;
  uv_thread_t thread;
  ASSERT_EQ(uv_thread_create(&thread, read_messages, &r), 0);
  ASSERT_EQ(dv8__send_all(sv[0], data, BIG), 0);
  ASSERT_EQ(uv_thread_join(&thread), 0);
  ASSERT_EQ(r.ok_big, 1);
  ASSERT(memcmp(r.big, data, r.stop_after) == 0);
  free(r.big);
  free(data);
  close(sv[0]);
}

/* ---- descriptors ---- */

static void test_same_open_files(void) {
  int before = count_fds();
  int sv[2], p[2];
  pair(sv);
  ASSERT_EQ(pipe(p), 0);
  int file = new_file();
  ASSERT(!cloexec(file) && !cloexec(p[1]));
  int fds[2] = {file, p[1]}, got[2] = {-1, -1};
  ASSERT_EQ(dv8__send_fds(sv[0], fds, 2), 1);
  ASSERT_EQ(dv8__recv_fds(sv[1], 2, got), 0);
  for (int i = 0; i < 2; i++) {
    ASSERT(got[i] >= 0 && got[i] != fds[i]);
    ASSERT(cloexec(got[i]));
    ASSERT(same_file(got[i], fds[i]));
  }
  /* The same open file, not just the same inode: one offset. */
  ASSERT_EQ(write(got[0], "hello", 5), 5);
  ASSERT_EQ(lseek(file, 0, SEEK_CUR), 5);
  char buf[8] = {0};
  ASSERT_EQ(pread(file, buf, 5, 0), 5);
  ASSERT(memcmp(buf, "hello", 5) == 0);
  /* The pipe's write end, received, writes into the original pipe. */
  ASSERT_EQ(write(got[1], "pipe", 4), 4);
  ASSERT_EQ(read(p[0], buf, 4), 4);
  ASSERT(memcmp(buf, "pipe", 4) == 0);
  /* Messages and descriptors interleave on the stream. */
  ASSERT_EQ(dv8__send_all(sv[0], "abc", 3), 1);
  ASSERT_EQ(dv8__send_fds(sv[0], &file, 1), 1);
  ASSERT_EQ(dv8__send_all(sv[0], "de", 2), 1);
  ASSERT_EQ(dv8__recv_all(sv[1], buf, 3), 1);
  ASSERT(memcmp(buf, "abc", 3) == 0);
  int third = -1;
  ASSERT_EQ(dv8__recv_fds(sv[1], 1, &third), 0);
  ASSERT(same_file(third, file) && cloexec(third));
  ASSERT_EQ(dv8__recv_all(sv[1], buf, 2), 1);
  ASSERT(memcmp(buf, "de", 2) == 0);
  close(third);
  close(got[0]);
  close(got[1]);
  close(file);
  close(p[0]);
  close(p[1]);
  close(sv[0]);
  close(sv[1]);
  ASSERT_EQ(count_fds(), before);
}

enum { MANY = 250 };

static void test_many_at_once(void) {
  int before = count_fds();
  int sv[2];
  pair(sv);
  int files[MANY], got[MANY];
  for (int i = 0; i < MANY; i++)
    files[i] = new_file();
  ASSERT_EQ(dv8__send_fds(sv[0], files, MANY), 1);
  ASSERT_EQ(dv8__recv_fds(sv[1], MANY, got), 0);
  ASSERT_EQ(count_fds(), before + 2 + 2 * MANY);
  for (int i = 0; i < MANY; i++) {
    ASSERT(same_file(got[i], files[i])); /* in order */
    ASSERT(cloexec(got[i]));
    close(got[i]);
  }
  /* Past the kernel's limit (SCM_MAX_FD): refused, nothing sent. */
  int lots[300];
  for (int i = 0; i < 300; i++)
    lots[i] = files[i % MANY];
  ASSERT_EQ(dv8__send_fds(sv[0], lots, 300), 0);
  for (int i = 0; i < MANY; i++)
    close(files[i]);
  close(sv[0]);
  close(sv[1]);
  ASSERT_EQ(count_fds(), before);
}

/* Sends n new files, asks for want: -1, and nothing left open. */
static void expect_refused(int sv[2], size_t n, size_t want) {
  int files[MANY], got[MANY];
  for (size_t i = 0; i < n; i++)
    files[i] = new_file();
  int before = count_fds();
  ASSERT_EQ(dv8__send_fds(sv[0], files, n), 1);
  ASSERT_EQ(dv8__recv_fds(sv[1], want, got), -1);
  ASSERT_EQ(count_fds(), before);
  for (size_t i = 0; i < n; i++)
    close(files[i]);
}

static void test_wrong_counts(void) {
  int before = count_fds();
  int sv[2];
  pair(sv);
  expect_refused(sv, 3, 5);
  expect_refused(sv, 5, 3);
  expect_refused(sv, 1, MANY);
  expect_refused(sv, MANY, 1);
  expect_refused(sv, MANY, MANY - 1);
  expect_refused(sv, 2, 1);
  /* The stream is still in step: the next receive gets the next send. */
  int file = new_file(), got = -1;
  ASSERT_EQ(dv8__send_fds(sv[0], &file, 1), 1);
  ASSERT_EQ(dv8__recv_fds(sv[1], 1, &got), 0);
  ASSERT(same_file(got, file));
  close(got);
  close(file);
  close(sv[0]);
  close(sv[1]);
  ASSERT_EQ(count_fds(), before);
}

static void test_not_descriptors(void) {
  int before = count_fds();
  int sv[2], got[2];
  pair(sv);
  /* The byte alone, no descriptors. */
  ASSERT_EQ(dv8__send_all(sv[0], "D", 1), 1);
  ASSERT_EQ(dv8__recv_fds(sv[1], 1, got), -1);
  /* Descriptors with another byte than 'D' (a confused peer): closed. */
  int file = new_file();
  char byte = 'X';
  struct iovec iov = {&byte, 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof(control));
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof(control.buf);
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &file, sizeof(int));
  ASSERT_EQ(sendmsg(sv[0], &msg, 0), 1);
  int open_now = count_fds();
  ASSERT_EQ(dv8__recv_fds(sv[1], 1, got), -1);
  ASSERT_EQ(count_fds(), open_now);
  close(file);
  /* The peer gone: -1. */
  close(sv[0]);
  ASSERT_EQ(dv8__recv_fds(sv[1], 1, got), -1);
  close(sv[1]);
  ASSERT_EQ(count_fds(), before);
}

int main(void) {
  /* A send to a closed peer must not raise SIGPIPE: keep its default
   * action (ending the process) so that a regression shows. */
  signal(SIGPIPE, SIG_DFL);
  test_whole_messages(0);
  test_whole_messages(1);
  test_peer_gone(0);
  test_peer_gone(1);
  test_same_open_files();
  test_many_at_once();
  test_wrong_counts();
  test_not_descriptors();
  return 0;
}
