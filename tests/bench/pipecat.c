/*
 * pipecat: the C limit for passing stdin through to stdout. A read(2) /
 * write(2) loop with one 64 KiB buffer; blocking descriptors give it
 * back-pressure for free.
 *   dd if=/dev/zero bs=65536 count=32768 | build/tests/bench/pipecat | wc -c
 * tests/bench/net-peers times it beside node and dv8 (examples/pipecat.js).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int write_all(const char *p, size_t len) {
  while (len > 0) {
    ssize_t n = write(1, p, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int main(void) {
  static char buf[65536];
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n == 0)
      return 0;
    if (n < 0) {
      if (errno == EINTR)
        continue;
      fprintf(stderr, "pipecat: read: %s\n", strerror(errno));
      return 1;
    }
    int err = write_all(buf, (size_t)n);
    if (err < 0) {
      fprintf(stderr, "pipecat: write: %s\n", strerror(-err));
      return 1;
    }
  }
}
