// The decision a director pair's leader publishes in etcd and every
// director follows (doc/director-pair.md): per pool the ACTIVE and each
// node's STATE with what a restart or a new leader must not forget
// (demoted, OFFLINE, the switchover origin, the last failover), and per
// virtual server which nodes are up. Names, not indexes: the directors'
// configurations are read separately. The leader's STATUS and lag are not
// part of it: they change with every poll, and each director shows its own.
// Thread-safety: value types and pure functions.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include "common/names.h"
#include "config/config.h"
#include "core/pool_memory.h"

namespace mpp {

struct PublishedNode {
  std::string name;
  State state = State::kUnknown;
  std::string why;  // why the STATE last changed (NodeEval::state_reason)
  bool demoted = false;
  bool offline = false;
};

struct PublishedPool {
  std::string name;
  bool elected = false;  // the first election has happened
  std::string active;    // empty: none
  bool active_by_switchover = false;
  FailoverRecord last_failover;
  std::vector<PublishedNode> nodes;  // the pool's, in priority order
};

struct PublishedVs {
  std::string name;
  std::vector<std::string> up;  // the nodes up for it
};

struct PublishedDecision {
  // Who published it: the leader key's create_revision (its epoch), the
  // decision's number (one more for each publication, across leaders), the
  // leader's name and its wall clock.
  int64_t epoch = 0;
  int64_t seq = 0;
  std::string leader;
  int64_t time_ms = 0;
  std::vector<PublishedPool> pools;
  std::vector<PublishedVs> vss;
};

// The decision of an evaluation (epoch, seq, leader and time left empty).
struct Evaluation;
PublishedDecision DecisionOf(const Config& cfg, const Evaluation& ev);

// Whether two decisions say the same (pools and virtual servers; who
// published them and when aside).
bool SameDecision(const PublishedDecision& a, const PublishedDecision& b);

// The ACTIVE of a pool in d, "" when none or the pool is not in d.
std::string PublishedActive(const PublishedDecision& d, const std::string& pool);

}  // namespace mpp
