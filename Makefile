# dv8 — a thin front end. Targets: deps all test soak bench format install image image-test
# clean.
# Knobs: SAN=address (AddressSanitizer and LeakSanitizer build in
# build-address/), SAN=undefined (UndefinedBehaviorSanitizer build in
# build-undefined/, findings fatal), DEBUG=1 (no optimisation),
# PREFIX=/usr/local (install), V=1 (show commands). Only dv8's code is
# instrumented, V8 (libnode) is not. `make test SAN=...` runs the whole suite
# against that build; .ci/run runs make test, then both sanitizer runs.

PREFIX ?= /usr/local
SAN ?=
DEBUG ?=

ifeq ($(SAN),)
BUILD := build
else
BUILD := build-$(SAN)
endif

LIBNODE := .deps/libnode
LIBNODE_LIB := $(LIBNODE)/usr/lib/x86_64-linux-gnu
LIBNODE_INC := $(LIBNODE)/usr/include/node

# Debian packages dv8 builds and tests with. libnode108's own runtime
# dependencies are listed because its .deb is unpacked, not installed.
DEB_PACKAGES := build-essential libuv1-dev libssl-dev libmsgpack-dev libhttp-parser-dev libwslay-dev \
  pkg-config clang-format python3 libicu72 libc-ares2 libnghttp2-14 libbrotli1 zlib1g \
  openssl testssl.sh wrk apache2-utils nginx-light chromium python3-msgpack ruby-msgpack \
  prometheus curl liblmdb-dev libsqlite3-dev

OPT := $(if $(DEBUG),-O0,-O2)
SANFLAGS := $(if $(SAN),-fsanitize=$(SAN) -fno-omit-frame-pointer)
ifeq ($(SAN),undefined)
# UBSan findings are fatal where they are compiled in
# (-fno-sanitize-recover), rather than through UBSAN_OPTIONS=halt_on_error=1:
# a finding then ends every process of this build, also one started with a
# cleaned environment (env -u, a helper process, an upgrade's new process)
# and one run by a test that expects a failure anyway. tests/run-all still
# sets UBSAN_OPTIONS, for stack traces and an exit status of UBSan's own.
# vptr is off: it checks a polymorphic object's dynamic type against the
# class's RTTI, and libnode (V8) is built with -fno-rtti: the check's
# references to V8's typeinfo (v8::ArrayBuffer::Allocator's) do not even
# link, and objects V8 makes carry no RTTI to check. GCC leaves
# float-cast-overflow (a double outside an integer type's range converted
# to it) out of -fsanitize=undefined: it is named here. GCC has no
# function-type check; clang's (-fsanitize=function, in its
# -fsanitize=undefined: make CC=clang CXX=clang++ SAN=undefined) builds and
# passes the suite with nothing to suppress: it checks indirect calls from
# C++ to C++ functions only, so neither V8 calling dv8's callbacks (V8 is
# not instrumented) nor contexts/ calling C functions (host/, modules)
# through pointers is checked.
SANFLAGS += -fsanitize=float-cast-overflow -fno-sanitize=vptr \
  -fno-sanitize-recover=undefined,float-cast-overflow
endif
WARN := -Wall -Wextra -Werror
CFLAGS := -std=c11 -D_GNU_SOURCE $(OPT) -g $(WARN) $(SANFLAGS) -fPIC \
  -Iinclude -I. -DDV8_PREFIX='"$(PREFIX)"'
# -fno-rtti as libnode is built: a class of ours deriving from one of V8's
# (contexts/isolate.cc's ArrayBuffer allocator) would otherwise need V8's
# typeinfo, which libnode does not export.
CXXFLAGS := -std=c++17 $(OPT) -g $(WARN) $(SANFLAGS) -fno-rtti -fPIC \
  -Iinclude -I. -isystem $(LIBNODE_INC)
# The binary finds libnode.so.108 in ../lib/dv8 when installed, and in the
# unpacked .deb when run from the build tree.
RPATH := -Wl,-rpath,'$$ORIGIN/../lib/dv8:$(abspath $(LIBNODE_LIB))'
LDLIBS := -L$(LIBNODE_LIB) -lnode -luv -lmsgpackc -lpthread -ldl
MODULE_LDFLAGS := -shared $(SANFLAGS) -fvisibility=hidden
# Libraries a module links beyond libuv (the platform's, from Debian).
MODULE_LIBS_crypto := -lcrypto
MODULE_LIBS_tls := -lssl -lcrypto
MODULE_LIBS_http := -lhttp_parser
MODULE_LIBS_ws := -lwslay -lcrypto
MODULE_LIBS_persist := -lsqlite3

Q := $(if $(V),,@)

# Host code without contexts/ (the C unit tests link it).
HOST_SRC := host/errors.c host/metrics.c host/handles.c host/modules.c host/elf.c host/runtime.c \
  host/channel.c host/fdpass.c serdes/serdes.c
# Host code that drives contexts/ (not linked into the C unit tests).
THREAD_SRC := host/thread.c host/control.c host/control_client.c host/signals.c \
  host/inherit.c host/upgrade.c host/takeover.c host/crash.c host/repl.c host/reload.c \
  host/watch.c host/watchdog.c host/spin.c host/metrics_http.c host/notify.c host/init.c
CONTEXT_SRC := contexts/isolate.cc contexts/context.cc contexts/loader.cc \
  contexts/api.cc contexts/thread.cc contexts/reload.cc contexts/repl.cc
JS_SRC := contexts/bootstrap.js contexts/inspect.js contexts/repl.js \
  contexts/thread.js contexts/helper.js contexts/web.js contexts/url.js serdes/serdes.js
MODULES := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard modules/*/*.c)))))
TEST_MODULES := $(basename $(notdir $(wildcard tests/modules/*.c)))
UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/*/*.c))

HOST_OBJ := $(HOST_SRC:%.c=$(BUILD)/obj/%.o)
CONTEXT_OBJ := $(CONTEXT_SRC:%.cc=$(BUILD)/obj/%.o) $(BUILD)/obj/contexts/js_sources.o
THREAD_OBJ := $(THREAD_SRC:%.c=$(BUILD)/obj/%.o)
CORE_OBJ := $(HOST_OBJ) $(THREAD_OBJ) $(CONTEXT_OBJ)

DV8 := $(BUILD)/dv8
MODULE_SO := $(MODULES:%=$(BUILD)/lib/dv8/%.so)
TEST_MODULE_SO := $(TEST_MODULES:%=$(BUILD)/tests/modules/%.so)
UNIT_BIN := $(UNIT_TESTS:%=$(BUILD)/tests/unit/%)
BENCH_BIN := $(BUILD)/tests/bench/timeit $(BUILD)/tests/bench/context \
  $(BUILD)/tests/bench/libnode-floor
# Programs the tests drive dv8 with (tests/tools/*.c, plain C).
TOOL_BIN := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(wildcard tests/tools/*.c))

.PHONY: image image-deps image-test fuzz-http all deps test test-unit test-js test-shell soak bench format \
  format-check install clean demo fuzz

all: $(DV8) $(MODULE_SO)

# $(call apt_install,WHO,PACKAGES): installs those of PACKAGES that are not
# installed yet (Debian's), saying so as WHO.
apt_install = missing=$$(for p in $(2); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
	  echo "$(1): installing $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi

# Container images (docker/README.md): podman, runc and mmdebstrap are
# installed by these targets only (make test does not use them).
IMAGE_PACKAGES := podman runc mmdebstrap
image-deps: deps
	@$(call apt_install,image,$(IMAGE_PACKAGES))
image: image-deps all
	@BUILD=$(BUILD) docker/build
image-test: image
	@docker/test

$(LIBNODE_LIB)/libnode.so.108:
	@echo "dv8: V8 (Debian's libnode) is not unpacked yet: run 'make deps' first" >&2
	@exit 1

deps:
	@$(call apt_install,deps,$(DEB_PACKAGES))
	@if [ ! -e $(LIBNODE_LIB)/libnode.so.108 ] || [ ! -e $(LIBNODE_INC)/v8.h ]; then \
	  echo "deps: fetching libnode108 and libnode-dev (unpacked into $(LIBNODE))"; \
	  rm -rf .deps/debs && mkdir -p .deps/debs && cd .deps/debs && \
	  { apt-get download libnode108 libnode-dev 2>/dev/null || \
	    { apt-get update -qq && apt-get download libnode108 libnode-dev; }; } && \
	  for d in *.deb; do dpkg-deb -x $$d ../libnode || exit 1; done; \
	fi
	@# The web-platform-tests' URL data (tests/url/wpt.mjs), as Debian ships
	@# it in rust-url's sources: test input, never part of dv8.
	@if [ ! -e .deps/wpt-url/urltestdata.json ]; then \
	  echo "deps: fetching librust-url-dev for the URL test data (into .deps/wpt-url)"; \
	  rm -rf .deps/wpt-url && mkdir -p .deps/wpt-url/deb && cd .deps/wpt-url/deb && \
	  { apt-get download librust-url-dev 2>/dev/null || \
	    { apt-get update -qq && apt-get download librust-url-dev; }; } && \
	  dpkg-deb -x librust-url-dev_*.deb x && \
	  cp x/usr/share/cargo/registry/url-*/tests/urltestdata.json \
	     x/usr/share/cargo/registry/url-*/tests/setters_tests.json .. && \
	  cd .. && rm -rf deb; \
	fi
	@# Test peers from npm (tests/peers/package.json): run beside dv8 in
	@# tests and benchmarks, never part of it. node and npm are on the machine.
	@# Without npm (a build machine, an image's build) dv8 builds all the
	@# same: only the tests and benchmarks that use these peers need them.
	@if ! command -v npm >/dev/null; then \
	  echo "deps: npm is not here: the npm test peers are not installed (make test needs them)"; \
	elif [ ! -e tests/peers/node_modules/.package-lock.json ] || \
	    [ tests/peers/package-lock.json -nt tests/peers/node_modules/.package-lock.json ]; then \
	  echo "deps: installing the npm test peers into tests/peers/node_modules"; \
	  cd tests/peers && npm ci --ignore-scripts --omit=optional --no-audit --no-fund --loglevel=error >/dev/null || exit 1; \
	fi
	@echo "deps: ok"

$(DV8): $(BUILD)/obj/host/main.o $(CORE_OBJ) | $(LIBNODE_LIB)/libnode.so.108
	@mkdir -p $(@D)
	$(Q)$(CXX) $(SANFLAGS) -o $@ $^ $(RPATH) $(LDLIBS)
	@echo "  LINK  $@"

$(BUILD)/obj/%.o: %.c $(wildcard host/*.h serdes/*.h) include/dv8.h
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: %.cc $(wildcard contexts/*.h host/*.h) include/dv8.h | $(LIBNODE_LIB)/libnode.so.108
	@mkdir -p $(@D)
	@echo "  C++   $<"
	$(Q)$(CXX) $(CXXFLAGS) -c -o $@ $<

$(BUILD)/obj/contexts/js_sources.o: contexts/js_sources.S $(JS_SRC)
	@mkdir -p $(@D)
	$(Q)$(CC) -c -o $@ $<

$(BUILD)/lib/dv8/%.so: modules/%/*.c $(wildcard modules/*/*.h) $(wildcard modules/*/*.js) include/dv8.h include/dv8_net.h
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -fvisibility=hidden $(MODULE_LDFLAGS) -o $@ $(filter %.c,$^) -luv $(MODULE_LIBS_$*)

# http.so also holds its message reader.
$(BUILD)/lib/dv8/http.so: modules/http/parser/reader.c modules/http/parser/reader.h

$(BUILD)/tests/modules/%.so: tests/modules/%.c include/dv8.h
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -fvisibility=hidden $(MODULE_LDFLAGS) -o $@ $< -luv

# The http module's message reader, on its own (no host needed).
$(BUILD)/tests/unit/http/%: tests/unit/http/%.c tests/unit/unit.h modules/http/parser/reader.c modules/http/parser/reader.h
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests/unit -Imodules/http/parser -o $@ $< modules/http/parser/reader.c $(SANFLAGS) -lhttp_parser

$(BUILD)/tests/unit/%: tests/unit/%.c tests/unit/unit.h $(HOST_OBJ)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(HOST_OBJ) $(SANFLAGS) -luv -lmsgpackc -ldl -lpthread

$(BUILD)/tests/tools/%: tests/tools/%.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $<

$(BUILD)/tests/bench/timeit: tests/bench/timeit.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $<

$(BUILD)/tests/bench/libnode-floor: tests/bench/libnode-floor.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $< -Wl,--no-as-needed $(RPATH) -L$(LIBNODE_LIB) -lnode

$(BUILD)/tests/bench/context: $(BUILD)/obj/tests/bench/context.o $(CORE_OBJ)
	@mkdir -p $(@D)
	$(Q)$(CXX) $(SANFLAGS) -o $@ $^ $(RPATH) $(LDLIBS)

$(BUILD)/obj/tests/bench/context.o: tests/bench/context.c $(wildcard host/*.h contexts/*.h)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

include tests/bench/peers.mk
BENCH_BIN += $(NET_PEERS_BIN)

# The whole suite: unit tests, JS tests, shell tests; one summary line.
test: deps
	@$(MAKE) --no-print-directory all test-binaries SAN=$(SAN) DEBUG=$(DEBUG)
	@BUILD=$(BUILD) SAN=$(SAN) tests/run-all

test-binaries: $(TEST_MODULE_SO) $(UNIT_BIN) $(TOOL_BIN)

# The long runs make test keeps short: a million connections to the echo
# example, ten million timers, RSS sampled (tests/soak/run; some minutes).
soak: deps
	@$(MAKE) --no-print-directory all $(TOOL_BIN)
	@BUILD=$(BUILD) tests/soak/run

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@# node's side of the persistence bench: better-sqlite3, built from
	@# source by npm (about 2 minutes, once); the bench says when it is not.
	@[ -d .deps/npm/node_modules/better-sqlite3 ] || ! command -v npm >/dev/null || \
	  npm install --prefix .deps/npm better-sqlite3@12.11.1 --no-audit --no-fund --loglevel=error >/dev/null || \
	  echo "bench: better-sqlite3 did not install: persist-peers runs without node"
	@BUILD=$(BUILD) tests/bench/run

# The main demo: a chat server reloaded live as its file is edited (runs
# until Ctrl-C; examples/reload/chat.js says how to connect and what to edit).
demo: deps
	@$(MAKE) --no-print-directory all SAN=$(SAN) DEBUG=$(DEBUG)
	$(DV8) --watch examples/reload/chat.js

format:
	clang-format -i $$(git ls-files --cached --others --exclude-standard '*.c' '*.h' '*.cc')

format-check:
	@clang-format --dry-run -Werror $$(git ls-files --cached --others --exclude-standard '*.c' '*.h' '*.cc')

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/dv8 $(DESTDIR)$(PREFIX)/include
	install -m 755 $(DV8) $(DESTDIR)$(PREFIX)/bin/dv8
	install -m 644 $(MODULE_SO) $(DESTDIR)$(PREFIX)/lib/dv8/
	install -m 644 $(LIBNODE_LIB)/libnode.so.108 $(DESTDIR)$(PREFIX)/lib/dv8/
	install -m 644 include/dv8.h include/dv8_net.h $(DESTDIR)$(PREFIX)/include/

clean:
	rm -rf build build-*

# libFuzzer target for serdes.decode (tests/fuzz/serdes-fuzz.cc); needs
# clang and libFuzzer (Debian: clang, libclang-rt-14-dev), which make test
# does not. FUZZ_SECONDS=N make fuzz runs it over tests/serdes/corpus.
FUZZ_BIN := $(BUILD)/tests/fuzz/serdes-fuzz
FUZZ_SECONDS ?= 0
fuzz: $(FUZZ_BIN)
	@if [ "$(FUZZ_SECONDS)" -gt 0 ]; then \
	  mkdir -p $(BUILD)/fuzz-corpus && \
	  $(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 -timeout=5 \
	    -max_len=4096 -print_final_stats=1 $(BUILD)/fuzz-corpus tests/serdes/corpus; \
	fi

# The http module's message reader: `FUZZ_SECONDS=60 make fuzz-http`.
FUZZ_HTTP_BIN := $(BUILD)/tests/fuzz/http-reader-fuzz
fuzz-http: $(FUZZ_HTTP_BIN)
	@if [ "$(FUZZ_SECONDS)" -gt 0 ]; then \
	  mkdir -p $(BUILD)/fuzz-http-corpus && \
	  $(FUZZ_HTTP_BIN) -max_total_time=$(FUZZ_SECONDS) -timeout=5 -max_len=2048 \
	    -print_final_stats=1 $(BUILD)/fuzz-http-corpus; \
	fi

$(FUZZ_HTTP_BIN): tests/fuzz/http-reader-fuzz.c modules/http/parser/reader.c modules/http/parser/reader.h
	@command -v clang >/dev/null || { echo "fuzz-http: clang is needed (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
	@mkdir -p $(@D)
	$(Q)clang -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=fuzzer,address,undefined -Imodules/http/parser \
	  -o $@ $< modules/http/parser/reader.c -lhttp_parser
	@echo "  FUZZ  $@"

# serdes/serdes.c is compiled into it with coverage: the C walker is fuzzed
# beside the JS decoder (and must accept whatever the decoder accepts).
FUZZ_OBJ := $(filter-out $(BUILD)/obj/serdes/serdes.o,$(CORE_OBJ))
$(FUZZ_BIN): tests/fuzz/serdes-fuzz.cc serdes/serdes.c $(FUZZ_OBJ) $(wildcard contexts/*.h host/*.h serdes/*.h)
	@command -v clang++ >/dev/null || { echo "fuzz: clang++ is needed (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
	@mkdir -p $(@D)
	$(Q)clang -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=fuzzer-no-link,address -Iinclude -I. \
	  -c -o $(@D)/serdes.o serdes/serdes.c
	$(Q)clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address -Iinclude -I. -isystem $(LIBNODE_INC) \
	  -o $@ $< $(@D)/serdes.o $(FUZZ_OBJ) $(RPATH) $(LDLIBS)
	@echo "  FUZZ  $@"
