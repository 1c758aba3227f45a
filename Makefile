# cwagent — build, test and benchmark.
#
#   make            build build/cwagent
#   make run        start the local CloudWatch emulator (and the agent demo, once it exists)
#   make test       build and run every unit and end-to-end test; last line "N passed, N failed"
#   make check-asan the same suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench      benchmarks that print figures (never asserted)
#   make deps       install missing Debian packages (root) or print the command
#   make format     / format-check   clang-format every C file / check only
#
# Sources are found by wildcard: a new module file needs no Makefile edit. Unit tests are
# tests/unit/test_<name>.c; end-to-end tests are tests/e2e/test_*.py and tests/emulator/test_*.py.

CC       ?= cc
BUILD    ?= build
SANITIZE ?=
PYTHON   ?= /usr/bin/python3

PKGS      := libcurl openssl jansson zlib libpcre2-8 libsystemd libdeflate
# libsystemd is not linked: logtail/sdj.c loads it with dlopen when a journald source is set up
# (an agent without one does not map it and its dependencies); only its header is needed here.
LINK_PKGS := $(filter-out libsystemd,$(PKGS))
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(LINK_PKGS) 2>/dev/null || echo -lcurl -lssl -lcrypto -ljansson -lz -lpcre2-8 -ldeflate)

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
CFLAGS   ?= -O2 -g -fstack-protector-strong -D_FORTIFY_SOURCE=2
CPPFLAGS += -D_GNU_SOURCE -I. $(PKG_CFLAGS)
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) -MMD -MP
LDLIBS   += $(PKG_LIBS) -lm
LDFLAGS  += -Wl,-z,relro,-z,now

ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS    += -fsanitize=address,undefined
endif

LIB_SRCS  := $(filter-out agent/main.c,$(wildcard common/*.c sigv4/*.c collectors/*.c logtail/*.c config/*.c agent/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRCS := $(wildcard bench/bench_*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
C_FILES   := $(shell git ls-files -co --exclude-standard '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')

DEB_PKGS := gcc clang make pkg-config libcurl4-openssl-dev libssl-dev libjansson-dev zlib1g-dev libpcre2-dev libdeflate-dev \
            python3 python3-botocore procps iproute2 sysstat openssl tinyproxy-bin \
            dpkg-dev lintian systemd shellcheck man-db libsystemd-dev systemd-journal-remote \
            python3-statsd collectd-core prometheus prometheus-node-exporter ethtool \
            logrotate chromium
# command:package pairs installed only when the command is missing (a NodeSource nodejs ships
# node and npm and conflicts with Debian's npm package).
DEB_CMDS := node:nodejs npm:npm

.SECONDARY:

.PHONY: all deps bench-deps run test test-only check-asan bench format format-check clean tests \
        torture

all: $(BUILD)/cwagent

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libcwagent.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/cwagent: $(BUILD)/obj/agent/main.o $(BUILD)/libcwagent.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/obj/tests/unit/t.o $(BUILD)/libcwagent.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BUILD)/libcwagent.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests: $(BUILD)/cwagent $(TEST_BINS)

# Installs what is missing when run as root; otherwise prints the exact command.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	for c in $(DEB_CMDS); do command -v $${c%%:*} >/dev/null || missing="$$missing $${c#*:}"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "deps: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
	  echo "deps: missing packages; run: sudo apt-get install -y$$missing"; exit 1; \
	fi

run: deps $(BUILD)/cwagent
	@tests/run_demo.sh $(BUILD)

test: deps
	@$(MAKE) --no-print-directory tests
	@PYTHON=$(PYTHON) tests/run.sh $(BUILD) $(T)

# Runs the suite without the deps step (CI and check-asan call it after deps).
test-only: tests
	@PYTHON=$(PYTHON) tests/run.sh $(BUILD) $(T)

check-asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 CFLAGS="-O1 -g" test-only

# The rotation torture test at the issue's size: Debian's logrotate, 150,000 lines per scenario
# (about 15 minutes). `make test` runs the same scenarios with 16,000 lines. TORTURE_LINES=N.
TORTURE_LINES ?= 150000
torture: deps $(BUILD)/cwagent
	@CW_REPO=$(CURDIR) CW_BUILD=$(CURDIR)/$(BUILD) CWAGENT=$(CURDIR)/$(BUILD)/cwagent PYTHONDONTWRITEBYTECODE=1 \
	  PYTHONPATH=$(CURDIR)/tests/lib $(PYTHON) tests/e2e/torture_rotation.py $(TORTURE_LINES)

# The logs throughput benchmark ships to nginx (a fast sink that is not the Python emulator).
BENCH_PKGS := nginx-light

bench-deps: deps
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(BENCH_PKGS)"

bench: bench-deps $(BUILD)/cwagent $(BENCH_BINS)
	@PYTHON=$(PYTHON) bench/run.sh $(BUILD)

# ---- fuzzing (tests/fuzz/README.md) ----
#   make fuzz [FUZZ_SECONDS=N] [FUZZ_TARGETS="fuzz_config ..."]   every tests/fuzz/fuzz_*.c target
# libFuzzer needs clang; the library is rebuilt instrumented (ASan + UBSan) in build-fuzz/.
FUZZ_SECONDS ?= 10
FUZZ_BUILD   ?= build-fuzz
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_TARGETS ?= $(FUZZ_SRCS:tests/fuzz/%.c=%)
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined

.PHONY: fuzz fuzz-build

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-build:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang CFLAGS="$(FUZZ_CFLAGS)" \
	  $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz/%)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/libcwagent.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -fsanitize=fuzzer,address,undefined $< $(BUILD)/libcwagent.a \
	  -o $@ $(LDLIBS)

format:
	clang-format -i $(C_FILES)

format-check:
	clang-format --dry-run -Werror $(C_FILES)

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- install and the Debian package (packaging/, docs/install.md) ----
#   make install [PREFIX=/usr] [DESTDIR=DIR]   binaries, man pages, systemd unit, /etc layout
#   make deb                                    build/cwagent_<version>_<arch>.deb (dpkg-deb)
PREFIX      ?= /usr
DESTDIR     ?=
UNITDIR     ?= /lib/systemd/system
INSTALL_BIN := $(DESTDIR)$(PREFIX)/bin
INSTALL_MAN := $(DESTDIR)$(PREFIX)/share/man/man1

.PHONY: install deb

install: $(BUILD)/cwagent
	install -d -m 0755 $(INSTALL_BIN) $(INSTALL_MAN) $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)/etc/cwagent/cwagent.d $(DESTDIR)/etc/default $(DESTDIR)$(PREFIX)/share/cwagent
	install -m 0755 $(BUILD)/cwagent $(INSTALL_BIN)/cwagent
	install -m 0644 packaging/cloudwatch-prices.json $(DESTDIR)$(PREFIX)/share/cwagent/
	sed 's|/usr/bin/cwagent|$(PREFIX)/bin/cwagent|' packaging/cwagent-ctl >$(INSTALL_BIN)/cwagent-ctl
	chmod 0755 $(INSTALL_BIN)/cwagent-ctl
	gzip -9n <packaging/man/cwagent.1 >$(INSTALL_MAN)/cwagent.1.gz
	gzip -9n <packaging/man/cwagent-ctl.1 >$(INSTALL_MAN)/cwagent-ctl.1.gz
	chmod 0644 $(INSTALL_MAN)/cwagent.1.gz $(INSTALL_MAN)/cwagent-ctl.1.gz
	sed 's|/usr/bin/cwagent|$(PREFIX)/bin/cwagent|' packaging/cwagent.service \
	  >$(DESTDIR)$(UNITDIR)/cwagent.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/cwagent.service
	test -e $(DESTDIR)/etc/default/cwagent || install -m 0600 packaging/cwagent.default \
	  $(DESTDIR)/etc/default/cwagent
	test -e $(DESTDIR)/etc/cwagent/common-config.toml || install -m 0644 \
	  packaging/common-config.toml $(DESTDIR)/etc/cwagent/common-config.toml
	install -d -m 0700 $(DESTDIR)/var/lib/cwagent

deb: $(BUILD)/cwagent
	rm -rf $(BUILD)/deb
	$(MAKE) --no-print-directory install DESTDIR=$(abspath $(BUILD))/deb/root PREFIX=/usr \
	  UNITDIR=/lib/systemd/system
	packaging/deb/build-deb.sh $(abspath $(BUILD))/deb/root $(abspath $(BUILD))
