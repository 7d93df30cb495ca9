# herald — build, run and test.
#
#   make run     install what is missing, build, start herald (+ a local Redis)
#   make test    install what is missing, build, run every test
#
# Plain GNU make. `make ASAN=1` builds the sanitizer variant into build/asan/,
# `V=1` shows the commands. CFLAGS/LDFLAGS may be overridden.

# The one version string: herald --version, the man page footer, the .deb.
VERSION   := 0.1.0

PKGS      := libwebsockets jansson hiredis openssl libsystemd
CC        ?= cc
CFLAGS    ?= -O2 -g
WARNINGS  := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes -Wformat=2
CPPFLAGS  += -D_GNU_SOURCE -Iserver -Iprotocols -MMD -MP
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ifeq ($(ASAN),1)
BUILD     := build/asan
CFLAGS    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS   += -fsanitize=address,undefined
else ifeq ($(TSAN),1)
BUILD     := build/tsan
CFLAGS    := -O1 -g -fno-omit-frame-pointer -fsanitize=thread
LDFLAGS   += -fsanitize=thread
else
BUILD     := build
endif

ifneq ($(V),1)
Q := @
endif

SERVER_SRCS   := $(wildcard server/*.c) $(wildcard protocols/*.c)
CORE_SRCS     := $(filter-out server/main.c,$(SERVER_SRCS))
SERVER_OBJS   := $(SERVER_SRCS:%.c=$(BUILD)/obj/%.o)
CORE_OBJS     := $(CORE_SRCS:%.c=$(BUILD)/obj/%.o)
BENCH_SRCS    := $(wildcard tests/bench/*.c)
BENCH_OBJS    := $(BENCH_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS     := $(wildcard tests/unit/test_*.c)
UNIT_BINS     := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all run test test-unit test-integration test-browser test-js test-fuzz test-bench bench fuzz clean deps asan tsan test-tsan demo \
	install uninstall deb test-ops demo-random test-examples

# make install / uninstall. herald finds its dashboard at ../share/herald/web
# from the directory of its binary (config.c), so the layout under PREFIX is
# fixed; DESTDIR stages it (a package, the tests). UNITDIR: systemd looks in
# /usr/local/lib/systemd/system too; the .deb uses /lib/systemd/system.
PREFIX    ?= /usr/local
BINDIR     = $(PREFIX)/bin
DATADIR    = $(PREFIX)/share/herald
MANDIR     = $(PREFIX)/share/man
UNITDIR   ?= $(PREFIX)/lib/systemd/system
# the unit reads /etc/default/herald whatever the prefix
SYSCONFDIR = /etc
WEB_FILES := $(wildcard web/*)

all: $(BUILD)/herald $(BUILD)/herald-bench

$(BUILD)/herald: $(SERVER_OBJS)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lev -lpthread

# herald-bench: the load generator (tests/bench/README.md)
$(BUILD)/herald-bench: $(BENCH_OBJS)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto)

# Only config.c prints the version; it is rebuilt when VERSION changes.
$(BUILD)/obj/server/config.o: CPPFLAGS += -DHERALD_VERSION='"$(VERSION)"'
$(BUILD)/obj/server/config.o: $(BUILD)/version-$(VERSION)

$(BUILD)/version-$(VERSION):
	@mkdir -p $(@D)
	@rm -f $(@D)/version-*
	@touch $@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(WARNINGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(CORE_OBJS)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $@")
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(WARNINGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lev -lpthread

# The sanitizer build the integration tests run against: from a plain make,
# build/asan/herald is made by a sub-make with ASAN=1.
ifneq ($(ASAN),1)
build/asan/herald: FORCE
	$(Q)$(MAKE) --no-print-directory ASAN=1 build/asan/herald
endif
asan: build/asan/herald

# The ThreadSanitizer build (make tsan): herald and the bus's threaded test.
ifneq ($(TSAN),1)
build/tsan/herald build/tsan/tests/test_bus: FORCE
	$(Q)$(MAKE) --no-print-directory TSAN=1 $@
endif
tsan: build/tsan/herald build/tsan/tests/test_bus
FORCE:

deps:
	$(Q)tests/install-deps.sh

node_modules/.package-lock.json: package-lock.json
	$(Q)npm ci --no-audit --no-fund
	@touch $@

run: deps all
	$(Q)tests/run-local.sh $(BUILD)/herald $(ARGS)

# The FastAPI Users API beside make run's herald (examples/users-api/README.md);
# demo-random: a Node publisher of random user events, once a second.
demo: deps
	$(Q)examples/users-api/demo.sh

demo-random:
	$(Q)node tests/demo/users_api.mjs

test: deps node_modules/.package-lock.json
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory test-ops
	$(Q)$(MAKE) --no-print-directory test-examples
	$(Q)$(MAKE) --no-print-directory test-bench
	$(Q)$(MAKE) --no-print-directory test-unit ASAN=1
	$(Q)$(MAKE) --no-print-directory build/asan/herald
	$(Q)$(MAKE) --no-print-directory test-js test-fuzz test-integration test-browser

test-unit: $(UNIT_BINS)
	$(Q)set -e; for t in $(UNIT_BINS); do echo "  UNIT    $$t"; $$t; done

test-js:
	$(Q)if [ -d tests/unit-js ]; then node --test tests/unit-js/; fi

# The whole suite with one worker and with two (the harness passes
# --workers from HERALD_TEST_WORKERS), then the cross-worker tests under
# ThreadSanitizer.
test-integration: build/asan/herald
	$(Q)HERALD_TEST_WORKERS=1 node --test --test-concurrency=2 tests/integration/
	$(Q)HERALD_TEST_WORKERS=2 node --test --test-concurrency=2 tests/integration/
	$(Q)$(MAKE) --no-print-directory test-tsan

test-tsan: tsan
	$(Q)TSAN_OPTIONS=halt_on_error=1:exitcode=68 build/tsan/tests/test_bus
	$(Q)HERALD_BIN=build/tsan/herald node --test tests/integration/workers.test.mjs

test-browser: build/asan/herald
	$(Q)if [ -d tests/browser ] && ls tests/browser/*.test.mjs >/dev/null 2>&1; then node --test tests/browser/; fi

# make install/uninstall, the systemd unit (systemd-analyze verify, sd_notify),
# the man page against --help, and make deb: tests/ops/*.test.sh.
test-ops: $(BUILD)/herald
	$(Q)rc=0; for t in tests/ops/*.test.sh; do \
		VERSION=$(VERSION) MAKE="$(MAKE)" sh $$t $(BUILD)/herald || rc=1; \
	done; exit $$rc

# The Go example's own tests (Debian's Go packages, GOPATH mode); the
# examples against herald are in tests/integration/users-api.test.mjs.
GO_EXAMPLE_ENV := GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE=$(CURDIR)/build/go-cache
test-examples:
	$(Q)if command -v go >/dev/null 2>&1; then \
		cd examples/users-api-go && $(GO_EXAMPLE_ENV) go vet . && $(GO_EXAMPLE_ENV) go test -count=1 .; \
	else echo "  skip    examples/users-api-go: go not found (make deps installs golang-go)"; fi

# A ~5 s smoke run of herald-bench against herald and its raw floor (no figures are judged).
test-bench: $(BUILD)/herald $(BUILD)/herald-bench
	$(Q)tests/bench/smoke.sh $(BUILD)/herald $(BUILD)/herald-bench

# Side by side with the peers of ../shared/peers: see docs/benchmarks.md.
bench: deps $(BUILD)/herald $(BUILD)/herald-bench
	$(Q)tests/bench/side_by_side.sh

FUZZ_SECONDS ?= 600

# libFuzzer targets (clang): each runs FUZZ_SECONDS s over a copy of its
# seed corpus; see tests/fuzz/README.md.
fuzz:
	$(Q)tests/fuzz/run.sh $(FUZZ_SECONDS)

# Fuzz smoke run for make test: every target for ~5 s.
test-fuzz:
	$(Q)tests/fuzz/run.sh 5

# The binary, the dashboard, the man page, the systemd unit, and
# /etc/default/herald when there is none yet (an admin's file is kept).
install: $(BUILD)/herald
	$(Q)install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/web \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/default
	$(Q)install -m 755 $(BUILD)/herald $(DESTDIR)$(BINDIR)/herald
	$(Q)install -m 644 $(WEB_FILES) $(DESTDIR)$(DATADIR)/web/
	$(Q)sed 's|@VERSION@|$(VERSION)|g' docs/herald.1 > $(DESTDIR)$(MANDIR)/man1/herald.1
	$(Q)sed 's|@BINDIR@|$(BINDIR)|g' dist/herald.service.in > $(DESTDIR)$(UNITDIR)/herald.service
	$(Q)chmod 644 $(DESTDIR)$(MANDIR)/man1/herald.1 $(DESTDIR)$(UNITDIR)/herald.service
	$(Q)if [ -e $(DESTDIR)$(SYSCONFDIR)/default/herald ]; then \
		echo "install: kept the existing $(DESTDIR)$(SYSCONFDIR)/default/herald"; \
	else install -m 644 dist/herald.default $(DESTDIR)$(SYSCONFDIR)/default/herald; fi
	@echo "installed herald $(VERSION) under $(DESTDIR)$(PREFIX)$(if $(DESTDIR),, (systemctl daemon-reload; systemctl enable --now herald))"

# /etc/default/herald goes only when it is still the example.
uninstall:
	$(Q)rm -f $(DESTDIR)$(BINDIR)/herald $(DESTDIR)$(MANDIR)/man1/herald.1 \
		$(DESTDIR)$(UNITDIR)/herald.service
	$(Q)rm -rf $(DESTDIR)$(DATADIR)/web
	$(Q)-rmdir $(DESTDIR)$(DATADIR) 2>/dev/null
	$(Q)if cmp -s dist/herald.default $(DESTDIR)$(SYSCONFDIR)/default/herald; then \
		rm -f $(DESTDIR)$(SYSCONFDIR)/default/herald; \
	elif [ -e $(DESTDIR)$(SYSCONFDIR)/default/herald ]; then \
		echo "uninstall: kept $(DESTDIR)$(SYSCONFDIR)/default/herald (changed)"; fi

# A Debian package of this build: $(BUILD)/herald_<version>_<arch>.deb.
deb: $(BUILD)/herald
	$(Q)rm -rf $(BUILD)/deb $(BUILD)/herald_*.deb
	$(Q)$(MAKE) --no-print-directory install PREFIX=/usr UNITDIR=/lib/systemd/system \
		DESTDIR=$(CURDIR)/$(BUILD)/deb/debian/herald >/dev/null
	$(Q)dist/mkdeb.sh $(BUILD)/deb $(VERSION) $(BUILD)

clean:
	rm -rf build

-include $(SERVER_OBJS:.o=.d) $(BENCH_OBJS:.o=.d) $(UNIT_BINS:%=%.d)
