# core/: the pure evaluation core (doc/pool-logic.md): poll results in,
# STATUS, STATE and decisions out, and the status views of an evaluation.
# It makes no system call: `make check` runs core-purity, which compares the
# archive's undefined symbols with core/allowed-symbols.
CORE_SRCS := core/evaluation.cc core/unacknowledged_tail.cc core/undo_script.cc core/binlog_tail.cc core/gtid_divergence.cc core/topology.cc core/poll_result.cc core/pool_memory.cc core/published_decision.cc core/status_format.cc
CORE_OBJS := $(CORE_SRCS:%.cc=$(BUILD)/%.o)
ALL_OBJS += $(CORE_OBJS)

$(BUILD)/libmppcore.a: $(CORE_OBJS)
	rm -f $@ && ar rcs $@ $^

.PHONY: core-purity
core-purity: $(BUILD)/libmppcore.a
	scripts/check-core-purity $< core/allowed-symbols

