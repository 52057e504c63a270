# tests/integration/: the real-MariaDB suite (run by tests/integration/run)
# and its test-only program poll_probe, which polls nodes once and prints
# the results as JSON. Not installed.
POLL_PROBE_OBJS := $(BUILD)/tests/integration/poll_probe.o
ALL_OBJS += $(POLL_PROBE_OBJS)

$(BUILD)/tests/poll_probe: $(POLL_PROBE_OBJS) $(MPPSTATE_LIBS)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $^ $(INIH_LIBS) $(MYSQL_LIBS) -lpthread
TEST_TOOLS += $(BUILD)/tests/poll_probe
