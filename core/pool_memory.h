// The pool memory: what the pool logic carries from round to round that a
// restart or a reboot must not forget (doc/pool-logic.md, "Restarts"): each
// pool's writer, whether an operator's switchover put it there (failback
// leaves that alone), the last failover, and which nodes are demoted or
// OFFLINE. mppstate keeps it in data_dir (PoolMemoryPath); this unit only
// turns it into text and back, so the daemon and the tests share one format.
// Thread-safety: pure functions over values.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

namespace mpp {

constexpr int kPoolMemoryVersion = 1;

struct FailoverRecord {
  int64_t time_ms = 0;  // wall clock; 0: none yet
  std::string from, to;
};

struct PoolMemoryEntry {
  std::string pool;
  std::string active;  // empty: none
  bool active_by_switchover = false;
  FailoverRecord last_failover;
};

struct NodeMemoryEntry {
  std::string pool, node;
  bool demoted = false;
  bool offline = false;
};

struct PoolMemory {
  std::vector<PoolMemoryEntry> pools;
  std::vector<NodeMemoryEntry> nodes;  // only nodes with something to remember
};

// "mpp-pool-memory 1", one "pool" line per pool, one "node" line per node
// with a flag, "end".
std::string FormatPoolMemory(const PoolMemory& m);

// Strict: anything unexpected is an error "name:line: message", because a
// memory that cannot be trusted must not be half-used.
bool ParsePoolMemory(const std::string& text, const std::string& name, PoolMemory* out, std::string* err);

}  // namespace mpp
