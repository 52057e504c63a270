# tests/lab/: the LVS lab (tests/lab/run): real MariaDB in network
# namespaces of a qemu guest behind real IPVS, driven by mppstate with
# keepalived or mpp-ipvs, and a real client that measures write downtime and
# lost acknowledged commits. mpp-lab-client is that client; not installed.
LAB_CLIENT_OBJS := $(BUILD)/tests/lab/lab_client.o
ALL_OBJS += $(LAB_CLIENT_OBJS)

$(LAB_CLIENT_OBJS): CPPFLAGS += $(MYSQL_CFLAGS)

$(BUILD)/tests/mpp-lab-client: $(LAB_CLIENT_OBJS)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $^ $(MYSQL_LIBS) -lpthread
TEST_TOOLS += $(BUILD)/tests/mpp-lab-client

# Failover figures from the lab: unavailability, lost acknowledged commits
# and reader staleness per scenario, LVS mode and semi-sync setting.
.PHONY: bench-lab
bench: bench-lab
bench-lab: $(BUILD)/bin/mppstate $(BUILD)/bin/mppctl $(BUILD)/bin/mpp-ipvs $(BUILD)/tests/mpp-lab-client
	bench/lab/run $(BUILD)
