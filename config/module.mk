# config/: the parser of mppstate.ini (doc/config.md) and the check of the
# MySQL option files that hold passwords. Read by mppstate, mppctl, mpp-ipvs
# and the config generators.
CONFIG_SRCS := config/config.cc config/credentials.cc
CONFIG_OBJS := $(CONFIG_SRCS:%.cc=$(BUILD)/%.o)
ALL_OBJS += $(CONFIG_OBJS)

$(BUILD)/libmppconfig.a: $(CONFIG_OBJS)
	rm -f $@ && ar rcs $@ $^
