# The peers of issue 3's benchmarks (tests/bench/net-peers): C limits for
# stdin counting and pass-through, an echo server on plain libuv, the echo
# load generator, and rusage (the counting process's own CPU time); and
# issue 6's reload-client (tests/bench/reload-peers: echo load through
# reloads and restarts, counting drops, wrong bytes and stalls); and issue
# 7's spawn-c (tests/bench/process-peers: the C floor for spawning) and
# issue 15's bigmsg-c (the same script: memcpy and a socketpair round trip
# of 64 MiB, the floors for big helper messages); and issue 17's tls-floor
# (a TLS echo server in C on libuv and OpenSSL, the floor) and tls-load (its
# load generator: handshakes, bulk bytes, echo), for tests/bench/tls-peers;
# and issue 19's ws-load (WebSocket echo and broadcast load, for
# tests/bench/ws-peers) and ws-floor (its C floor server).
# Included by the main Makefile, which defines BUILD, CC and CFLAGS;
# `make build/tests/bench/echo-uv` builds one, NET_PEERS_BIN names them all.

NET_PEERS_BIN := $(BUILD)/tests/bench/count $(BUILD)/tests/bench/pipecat \
  $(BUILD)/tests/bench/rusage $(BUILD)/tests/bench/echo-uv \
  $(BUILD)/tests/bench/echo-client $(BUILD)/tests/bench/reload-client \
  $(BUILD)/tests/bench/spawn-c $(BUILD)/tests/bench/bigmsg-c \
  $(BUILD)/tests/bench/tls-floor $(BUILD)/tests/bench/tls-load \
  $(BUILD)/tests/bench/ws-load $(BUILD)/tests/bench/ws-floor \
  $(BUILD)/tests/bench/store-floor

$(BUILD)/tests/bench/count $(BUILD)/tests/bench/pipecat \
$(BUILD)/tests/bench/rusage $(BUILD)/tests/bench/spawn-c \
$(BUILD)/tests/bench/bigmsg-c: \
$(BUILD)/tests/bench/%: tests/bench/%.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $<

$(BUILD)/tests/bench/echo-uv $(BUILD)/tests/bench/echo-client \
$(BUILD)/tests/bench/reload-client $(BUILD)/tests/bench/ws-load: \
$(BUILD)/tests/bench/%: tests/bench/%.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $< -luv

$(BUILD)/tests/bench/tls-floor $(BUILD)/tests/bench/tls-load \
$(BUILD)/tests/bench/ws-floor: \
$(BUILD)/tests/bench/%: tests/bench/%.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $< -luv -lssl -lcrypto

# With --http, both are tests/bench/http-peers' C floor (the answers' code).
$(BUILD)/tests/bench/echo-uv $(BUILD)/tests/bench/tls-floor: tests/bench/http-floor.h

# Issue 22's floor: raw LMDB and SQLite commits (tests/bench/store-peers).
$(BUILD)/tests/bench/store-floor: tests/bench/store-floor.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $< -llmdb -lsqlite3
