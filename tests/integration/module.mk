# tests/integration/: the real-MariaDB suite (run by tests/integration/run)
# and its test-only program poll_probe, which polls nodes once and prints
# the results as JSON.

# The poller (mppstate/poller.cc, concurrent_poller.cc): the only part of
# mppstate that needs libmysqlclient, so it stays out of libmppcore.a.
POLLER_SRCS := mppstate/poller.cc mppstate/concurrent_poller.cc
POLLER_OBJS := $(POLLER_SRCS:%.cc=$(BUILD)/%.o)
ALL_OBJS += $(POLLER_OBJS)
$(POLLER_OBJS): CPPFLAGS += $(MYSQL_CFLAGS)

POLL_PROBE_OBJS := $(BUILD)/tests/integration/poll_probe.o
ALL_OBJS += $(POLL_PROBE_OBJS)

$(BUILD)/tests/poll_probe: $(POLL_PROBE_OBJS) $(POLLER_OBJS) $(BUILD)/libmppcore.a \
    $(BUILD)/libmppcommon.a
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $^ $(INIH_LIBS) $(MYSQL_LIBS) -lpthread

# tests/unit/poller_test.cc runs the poller without a server, so the unit
# test binary needs the poller and the client library. The libraries are
# named again after the poller objects: make appends these prerequisites
# after those of the rule with the recipe.
$(BUILD)/mpp_test: $(POLLER_OBJS)
$(BUILD)/mpp_test: INIH_LIBS := $(BUILD)/libmppcore.a $(BUILD)/libmppcommon.a $(INIH_LIBS) \
    $(MYSQL_LIBS) -lpthread
