#include "core/topology.h"


namespace mpp {
namespace {

bool SameAddress(const Address& a, const Address& b) { return a.kind != Address::kNone && a == b; }

bool Manages(const PoolConfig& pool) { return pool.manage_read_only || pool.manage_replication; }

// The node's poll of this round answered: a step may rest on it.
bool Answered(const NodeEval& n) { return n.monitor_error.empty() && n.polled && n.last.outcome == PollOutcome::kOk; }

// What the node's replication should look like and does: it is attached to
// source with both threads running (or the IO thread connecting).
bool FollowsSource(const Config& cfg, const NodeEval& n, int source) {
  const ReplicationStatus& r = n.last.repl;
  return r.configured && SameAddress(r.source, cfg.nodes[static_cast<size_t>(source)].address) &&
         r.io != IoThread::kNo && r.sql_running;
}

// A demoted ex-writer under rejoin = manual waits for `mppctl rejoin`.
bool WaitsForRejoin(const PoolConfig& pool, const NodeEval& n) {
  return n.demoted && pool.rejoin == RejoinMode::kManual;
}

std::string ThreadText(IoThread io) {
  return io == IoThread::kYes ? "yes" : io == IoThread::kConnecting ? "connecting" : "no";
}

void PlanPool(const Config& cfg, const Evaluation& ev, int p, std::vector<TopologyStep>* out) {
  const PoolConfig& pool = cfg.pools[static_cast<size_t>(p)];
  int active = ev.ActiveOf(cfg, p);
  if (!Manages(pool) || active < 0) return;
  const NodeEval& a = ev.nodes[static_cast<size_t>(active)];
  auto name = [&](int n) -> const std::string& { return cfg.nodes[static_cast<size_t>(n)].name; };

  // 1. Fences: never two writable nodes.
  for (int n : pool.nodes) {
    const NodeEval& ne = ev.nodes[static_cast<size_t>(n)];
    if (n == active || !Answered(ne) || ne.last.read_only) continue;
    out->push_back(TopologyStep{TopologyStepKind::kFence, p, n, -1, false,
                                name(n) + " is writable and not the ACTIVE " + name(active)});
  }
  if (!Answered(a)) return;  // the ACTIVE's own trouble: nothing rests on it
  // 2. The ACTIVE: writable, and managed, replicating from nobody.
  bool replicating = pool.manage_replication && a.last.repl.configured;
  bool promote = a.last.read_only || replicating;
  if (promote) {
    std::string why = name(active) + " is the ACTIVE and " +
                      (a.last.read_only ? std::string("read_only") : std::string("writable")) +
                      (replicating ? ", replicating from " + a.last.repl.source_text : std::string());
    out->push_back(TopologyStep{TopologyStepKind::kPromote, p, active, -1, pool.manage_replication, why});
  }
  if (!pool.manage_replication) return;
  // 3. Every other node that answers follows the ACTIVE. Replicas are only
  // attached to a writer that replicates from nobody (this plan's promotion
  // first): its binlog is then the whole history to check them against.
  for (int n : pool.nodes) {
    const NodeEval& ne = ev.nodes[static_cast<size_t>(n)];
    if (n == active || !Answered(ne) || ne.offline || WaitsForRejoin(pool, ne)) continue;
    if (!ne.diverged.empty()) {
      // Checked again every round, however it replicates now: only an
      // attachment's clean check ends it (an operator rebuilt the node).
      out->push_back(TopologyStep{TopologyStepKind::kAttach, p, n, active, false,
                                  name(n) + " had diverged: checked again"});
      continue;
    }
    if (FollowsSource(cfg, ne, active)) continue;
    const ReplicationStatus& r = ne.last.repl;
    bool right_source = r.configured && SameAddress(r.source, cfg.nodes[static_cast<size_t>(active)].address);
    if (right_source && (r.io_errno != 0 || r.sql_errno != 0)) continue;  // an error an operator must read
    if (right_source) {
      out->push_back(TopologyStep{TopologyStepKind::kStartReplication, p, n, active, false,
                                  name(n) + " replicates from " + name(active) + " but a thread is stopped"});
      continue;
    }
    std::string seen = r.configured ? "replicates from " + r.source_text : std::string("replicates from nobody");
    out->push_back(TopologyStep{TopologyStepKind::kAttach, p, n, active, false,
                                name(n) + " " + seen + ", not from the ACTIVE " + name(active)});
  }
}

}  // namespace

const char* TopologyStepName(TopologyStepKind k) {
  switch (k) {
    case TopologyStepKind::kFence: return "fence";
    case TopologyStepKind::kPromote: return "promote";
    case TopologyStepKind::kAttach: return "attach";
    case TopologyStepKind::kStartReplication: return "start replication";
  }
  return "?";
}

std::vector<TopologyStep> PlanTopology(const Config& cfg, const Evaluation& ev) {
  std::vector<TopologyStep> out;
  if (ev.isolated) return out;  // every STATE is frozen, and so are the databases
  for (size_t p = 0; p < cfg.pools.size(); ++p) PlanPool(cfg, ev, static_cast<int>(p), &out);
  return out;
}

std::string WantedTopology(const Config& cfg, const Evaluation& ev, int node) {
  int p = cfg.PoolOfNode(node);
  if (p < 0) return "";
  const PoolConfig& pool = cfg.pools[static_cast<size_t>(p)];
  if (!Manages(pool)) return "";
  int active = ev.ActiveOf(cfg, p);
  if (active < 0) return "nothing until a node is ACTIVE";
  if (node == active) return pool.manage_replication ? "writable, replicates from nobody" : "writable";
  const NodeEval& ne = ev.nodes[static_cast<size_t>(node)];
  if (!pool.manage_replication) return "read_only";
  const std::string& writer = cfg.nodes[static_cast<size_t>(active)].name;
  if (ne.offline) return "read_only; OFFLINE: its replication is left alone";
  if (!ne.diverged.empty()) return "read_only; never attached: diverged";
  if (WaitsForRejoin(pool, ne)) return "read_only; attached to " + writer + " by `mppctl rejoin`";
  return "read_only, replica of " + writer;
}

std::string SeenTopology(const Config& cfg, const Evaluation& ev, int node) {
  const NodeEval& ne = ev.nodes[static_cast<size_t>(node)];
  if (!ne.monitor_error.empty()) return "not polled (a monitor problem)";
  if (!ne.polled || ne.last.outcome == PollOutcome::kNotPolled) return "not polled yet";
  if (ne.last.outcome != PollOutcome::kOk) return std::string("unreachable: ") + PollOutcomeName(ne.last.outcome);
  std::string out = ne.last.read_only ? "read_only" : "writable";
  const ReplicationStatus& r = ne.last.repl;
  if (!r.configured) return out + ", replicates from nobody";
  std::string source = r.source_text;
  int p = cfg.PoolOfNode(node);
  if (p >= 0)
    for (int other : cfg.pools[static_cast<size_t>(p)].nodes)
      if (SameAddress(r.source, cfg.nodes[static_cast<size_t>(other)].address))
        source = cfg.nodes[static_cast<size_t>(other)].name;
  return out + ", replica of " + source + " (IO " + ThreadText(r.io) + ", SQL " + (r.sql_running ? "yes" : "no") +
         ")";
}

}  // namespace mpp
