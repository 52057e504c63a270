# common/: small pieces shared by every binary. Everything here is usable by
# the checker: no libmysqlclient, no libnl, no iostreams, no exceptions.
COMMON_SRCS := common/address.cc common/duration.cc common/names.cc common/state_reader.cc
COMMON_OBJS := $(COMMON_SRCS:%.cc=$(BUILD)/%.o)
ALL_OBJS += $(COMMON_OBJS)

$(BUILD)/libmppcommon.a: $(COMMON_OBJS)
	rm -f $@ && ar rcs $@ $^
