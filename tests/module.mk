# tests/: unit tests (doctest, linked against the core libraries), and the
# suites that run real programs: each suite is a directory with a `run`
# script that prints "N passed, N failed" and exits non-zero on failure.
UNIT_SRCS := $(wildcard tests/unit/*_test.cc) tests/unit/main.cc
UNIT_OBJS := $(UNIT_SRCS:%.cc=$(BUILD)/%.o)
ALL_OBJS += $(UNIT_OBJS)

$(BUILD)/mpp_test: $(UNIT_OBJS) $(BUILD)/libmppcore.a $(BUILD)/libmppcommon.a
	$(CXX) $(LDFLAGS) -o $@ $^ $(INIH_LIBS)

check: $(BUILD)/mpp_test
	$(BUILD)/mpp_test

# Suites run in this order by `make test`; each one is skipped only if its
# directory has no run script yet.
SUITES :=

test: deps
	$(MAKE) all $(BUILD)/mpp_test
	tests/run-all $(BUILD) $(SUITES)
