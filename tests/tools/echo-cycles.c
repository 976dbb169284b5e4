/*
 * echo-cycles: many short connections to a line echo server, one at a time.
 *   build/tests/tools/echo-cycles [options] HOST PORT COUNT
 *     -f FIRST    number of the first connection (default 0): a run split in
 *                 parts (RSS sampled between them) keeps one numbering
 *     -n BYTES    length of each line, newline included (default 100)
 *     -t MS       time allowed for one whole cycle (default 5000)
 *     -s SOURCES  source addresses to rotate through, loopback only (64)
 *     -m FAILS    stop after this many failures (default 10)
 * Each cycle: connect to HOST:PORT (a numeric IPv4 address), send one line
 * made of the connection's number and bytes derived from it, read the same
 * line back and compare it byte for byte, half-close, read the server's
 * end of stream (nothing more may come), close. Any failure (refused,
 * reset, timed out, short, wrong or extra bytes) is printed with the
 * connection's number and counted. At the end it prints
 *   connections=N failures=F seconds=S per_second=X
 * and exits 1 if anything failed (2 for a usage error).
 *
 * Plain libc: one non-blocking socket at a time, waited on with poll() up
 * to the cycle's deadline.
 *
 * Source addresses. The client half-closes first (the echo server closes
 * only after its client's end of stream), so the client's side of every
 * connection stays in TIME_WAIT for 60 s, holding its address and port
 * pair. From one source address the ephemeral range (32768-60999 by
 * default, 28,232 ports) runs out after about 28,000 connections a minute
 * and connect() fails with EADDRNOTAVAIL, unless net.ipv4.tcp_tw_reuse lets
 * it take over old pairs, which depends on the machine. The other ways out
 * were worse: SO_LINGER 0 ends each connection with a reset (the server
 * takes a different path, its error path, and no TIME_WAIT is left to
 * prove the close was clean); a server that closes first is not the echo
 * server under test; widening ip_local_port_range needs root and changes
 * the whole machine. Linux routes all of 127.0.0.0/8 to the loopback
 * device, so when HOST is a loopback address each connection binds a
 * source address of its own, 127.1.x.y, rotating through SOURCES of them:
 * an address comes back once every SOURCES connections, which gives
 * SOURCES times 28,000 connections a minute (1.8 million with 64).
 * IP_BIND_ADDRESS_NO_PORT leaves the choice of the port to connect(), so
 * that only the whole address and port pair must be free, not the port.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

/* Source addresses start here: 127.1.0.1, away from 127.0.0.1. */
#define FIRST_SOURCE 0x7F010001u

struct options {
  struct sockaddr_in server;
  unsigned long long first;
  unsigned long long count;
  size_t size;
  int timeout_ms;
  unsigned sources; /* 0: no bind, the kernel chooses */
  unsigned long long max_failures;
};

/* One cycle's state; what failed is written into why. */
struct cycle {
  unsigned long long number;
  int fd;
  uint64_t deadline_ns;
  char why[256];
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int failed(struct cycle *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->why, sizeof c->why, fmt, ap);
  va_end(ap);
  return -1;
}

/* Waits until the socket is ready for events, or the cycle's deadline:
 * 0, or -1 with why set (doing says what was waited for). */
static int wait_for(struct cycle *c, short events, const char *doing) {
  for (;;) {
    uint64_t now = now_ns();
    if (now >= c->deadline_ns)
      return failed(c, "timed out %s", doing);
    struct pollfd p = {.fd = c->fd, .events = events};
    int ms = (int)((c->deadline_ns - now + 999999) / 1000000);
    int n = poll(&p, 1, ms);
    if (n > 0)
      return 0;
    if (n < 0 && errno != EINTR)
      return failed(c, "poll: %s", strerror(errno));
  }
}

/* The line of connection number: "NUMBER " then bytes that differ from one
 * connection to the next at every position, then '\n'. */
static void fill_line(char *line, size_t size, unsigned long long number) {
  int head = snprintf(line, size, "%llu ", number);
  size_t i = head > 0 && (size_t)head < size - 1 ? (size_t)head : 0;
  for (; i < size - 1; i++)
    line[i] = (char)('!' + (number * 7 + i * 31) % 94);
  line[size - 1] = '\n';
}

static int connect_to(struct cycle *c, const struct options *o) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0)
    return failed(c, "socket: %s", strerror(errno));
  if (o->sources > 0) {
    int one = 1;
    /* Without it (before Linux 4.2) bind reserves a port per address,
     * which still works, with fewer connections a minute. */
    (void)setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
                     sizeof one);
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr =
        htonl(FIRST_SOURCE + (uint32_t)(c->number % o->sources));
    if (bind(c->fd, (struct sockaddr *)&src, sizeof src) != 0)
      return failed(c, "bind to %s: %s", inet_ntoa(src.sin_addr),
                    strerror(errno));
  }
  if (connect(c->fd, (const struct sockaddr *)&o->server, sizeof o->server) ==
      0)
    return 0;
  if (errno != EINPROGRESS)
    return failed(c, "connect: %s", strerror(errno));
  if (wait_for(c, POLLOUT, "connecting") < 0)
    return -1;
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    err = errno;
  if (err != 0)
    return failed(c, "connect: %s", strerror(err));
  return 0;
}

static int send_line(struct cycle *c, const char *line, size_t size) {
  size_t sent = 0;
  while (sent < size) {
    ssize_t n = send(c->fd, line + sent, size - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += (size_t)n;
    } else if (n < 0 && errno == EAGAIN) {
      if (wait_for(c, POLLOUT, "sending the line") < 0)
        return -1;
    } else if (n < 0 && errno != EINTR) {
      return failed(c, "send after %zu of %zu bytes: %s", sent, size,
                    strerror(errno));
    }
  }
  return 0;
}

static int read_echo(struct cycle *c, const char *line, char *echo,
                     size_t size) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = recv(c->fd, echo + got, size - got, 0);
    if (n > 0) {
      got += (size_t)n;
    } else if (n == 0) {
      return failed(c, "the server closed after %zu of %zu bytes", got, size);
    } else if (errno == EAGAIN) {
      char doing[64];
      snprintf(doing, sizeof doing, "with %zu of %zu bytes echoed", got, size);
      if (wait_for(c, POLLIN, doing) < 0)
        return -1;
    } else if (errno != EINTR) {
      return failed(c, "recv after %zu of %zu bytes: %s", got, size,
                    strerror(errno));
    }
  }
  for (size_t i = 0; i < size; i++)
    if (echo[i] != line[i])
      return failed(c,
                    "the echo differs at byte %zu of %zu (0x%02x, not 0x%02x)",
                    i, size, (unsigned char)echo[i], (unsigned char)line[i]);
  return 0;
}

/* Half-closes and waits for the server's end of stream: the server has seen
 * the client's and closed cleanly, with nothing more to say. */
static int finish(struct cycle *c) {
  if (shutdown(c->fd, SHUT_WR) != 0)
    return failed(c, "shutdown: %s", strerror(errno));
  for (;;) {
    char extra[256];
    ssize_t n = recv(c->fd, extra, sizeof extra, 0);
    if (n == 0)
      return 0;
    if (n > 0)
      return failed(c, "%zd bytes came after the echo", n);
    if (errno == EAGAIN) {
      if (wait_for(c, POLLIN, "for the server to close") < 0)
        return -1;
    } else if (errno != EINTR) {
      return failed(c, "recv after the echo: %s", strerror(errno));
    }
  }
}

static int run_cycle(struct cycle *c, const struct options *o, char *line,
                     char *echo) {
  c->fd = -1;
  c->deadline_ns = now_ns() + (uint64_t)o->timeout_ms * 1000000u;
  fill_line(line, o->size, c->number);
  int err = connect_to(c, o);
  if (err == 0)
    err = send_line(c, line, o->size);
  if (err == 0)
    err = read_echo(c, line, echo, o->size);
  if (err == 0)
    err = finish(c);
  if (c->fd >= 0 && close(c->fd) != 0 && err == 0)
    err = failed(c, "close: %s", strerror(errno));
  return err;
}

static int parse_number(const char *s, unsigned long long min,
                        unsigned long long max, unsigned long long *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

static int usage(void) {
  fprintf(stderr,
          "usage: echo-cycles [-f FIRST] [-n BYTES] [-t MS] [-s SOURCES] "
          "[-m FAILS] HOST PORT COUNT\n"
          "  HOST a numeric IPv4 address; BYTES 2 to 1 MiB; SOURCES 0 to "
          "65536 (0: no bind)\n");
  return 2;
}

static int parse_options(int argc, char **argv, struct options *o) {
  unsigned long long v;
  int opt;
  o->size = 100;
  o->timeout_ms = 5000;
  o->sources = 64;
  o->max_failures = 10;
  while ((opt = getopt(argc, argv, "f:n:t:s:m:")) != -1) {
    const char *arg = optarg;
    switch (opt) {
    case 'f':
      if (parse_number(arg, 0, 1ull << 53, &o->first) < 0)
        return -1;
      break;
    case 'n':
      if (parse_number(arg, 2, 1 << 20, &v) < 0)
        return -1;
      o->size = (size_t)v;
      break;
    case 't':
      if (parse_number(arg, 1, 3600000, &v) < 0)
        return -1;
      o->timeout_ms = (int)v;
      break;
    case 's':
      if (parse_number(arg, 0, 65536, &v) < 0)
        return -1;
      o->sources = (unsigned)v;
      break;
    case 'm':
      if (parse_number(arg, 1, ~0ull, &o->max_failures) < 0)
        return -1;
      break;
    default:
      return -1;
    }
  }
  if (argc - optind != 3)
    return -1;
  unsigned long long port;
  o->server.sin_family = AF_INET;
  if (inet_pton(AF_INET, argv[optind], &o->server.sin_addr) != 1 ||
      parse_number(argv[optind + 1], 1, 65535, &port) < 0 ||
      parse_number(argv[optind + 2], 1, 1ull << 53, &o->count) < 0)
    return -1;
  o->server.sin_port = htons((uint16_t)port);
  /* Other source addresses are reachable only on loopback. */
  if ((ntohl(o->server.sin_addr.s_addr) >> 24) != 127)
    o->sources = 0;
  return 0;
}

int main(int argc, char **argv) {
  struct options o = {0};
  if (parse_options(argc, argv, &o) < 0)
    return usage();
  char *line = malloc(o.size);
  char *echo = malloc(o.size);
  if (line == NULL || echo == NULL) {
    fprintf(stderr, "echo-cycles: out of memory\n");
    return 1;
  }
  unsigned long long done = 0, failures = 0;
  uint64_t start = now_ns();
  for (; done < o.count && failures < o.max_failures; done++) {
    struct cycle c = {.number = o.first + done};
    if (run_cycle(&c, &o, line, echo) < 0) {
      failures++;
      fprintf(stderr, "echo-cycles: connection %llu: %s\n", c.number, c.why);
    }
  }
  double seconds = (double)(now_ns() - start) / 1e9;
  printf("connections=%llu failures=%llu seconds=%.2f per_second=%.0f\n", done,
         failures, seconds, seconds > 0 ? (double)done / seconds : 0.0);
  if (done < o.count)
    fprintf(stderr, "echo-cycles: stopped after %llu failures\n", failures);
  free(line);
  free(echo);
  return failures > 0 ? 1 : 0;
}
