# MPP build. Non-recursive: each component adds its sources and binaries in
# its own module.mk; this file holds the flags and the targets of the contract
# (see README.md).
#
#   make            build everything          make check   unit tests (seconds)
#   make test       unit + integration + kernel tests (what CI runs)
#   make demo       three local MariaDB servers, mppstate, a failover
#   make bench      benchmarks (print figures)
#   make fuzz       libFuzzer targets (clang)  make install PREFIX=/usr DESTDIR=...
#   make deb / rpm  packages                   make clean
#   SANITIZE=1      ASan+UBSan build (in build-san/)

VERSION := $(shell cat VERSION)
NPROC := $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR = $(PREFIX)/sbin

CXX ?= g++
CC ?= gcc
ifeq ($(SANITIZE),1)
BUILD ?= build-san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# Unoptimised, with line tables for the sanitizers' reports: under ASan and
# UBSan, -O2 -g compiles about twelve times slower (CI's longest step), and
# the unit tests run in seconds either way.
OPT ?= -O0 -g1
else
BUILD ?= build
SANFLAGS =
endif

OPT ?= -O2 -g
WARN = -Wall -Wextra -Werror
CPPFLAGS += -I. -DMPP_VERSION='"$(VERSION)"' -MMD -MP
CXXFLAGS += -std=c++17 $(OPT) $(WARN) $(SANFLAGS)
CFLAGS += -std=c11 $(OPT) $(WARN) $(SANFLAGS)
LDFLAGS += $(SANFLAGS)

MYSQL_CFLAGS := $(shell mariadb_config --cflags 2>/dev/null || mysql_config --cflags 2>/dev/null)
MYSQL_LIBS := $(shell mariadb_config --libs 2>/dev/null || mysql_config --libs 2>/dev/null)
NL_CFLAGS := $(shell pkg-config --cflags libnl-genl-3.0 2>/dev/null)
NL_LIBS := $(shell pkg-config --libs libnl-genl-3.0 2>/dev/null)
INIH_LIBS := -linih

# Filled in by the module.mk files.
BINARIES :=
ALL_OBJS :=

.PHONY: all check test demo bench fuzz install deb rpm clean deps
all:

include common/module.mk
include config/module.mk
include core/module.mk
include cluster/module.mk
include metrics/module.mk
include mppstate/module.mk
include mppctl/module.mk
include keepalived/module.mk
include checkers/module.mk
include ipvs/module.mk
include tests/module.mk
include packaging/module.mk

all: $(BINARIES)

$(BUILD)/%.o: %.cc
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(EXTRA_CXXFLAGS_$(@D)) -c $< -o $@

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# Installs the Debian packages the build and the tests need (quick when
# nothing is missing).
deps:
	@scripts/install-deps

# Three local MariaDB servers, mppstate watching them, a failover to watch.
demo: deps
	$(MAKE) -j$(NPROC) all
	scripts/demo $(BUILD)

install: all
	install -d $(DESTDIR)$(SBINDIR)
	install -m 0755 $(BINARIES) $(DESTDIR)$(SBINDIR)/

clean:
	rm -rf build build-san build-fuzz

-include $(ALL_OBJS:.o=.d)
