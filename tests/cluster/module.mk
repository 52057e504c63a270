# tests/cluster/: the cluster suite (run by tests/cluster/run): the director
# pair against real etcd, MariaDB and network namespaces, the etcd client
# against real etcd clusters, and its test-only program etcd_probe, which
# makes one call of cluster/etcd_client.h and prints the answer as JSON.
# Not installed.
ETCD_PROBE_OBJS := $(BUILD)/tests/cluster/etcd_probe.o
ALL_OBJS += $(ETCD_PROBE_OBJS)
$(ETCD_PROBE_OBJS): CPPFLAGS += $(CURL_CFLAGS)

$(BUILD)/tests/etcd_probe: $(ETCD_PROBE_OBJS) $(BUILD)/libmppcluster.a
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $^ $(CURL_LIBS) -lpthread
TEST_TOOLS += $(BUILD)/tests/etcd_probe

# The director pair's figures: takeover and publication delay
# (bench/cluster/run; needs root for its network namespaces).
.PHONY: bench-cluster
bench: bench-cluster
bench-cluster: $(BUILD)/bin/mppstate $(BUILD)/bin/mppctl
	bench/cluster/run $(BUILD)
