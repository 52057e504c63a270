# tests/integration/: the real-MariaDB suite (run by tests/integration/run)
# and its test-only programs: poll_probe, which polls nodes once and prints
# the results as JSON, and topology_probe, which runs one step of
# mppstate/topology_steps.h and prints its outcome. Not installed.
POLL_PROBE_OBJS := $(BUILD)/tests/integration/poll_probe.o
ALL_OBJS += $(POLL_PROBE_OBJS)

$(BUILD)/tests/poll_probe: $(POLL_PROBE_OBJS) $(MPPSTATE_LIBS)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $^ $(INIH_LIBS) $(MYSQL_LIBS) $(CURL_LIBS) -lpthread
TEST_TOOLS += $(BUILD)/tests/poll_probe

TOPOLOGY_PROBE_OBJS := $(BUILD)/tests/integration/topology_probe.o
ALL_OBJS += $(TOPOLOGY_PROBE_OBJS)

$(BUILD)/tests/topology_probe: $(TOPOLOGY_PROBE_OBJS) $(MPPSTATE_LIBS)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $^ $(INIH_LIBS) $(MYSQL_LIBS) $(CURL_LIBS) -lpthread
TEST_TOOLS += $(BUILD)/tests/topology_probe
