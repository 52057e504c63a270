# config/: the parser of mppstate.ini (doc/config.md), the reader of the
# MySQL option files that hold the logins (option_file.cc: one walker of
# their !include rules), and the check that only their owner can read them.
# Used by mppstate, mppctl, mpp-ipvs and the config generators.
CONFIG_SRCS := config/config.cc config/credentials.cc config/option_file.cc
CONFIG_OBJS := $(CONFIG_SRCS:%.cc=$(BUILD)/%.o)
ALL_OBJS += $(CONFIG_OBJS)

$(BUILD)/libmppconfig.a: $(CONFIG_OBJS)
	rm -f $@ && ar rcs $@ $^
