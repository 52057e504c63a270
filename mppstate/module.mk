# mppstate/: the daemon, mppctl, and the pure evaluation core they share.
# libmppcore.a has no libmysqlclient: the unit tests link it alone.
CORE_SRCS := mppstate/config.cc mppstate/credentials.cc mppstate/poll_result.cc \
  mppstate/evaluation.cc mppstate/state_writer.cc mppstate/status_format.cc mppstate/notifier.cc \
  mppstate/checkpoints.cc mppstate/logger.cc
CORE_OBJS := $(CORE_SRCS:%.cc=$(BUILD)/%.o)
ALL_OBJS += $(CORE_OBJS)

$(BUILD)/libmppcore.a: $(CORE_OBJS)
	rm -f $@ && ar rcs $@ $^

# The poller: the only part that needs libmysqlclient.
POLLER_SRCS := mppstate/poller.cc mppstate/concurrent_poller.cc mppstate/fencing.cc
POLLER_OBJS := $(POLLER_SRCS:%.cc=$(BUILD)/%.o)
ALL_OBJS += $(POLLER_OBJS)
$(POLLER_OBJS): CPPFLAGS += $(MYSQL_CFLAGS)

$(BUILD)/libmppmysql.a: $(POLLER_OBJS)
	rm -f $@ && ar rcs $@ $^

MPPSTATE_SRCS := mppstate/mppstate_main.cc mppstate/daemon.cc
MPPSTATE_OBJS := $(MPPSTATE_SRCS:%.cc=$(BUILD)/%.o)
ALL_OBJS += $(MPPSTATE_OBJS)

$(BUILD)/bin/mppstate: $(MPPSTATE_OBJS) $(BUILD)/libmppcore.a $(BUILD)/libmppmysql.a $(BUILD)/libmppcommon.a
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $^ $(INIH_LIBS) $(MYSQL_LIBS) -lpthread

BINARIES += $(BUILD)/bin/mppstate

MPPCTL_SRCS := mppstate/mppctl_main.cc
MPPCTL_OBJS := $(MPPCTL_SRCS:%.cc=$(BUILD)/%.o)
ALL_OBJS += $(MPPCTL_OBJS)

$(BUILD)/bin/mppctl: $(MPPCTL_OBJS) $(BUILD)/libmppkeepalived.a $(BUILD)/libmppcore.a $(BUILD)/libmppcommon.a
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $^ $(INIH_LIBS)

BINARIES += $(BUILD)/bin/mppctl

.PHONY: bench-failover
bench: bench-failover
bench-failover: $(BUILD)/bin/mppstate
	bench/failover/run $(BUILD)
