# metrics/: what mppstate and mpp-ipvs show to Prometheus (doc/metrics.md):
# the text format of the page, and the endpoint that serves it from the
# owner's loop, over libmicrohttpd. libmppmetrics.a is linked by both
# daemons; MHD_LIBS is what their link lines add for it.
METRICS_SRCS := metrics/metrics_endpoint.cc metrics/metrics_text.cc
METRICS_OBJS := $(METRICS_SRCS:%.cc=$(BUILD)/%.o)
ALL_OBJS += $(METRICS_OBJS)

MHD_CFLAGS := $(shell pkg-config --cflags libmicrohttpd 2>/dev/null)
MHD_LIBS := $(shell pkg-config --libs libmicrohttpd 2>/dev/null)
$(METRICS_OBJS): CPPFLAGS += $(MHD_CFLAGS)

$(BUILD)/libmppmetrics.a: $(METRICS_OBJS)
	rm -f $@ && ar rcs $@ $^

# The unit tests (tests/unit/metrics/) serve real sockets on loopback.
UNIT_LIBS += $(BUILD)/libmppmetrics.a
UNIT_SYSLIBS += $(MHD_LIBS)
