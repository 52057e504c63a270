# cluster/: what a director pair shares through etcd (doc/director-pair.md):
# the client of etcd's v3 JSON gateway, over libcurl. libmppcluster.a is
# linked by the daemon and by the test tools; CURL_LIBS is what their link
# lines add for it.
CLUSTER_SRCS := \
  cluster/etcd_client.cc cluster/decision_codec.cc cluster/cluster_session.cc
CLUSTER_OBJS := $(CLUSTER_SRCS:%.cc=$(BUILD)/%.o)
ALL_OBJS += $(CLUSTER_OBJS)

CURL_CFLAGS := $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIBS := $(shell pkg-config --libs libcurl 2>/dev/null)
$(CLUSTER_OBJS): CPPFLAGS += $(CURL_CFLAGS)

$(BUILD)/libmppcluster.a: $(CLUSTER_OBJS)
	rm -f $@ && ar rcs $@ $^
