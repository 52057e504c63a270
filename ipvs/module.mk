# ipvs/: mpp-ipvs, the daemon that follows the state file and sets IPVS
# weights over generic netlink. libnl stays inside libmppipvs.a and the
# binaries that link it; the plan (ipvs_plan.cc) is libnl-free so the unit
# tests can use it. The metrics page (ipvs_metrics.cc) is served by
# libmppmetrics.a.
IPVS_PURE_SRCS := ipvs/ipvs_types.cc ipvs/ipvs_plan.cc ipvs/ipvs_metrics.cc
IPVS_NL_SRCS := ipvs/ipvs_netlink.cc ipvs/state_watch.cc ipvs/ipvs_daemon.cc
IPVS_PURE_OBJS := $(IPVS_PURE_SRCS:%.cc=$(BUILD)/%.o)
IPVS_NL_OBJS := $(IPVS_NL_SRCS:%.cc=$(BUILD)/%.o)
IPVS_MAIN_OBJS := $(BUILD)/ipvs/mpp_ipvs_main.o
ALL_OBJS += $(IPVS_PURE_OBJS) $(IPVS_NL_OBJS) $(IPVS_MAIN_OBJS)

$(IPVS_NL_OBJS) $(IPVS_MAIN_OBJS): CPPFLAGS += $(NL_CFLAGS)

$(BUILD)/libmppipvs.a: $(IPVS_PURE_OBJS) $(IPVS_NL_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/mpp-ipvs: $(IPVS_MAIN_OBJS) $(BUILD)/libmppipvs.a $(BUILD)/libmppmetrics.a $(BUILD)/libmppconfig.a \
  $(BUILD)/libmppcommon.a
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $^ $(NL_LIBS) $(INIH_LIBS) $(MHD_LIBS)

BINARIES += $(BUILD)/bin/mpp-ipvs

# The unit tests of the plan (tests/unit/ipvs/*_test.cc) link the archive;
# they use only its libnl-free objects, so they need no libnl.
UNIT_LIBS += $(BUILD)/libmppipvs.a

# Test-only tools (never installed): mpp-write-state writes a state file
# with the project's own writer from a compact description; the benchmark
# measures state file -> kernel latency in the guest.
IPVS_TEST_OBJS := $(BUILD)/tests/ipvs/write_state.o $(BUILD)/bench/ipvs/ipvs_bench.o
ALL_OBJS += $(IPVS_TEST_OBJS)
$(BUILD)/bench/ipvs/ipvs_bench.o: CPPFLAGS += $(NL_CFLAGS)

$(BUILD)/tests/ipvs/mpp-write-state: $(BUILD)/tests/ipvs/write_state.o $(MPPSTATE_LIBS)
	$(CXX) $(LDFLAGS) -o $@ $^ $(INIH_LIBS)

$(BUILD)/bench/ipvs/mpp-ipvs-bench: $(BUILD)/bench/ipvs/ipvs_bench.o $(BUILD)/libmppipvs.a $(MPPSTATE_LIBS)
	$(CXX) $(LDFLAGS) -o $@ $^ $(NL_LIBS) $(INIH_LIBS)


TEST_TOOLS += $(BUILD)/bin/mpp-ipvs $(BUILD)/tests/ipvs/mpp-write-state

.PHONY: ipvs-test-tools bench-ipvs test-ipvs
ipvs-test-tools: $(BUILD)/bin/mpp-ipvs $(BUILD)/tests/ipvs/mpp-write-state $(BUILD)/bench/ipvs/mpp-ipvs-bench

# Kernel tests of mpp-ipvs alone (`make test` runs them too: the suite
# registers itself in tests/ipvs/module.mk).
test-ipvs: ipvs-test-tools
	tests/ipvs/run $(BUILD)

bench: bench-ipvs
bench-ipvs: ipvs-test-tools
	bench/ipvs/run $(BUILD)
