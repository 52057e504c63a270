# mppstate/: the daemon: the poll loop, the control server, the poller (the
# only user of libmysqlclient), the topology worker and its steps (the
# databases follow the decision), the notify hook, checkpoints, the
# logger, the state file writer and the metrics page (served by metrics/).
# libmppstate.a holds all but main(), for the unit tests and the test
# tools. A director pair's session with etcd is in cluster/.
MPPSTATE_LIB_SRCS := mppstate/daemon.cc mppstate/node_holdings.cc mppstate/node_rewind.cc mppstate/tail_seal.cc mppstate/poller.cc mppstate/event_poller.cc mppstate/node_poll.cc \
  mppstate/notifier.cc mppstate/checkpoints.cc mppstate/logger.cc \
  mppstate/state_writer.cc mppstate/control_server.cc mppstate/state_dir_lock.cc mppstate/mysql_connect.cc \
  mppstate/restart_memory.cc mppstate/mysql_async.cc mppstate/director_pair.cc mppstate/poll_rows.cc \
  mppstate/topology_worker.cc mppstate/topology_follower.cc mppstate/topology_steps.cc mppstate/daemon_metrics.cc
MPPSTATE_LIB_OBJS := $(MPPSTATE_LIB_SRCS:%.cc=$(BUILD)/%.o)
MPPSTATE_MAIN_OBJS := $(BUILD)/mppstate/mppstate_main.o
ALL_OBJS += $(MPPSTATE_LIB_OBJS) $(MPPSTATE_MAIN_OBJS)
$(MPPSTATE_LIB_OBJS): CPPFLAGS += $(MYSQL_CFLAGS)

$(BUILD)/libmppstate.a: $(MPPSTATE_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

# The libraries of the daemon, in link order.
MPPSTATE_LIBS := $(BUILD)/libmppstate.a $(BUILD)/libmppcluster.a $(BUILD)/libmppmetrics.a $(BUILD)/libmppcore.a \
  $(BUILD)/libmppconfig.a $(BUILD)/libmppcommon.a
# The unit tests link the daemon's libraries, libcurl with them.
UNIT_SYSLIBS += $(CURL_LIBS)

$(BUILD)/bin/mppstate: $(MPPSTATE_MAIN_OBJS) $(MPPSTATE_LIBS)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $^ $(INIH_LIBS) $(MYSQL_LIBS) $(CURL_LIBS) $(MHD_LIBS) -lpthread

BINARIES += $(BUILD)/bin/mppstate

.PHONY: bench-failover
bench: bench-failover
bench-failover: $(BUILD)/bin/mppstate
	bench/failover/run $(BUILD)

.PHONY: bench-poller
bench: bench-poller
bench-poller: $(BUILD)/bin/mppstate
	bench/poller/run $(BUILD)

.PHONY: bench-replication
bench: bench-replication
bench-replication: $(BUILD)/bin/mppstate $(BUILD)/bin/mppctl
	bench/replication/run $(BUILD)
