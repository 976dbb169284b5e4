/*
 * reload-client: the load generator of tests/bench/reload-peers, in C on
 * libuv: echo round trips through a server that is being reloaded (dv8) or
 * restarted (node --watch), measuring what the clients see of it.
 *   build/tests/bench/reload-client [-r] [-i MS] HOST PORT CONNECTIONS \
 *     SECONDS MSGSIZE
 *   e.g. reload-client -r 127.0.0.1 7000 64 60 64
 * Opens CONNECTIONS TCP connections to HOST (a numeric address). Each sends a
 * MSGSIZE-byte message numbered by its sequence, waits until the same bytes
 * have come back, checks every byte, and sends the next.
 *   -r     reconnect a connection that was dropped (EOF, reset, a failed
 *          write or connect), retrying every -i MS (default 5) until the
 *          server accepts again; the message in flight is sent again on the
 *          new connection. Without -r a dropped connection stays closed.
 * Runs for SECONDS at most, or until SIGTERM or SIGINT; prints
 *   ready connections=N          once every connection has had an echo
 *   baseline KEY=VALUE...        on SIGUSR1, then starts counting afresh
 *   KEY=VALUE...                 at the end (the last line)
 * with keys: round_trips, rps; lat_p50_ms, lat_p99_ms and stall_ms (the
 * longest any message waited for its echo, from its first send, across
 * reconnections: the longest stall a connection saw); drops (connections
 * lost once established: eofs + resets + other), connect_failures,
 * reconnects (connections re-established after a drop); mismatched (bytes
 * that came back different, or more than were sent: such a connection is
 * closed as out of step); outages, down_ms and longest_down_ms (an outage
 * runs from the first drop or failed connect while all was well until a
 * connection made after it completes a round trip: the time without
 * service); live (connections serving at the end).
 * Exit status 1 if a byte was wrong, or (without -r) a connection dropped or
 * could not connect.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

struct client {
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_write_t write;
  uv_timer_t retry;
  unsigned id;
  uint64_t seq;     /* number of the message in flight */
  uint64_t sent_ns; /* when it was first sent (a resend keeps it) */
  size_t got;       /* bytes of its echo received so far */
  int writing;      /* a uv_write of msg is queued: msg must not change */
  int replied;      /* the echo came back while the write was still queued */
  int established;  /* connected and not dropped since */
  int fresh;        /* no echo yet on this connection */
  int ever_served;  /* some connection of this client had an echo */
  int dropped;      /* the connection now closing was lost, not stopped */
  char *msg;        /* MSGSIZE bytes */
};

/* Round-trip latencies in 10 us buckets up to 1 s (a longer one lands in
 * the last bucket; stall_ms keeps the exact maximum). */
#define LAT_BUCKET_NS 10000ull
#define LAT_BUCKETS 100000u

struct stats {
  uint64_t start_ns;
  unsigned long long round_trips, drops, eofs, resets, other_drops;
  unsigned long long connect_failures, reconnects, mismatched, outages;
  uint64_t down_ns, longest_down_ns, stall_ns;
  uint64_t lat[LAT_BUCKETS];
};

static uv_loop_t *loop;
static uv_timer_t deadline;
static uv_signal_t sig_term, sig_int, sig_usr1;
static struct client *clients;
static unsigned nclients;
static size_t msgsize;
static int reconnect;
static uint64_t retry_ms = 5;
static struct sockaddr_storage addr;
static int stopping;
static int ready;
static unsigned served; /* clients with at least one echo */
static struct stats st;
static int outage_open;
static uint64_t outage_start_ns;
static unsigned long long total_mismatched, total_lost_without_r;

/* All reads land here: callbacks run one at a time on one thread, and each
 * read is checked before the callback returns. */
static char read_buf[65536];

static void start_connect(struct client *c);
static void send_message(struct client *c, int resend);

static void outage_begins(void) {
  if (!outage_open) {
    outage_open = 1;
    outage_start_ns = uv_hrtime();
  }
}

static void outage_ends(void) {
  if (!outage_open)
    return;
  outage_open = 0;
  uint64_t d = uv_hrtime() - outage_start_ns;
  st.outages++;
  st.down_ns += d;
  if (d > st.longest_down_ns)
    st.longest_down_ns = d;
}

static void on_retry(uv_timer_t *t) { start_connect(t->data); }

/* After a drop the client connects again at once (a reloaded server is
 * already back); after a failed connect it waits the retry interval, or 64
 * clients spinning on ECONNREFUSED would take the CPU that a restarting
 * server needs. */
static void on_close_dropped(uv_handle_t *handle) {
  struct client *c = handle->data;
  if (!stopping && reconnect)
    start_connect(c);
}

static void on_close_refused(uv_handle_t *handle) {
  struct client *c = handle->data;
  if (!stopping && reconnect)
    uv_timer_start(&c->retry, on_retry, retry_ms, 0);
}

/* A connection is lost, or failed to open: count it and close it (and with
 * -r start over). */
static void lose(struct client *c, const char *what, int status) {
  if (stopping || c->dropped)
    return;
  if (c->established) {
    st.drops++;
    if (status == UV_EOF)
      st.eofs++;
    else if (status == UV_ECONNRESET || status == UV_EPIPE)
      st.resets++;
    else
      st.other_drops++;
  } else {
    st.connect_failures++;
  }
  if (!reconnect) {
    total_lost_without_r++;
    fprintf(stderr, "reload-client: connection %u: %s: %s\n", c->id, what,
            uv_strerror(status));
  }
  outage_begins();
  uv_close_cb done = c->established ? on_close_dropped : on_close_refused;
  c->established = 0;
  c->dropped = 1;
  if (!uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, done);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  (void)handle;
  (void)suggested;
  *buf = uv_buf_init(read_buf, sizeof read_buf);
}

static void record_latency(uint64_t ns) {
  uint64_t b = ns / LAT_BUCKET_NS;
  st.lat[b < LAT_BUCKETS ? b : LAT_BUCKETS - 1]++;
  if (ns > st.stall_ns)
    st.stall_ns = ns;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  struct client *c = stream->data;
  if (stopping || c->dropped)
    return;
  if (nread < 0) {
    lose(c, "read", (int)nread);
    return;
  }
  size_t len = (size_t)nread, extra = 0;
  if (len > msgsize - c->got) {
    extra = len - (msgsize - c->got);
    len -= extra;
  }
  unsigned long long wrong = extra;
  for (size_t i = 0; i < len; i++)
    wrong += buf->base[i] != c->msg[c->got + i];
  if (wrong > 0) {
    st.mismatched += wrong;
    total_mismatched += wrong;
    fprintf(stderr,
            "reload-client: connection %u: %llu bytes wrong in the echo of "
            "message %llu (%zu of %zu bytes back before)\n",
            c->id, wrong, (unsigned long long)c->seq, c->got, msgsize);
    /* Out of step with the server: nothing after this can be checked. */
    lose(c, "echo", UV_EPROTO);
    return;
  }
  c->got += len;
  if (c->got < msgsize)
    return;
  st.round_trips++;
  record_latency(uv_hrtime() - c->sent_ns);
  if (c->fresh) {
    c->fresh = 0;
    outage_ends();
    if (!c->ever_served) {
      c->ever_served = 1;
      if (++served == nclients && !ready) {
        ready = 1;
        printf("ready connections=%u\n", nclients);
        fflush(stdout);
      }
    }
  }
  c->seq++;
  /* The echo can arrive before libuv has reported the write done; msg stays
   * untouched until it has. */
  if (c->writing)
    c->replied = 1;
  else
    send_message(c, 0);
}

static void on_write(uv_write_t *req, int status) {
  struct client *c = req->data;
  c->writing = 0;
  /* Cancelled because the connection was closed, which is counted already. */
  if (status == UV_ECANCELED || stopping || c->dropped)
    return;
  if (status < 0) {
    lose(c, "write", status);
    return;
  }
  if (c->replied)
    send_message(c, 0);
}

/* Every message differs from the one before it at every byte, so an echo
 * of stale or misplaced bytes is caught. */
static void send_message(struct client *c, int resend) {
  for (size_t i = 0; i < msgsize; i++)
    c->msg[i] = (char)(c->seq + c->id * 7 + i * 31);
  if (!resend)
    c->sent_ns = uv_hrtime();
  c->got = 0;
  c->replied = 0;
  uv_buf_t b = uv_buf_init(c->msg, (unsigned)msgsize);
  int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  if (n == (int)msgsize)
    return;
  if (n < 0 && n != UV_EAGAIN) {
    lose(c, "write", n);
    return;
  }
  size_t done = n > 0 ? (size_t)n : 0;
  b = uv_buf_init(c->msg + done, (unsigned)(msgsize - done));
  int err = uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, on_write);
  if (err < 0) {
    lose(c, "write", err);
    return;
  }
  c->writing = 1;
}

static void on_connect(uv_connect_t *req, int status) {
  struct client *c = req->data;
  if (stopping || c->dropped)
    return;
  if (status < 0) {
    lose(c, "connect", status);
    return;
  }
  if (c->ever_served)
    st.reconnects++;
  c->established = 1;
  c->fresh = 1;
  uv_tcp_nodelay(&c->tcp, 1);
  int err = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  if (err < 0) {
    lose(c, "read", err);
    return;
  }
  /* A new message only if none was in flight: a lost one goes again. */
  send_message(c, c->sent_ns != 0);
}

static void start_connect(struct client *c) {
  uv_tcp_init(loop, &c->tcp);
  c->tcp.data = c;
  c->writing = 0;
  c->dropped = 0;
  c->established = 0;
  int err = uv_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&addr,
                           on_connect);
  if (err < 0)
    lose(c, "connect", err);
}

static double ms(uint64_t ns) { return (double)ns / 1e6; }

static double percentile(double p) {
  unsigned long long n = 0, want;
  for (unsigned i = 0; i < LAT_BUCKETS; i++)
    n += st.lat[i];
  if (n == 0)
    return 0;
  want = (unsigned long long)((double)n * p);
  if (want >= n)
    want = n - 1;
  unsigned long long seen = 0;
  for (unsigned i = 0; i < LAT_BUCKETS; i++) {
    seen += st.lat[i];
    if (seen > want)
      return ms((i + 1) * LAT_BUCKET_NS); /* the bucket's upper bound */
  }
  return ms(st.stall_ns);
}

static void report(const char *prefix) {
  uint64_t now = uv_hrtime();
  double elapsed = (double)(now - st.start_ns) / 1e9;
  unsigned live = 0;
  for (unsigned i = 0; i < nclients; i++)
    live += clients[i].established && !clients[i].fresh;
  /* An outage still open counts up to now, as one not yet over. */
  uint64_t down = st.down_ns, longest = st.longest_down_ns;
  if (outage_open) {
    down += now - outage_start_ns;
    if (now - outage_start_ns > longest)
      longest = now - outage_start_ns;
  }
  printf("%s%sround_trips=%llu rps=%.1f lat_p50_ms=%.2f lat_p99_ms=%.2f "
         "stall_ms=%.2f drops=%llu eofs=%llu resets=%llu other_drops=%llu "
         "connect_failures=%llu reconnects=%llu mismatched=%llu outages=%llu "
         "down_ms=%.2f longest_down_ms=%.2f live=%u seconds=%.2f\n",
         prefix, *prefix ? " " : "", st.round_trips,
         elapsed > 0 ? (double)st.round_trips / elapsed : 0.0, percentile(0.5),
         percentile(0.99), ms(st.stall_ns), st.drops, st.eofs, st.resets,
         st.other_drops, st.connect_failures, st.reconnects, st.mismatched,
         st.outages + (outage_open ? 1 : 0), ms(down), ms(longest), live,
         elapsed);
  fflush(stdout);
}

static void stop(void) {
  if (stopping)
    return;
  report("");
  stopping = 1;
  for (unsigned i = 0; i < nclients; i++) {
    struct client *c = &clients[i];
    if (!uv_is_closing((uv_handle_t *)&c->tcp))
      uv_close((uv_handle_t *)&c->tcp, NULL);
    uv_close((uv_handle_t *)&c->retry, NULL);
  }
  uv_close((uv_handle_t *)&deadline, NULL);
  uv_close((uv_handle_t *)&sig_term, NULL);
  uv_close((uv_handle_t *)&sig_int, NULL);
  uv_close((uv_handle_t *)&sig_usr1, NULL);
}

static void on_deadline(uv_timer_t *timer) {
  (void)timer;
  stop();
}

static void on_signal(uv_signal_t *handle, int signum) {
  (void)handle;
  if (signum != SIGUSR1) {
    stop();
    return;
  }
  report("baseline");
  /* Messages in flight keep their send time: a stall that spans the reset
   * is counted whole in the new period. */
  int open = outage_open;
  memset(&st, 0, sizeof st);
  st.start_ns = uv_hrtime();
  if (open)
    outage_start_ns = st.start_ns;
}

static int parse_number(const char *s, double min, double max, double *out) {
  char *end;
  double v = strtod(s, &end);
  if (*s == '\0' || *end != '\0' || !(v >= min && v <= max))
    return -1;
  *out = v;
  return 0;
}

static int usage(void) {
  fprintf(stderr, "usage: reload-client [-r] [-i MS] HOST PORT CONNECTIONS "
                  "SECONDS MSGSIZE\n");
  return 2;
}

int main(int argc, char **argv) {
  int opt;
  double v;
  while ((opt = getopt(argc, argv, "ri:")) != -1) {
    if (opt == 'r') {
      reconnect = 1;
    } else if (opt == 'i' && parse_number(optarg, 1, 10000, &v) == 0) {
      retry_ms = (uint64_t)v;
    } else {
      return usage();
    }
  }
  argc -= optind;
  argv += optind;
  double port, conns, seconds, size;
  if (argc != 5)
    return usage();
  if (parse_number(argv[1], 1, 65535, &port) < 0 ||
      parse_number(argv[2], 1, 10000, &conns) < 0 ||
      parse_number(argv[3], 0.001, 3600, &seconds) < 0 ||
      parse_number(argv[4], 1, 16 * 1024 * 1024, &size) < 0) {
    fprintf(stderr, "reload-client: PORT 1-65535, CONNECTIONS 1-10000, "
                    "SECONDS up to 3600, MSGSIZE 1 to 16 MiB\n");
    return 2;
  }
  if (uv_ip4_addr(argv[0], (int)port, (struct sockaddr_in *)&addr) != 0 &&
      uv_ip6_addr(argv[0], (int)port, (struct sockaddr_in6 *)&addr) != 0) {
    fprintf(stderr, "reload-client: '%s' is not a numeric IP address\n",
            argv[0]);
    return 2;
  }
  nclients = (unsigned)conns;
  msgsize = (size_t)size;
  clients = calloc(nclients, sizeof *clients);
  char *msgs = malloc(nclients * msgsize);
  if (clients == NULL || msgs == NULL) {
    fprintf(stderr, "reload-client: out of memory\n");
    return 1;
  }

  /* A peer that resets is counted as a drop, not a death by SIGPIPE. */
  signal(SIGPIPE, SIG_IGN);
  loop = uv_default_loop();
  uv_timer_init(loop, &deadline);
  uv_timer_start(&deadline, on_deadline, (uint64_t)(seconds * 1000), 0);
  uv_signal_init(loop, &sig_term);
  uv_signal_start(&sig_term, on_signal, SIGTERM);
  uv_signal_init(loop, &sig_int);
  uv_signal_start(&sig_int, on_signal, SIGINT);
  uv_signal_init(loop, &sig_usr1);
  uv_signal_start(&sig_usr1, on_signal, SIGUSR1);
  st.start_ns = uv_hrtime();
  for (unsigned i = 0; i < nclients; i++) {
    struct client *c = &clients[i];
    c->id = i;
    c->msg = msgs + (size_t)i * msgsize;
    c->connect.data = c;
    c->write.data = c;
    uv_timer_init(loop, &c->retry);
    c->retry.data = c;
    start_connect(c);
  }
  uv_run(loop, UV_RUN_DEFAULT);

  int clean = uv_loop_close(loop) == 0;
  free(msgs);
  free(clients);
  if (!clean) {
    fprintf(stderr, "reload-client: handles left open at exit\n");
    return 1;
  }
  return total_mismatched > 0 || total_lost_without_r > 0 ? 1 : 0;
}
