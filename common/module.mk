# common/: small pieces shared by every binary, at the bottom of the folder
# order (common <- config <- core <- mppstate). What the checker links
# (address, decimal, duration, names, state_reader) uses no libmysqlclient,
# no libnl, no iostreams and no exceptions; address_text.cc,
# address_socket.cc (for the programs that open sockets) and
# control_protocol.cc (the words mppctl and mppstate exchange) allocate or
# call the system and are for the other programs.
COMMON_SRCS := common/address.cc common/address_socket.cc common/address_text.cc common/control_protocol.cc \
  common/decimal.cc common/duration.cc common/names.cc common/state_reader.cc
COMMON_OBJS := $(COMMON_SRCS:%.cc=$(BUILD)/%.o)
ALL_OBJS += $(COMMON_OBJS)

$(BUILD)/libmppcommon.a: $(COMMON_OBJS)
	rm -f $@ && ar rcs $@ $^
