# checkers/: mpp-check (see checkers/README.md), its fuzz targets and its
# benchmark. The checker is static, with no exceptions and no RTTI: it is
# started once per real server per delay_loop and must cost less than
# starting /bin/true.
CHECK_LIB_SRCS := checkers/check_args.cc checkers/checker.cc checkers/message.cc checkers/nagios.cc
CHECK_LIB_OBJS := $(CHECK_LIB_SRCS:%.cc=$(BUILD)/%.o)
CHECK_MAIN_OBJS := $(BUILD)/checkers/mpp_check_main.o
ALL_OBJS += $(CHECK_LIB_OBJS) $(CHECK_MAIN_OBJS)

EXTRA_CXXFLAGS_$(BUILD)/checkers := -fno-exceptions -fno-rtti

# The sanitizers need the dynamic loader: only the normal build is static.
ifeq ($(SANITIZE),1)
CHECK_STATIC :=
else
CHECK_STATIC := -static
endif

$(BUILD)/libmppcheck.a: $(CHECK_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/mpp-check: $(CHECK_MAIN_OBJS) $(BUILD)/libmppcheck.a $(BUILD)/libmppcommon.a
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $(CHECK_STATIC) -o $@ $^

BINARIES += $(BUILD)/bin/mpp-check

# The unit tests (tests/unit/checkers/) link the checker library.
UNIT_LIBS += $(BUILD)/libmppcheck.a

# libFuzzer targets, built with clang into build-fuzz/ and run for
# FUZZ_SECONDS each.
FUZZ_SECONDS ?= 60
FUZZ_BUILD := build-fuzz
FUZZ_FLAGS := -std=c++17 -O1 -g -I. -DMPP_VERSION='"$(VERSION)"' -fno-exceptions -fno-rtti \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_LIB_SRCS := $(CHECK_LIB_SRCS) common/address.cc common/decimal.cc common/names.cc common/state_reader.cc
FUZZ_TARGETS := $(FUZZ_BUILD)/checker_fuzz $(FUZZ_BUILD)/state_reader_fuzz

$(FUZZ_BUILD)/%_fuzz: tests/fuzz/%_fuzz.cc $(FUZZ_LIB_SRCS) $(wildcard checkers/*.h common/*.h)
	@mkdir -p $(@D)
	clang++ $(FUZZ_FLAGS) -o $@ $< $(FUZZ_LIB_SRCS)

.PHONY: fuzz-build bench-checker
fuzz-build: $(FUZZ_TARGETS)

fuzz: fuzz-build
	tests/fuzz/run $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: bench-checker
bench-checker: $(BUILD)/bin/mpp-check
	bench/checker/run $(BUILD)
