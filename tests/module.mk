# tests/: unit tests (doctest; tests/unit/FOLDER/UNIT_test.cc tests FOLDER/UNIT.cc), and the
# suites that run real programs: each suite is a directory with a `run`
# script that takes the build directory, prints "N passed, N failed" and
# exits non-zero on failure.

# The suites' own module.mk files add test-only programs to TEST_TOOLS; read
# them before the rules below use the variable.
TEST_TOOLS ?=
-include $(wildcard tests/*/module.mk)

UNIT_SRCS := $(wildcard tests/unit/*/*_test.cc) tests/unit/main.cc
UNIT_OBJS := $(UNIT_SRCS:%.cc=$(BUILD)/%.o)
ALL_OBJS += $(UNIT_OBJS)

# Libraries other components add for their unit tests (e.g. libmppipvs.a).
UNIT_LIBS ?=
UNIT_SYSLIBS ?=
$(BUILD)/mpp_test: $(UNIT_OBJS) $(MPPSTATE_LIBS) $(UNIT_LIBS)
	$(CXX) $(LDFLAGS) -o $@ $(UNIT_OBJS) $(UNIT_LIBS) $(MPPSTATE_LIBS) \
	  $(INIH_LIBS) $(MYSQL_LIBS) $(UNIT_SYSLIBS) -lpthread

# Built here with -j, like `make test`, the archives the architecture checks
# read included: the ASan+UBSan build is the slowest step of CI when any of
# it runs on one core.
check:
	$(MAKE) -j$(NPROC) $(BUILD)/mpp_test core-purity check-layout
	$(BUILD)/mpp_test

# The suites `make test` runs, in this order: the quick ones first. Joined
# by "+": run at the same time (both mostly wait on servers).
SUITES := checker fuzz integration+cluster chaos kernel ipvs lab package

test: deps
	$(MAKE) -j$(NPROC) all $(BUILD)/mpp_test test-tools
	tests/run-all $(BUILD) $(SUITES)

.PHONY: test-tools
test-tools: $(TEST_TOOLS)

# The architecture, checked: no folder includes one it may not use
# (scripts/check-layout), and the core makes no system call (core-purity in
# core/module.mk).
.PHONY: check-layout
check-layout:
	scripts/check-layout

