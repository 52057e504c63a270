# keepalived/: generators of keepalived and ldirectord configuration (used
# by mppctl keepalived-conf / ldirectord-conf), example configs and the
# how-to (README.md). No libmysqlclient, no libnl.
KEEPALIVED_SRCS := keepalived/conf_gen.cc
KEEPALIVED_OBJS := $(KEEPALIVED_SRCS:%.cc=$(BUILD)/%.o)
ALL_OBJS += $(KEEPALIVED_OBJS)

$(BUILD)/libmppkeepalived.a: $(KEEPALIVED_OBJS)
	rm -f $@ && ar rcs $@ $^

# The unit tests (tests/unit/keepalived/conf_gen_test.cc) link it.
UNIT_LIBS += $(BUILD)/libmppkeepalived.a

# Figures from the kernel test guest: time from a state change to the IPVS
# change with keepalived FILE_CHECK, keepalived MISC_CHECK and ldirectord
# (delay_loop/checkinterval 1), and guest boot time.
.PHONY: bench-kernel
bench: bench-kernel
bench-kernel: $(BUILD)/bin/mppctl $(BUILD)/bin/mpp-check $(BUILD)/tests/ipvs/mpp-write-state
	tests/kernel/run $(BUILD) --bench
