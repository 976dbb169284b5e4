/*
 * count: the C limit for counting stdin. Reads fd 0 with read(2) into one
 * 64 KiB buffer until end of file and prints the number of bytes read.
 *   dd if=/dev/zero bs=65536 count=32768 | build/tests/bench/count
 * tests/bench/net-peers runs it beside node and dv8 (examples/count.js): on
 * a pipe almost all of its time is the kernel's copy, so it shows what is
 * left for a runtime to lose.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  static char buf[65536];
  unsigned long long total = 0;
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n > 0) {
      total += (unsigned long long)n;
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      fprintf(stderr, "count: read: %s\n", strerror(errno));
      return 1;
    }
  }
  printf("%llu\n", total);
  return 0;
}
