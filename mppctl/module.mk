# mppctl/: the operator's command: talks to mppstate over the control socket
# and prints keepalived and ldirectord configuration (keepalived/).
MPPCTL_SRCS := mppctl/mppctl_main.cc
MPPCTL_OBJS := $(MPPCTL_SRCS:%.cc=$(BUILD)/%.o)
ALL_OBJS += $(MPPCTL_OBJS)

$(BUILD)/bin/mppctl: $(MPPCTL_OBJS) $(BUILD)/libmppkeepalived.a $(BUILD)/libmppconfig.a $(BUILD)/libmppcommon.a
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $^ $(INIH_LIBS)

BINARIES += $(BUILD)/bin/mppctl
