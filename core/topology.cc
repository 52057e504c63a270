#include "core/topology.h"


namespace mpp {
namespace {

bool SameAddress(const Address& a, const Address& b) { return a.kind != Address::kNone && a == b; }

bool Manages(const PoolConfig& pool) { return pool.manage_read_only || pool.manage_replication; }

// The node's poll of this round answered: a step may rest on it.
bool Answered(const NodeEval& n) { return n.monitor_error.empty() && n.polled && n.last.outcome == PollOutcome::kOk; }

// The node's monitoring poll failed, but the server may still answer the
// admin login (CONNECTION ADMIN gets past 1040), whose view then decides
// the fence or the promotion: a node nobody can see is never left
// writable, and a read_only ACTIVE is not left so, for want of a poll.
// A poll that timed out counts for a fence (an overloaded ex-writer), not
// for the ACTIVE's promotion: a writer that hangs would hold the worker
// for a login timeout at the very moment its failover needs it.
bool AdminMaySee(const NodeEval& n, TopologyStepKind kind) {
  if (!n.monitor_error.empty() || !n.polled) return false;
  PollOutcome o = n.last.outcome;
  if (o == PollOutcome::kTimeout) return kind == TopologyStepKind::kFence;
  return o == PollOutcome::kQueryError || o == PollOutcome::kTooManyConnections || o == PollOutcome::kAccessDenied;
}

// What the node's replication should look like and does: it is attached to
// source with both threads running (or the IO thread connecting).
bool FollowsSource(const Config& cfg, const NodeEval& n, int source) {
  const ReplicationStatus& r = n.last.repl;
  return r.configured && SameAddress(r.source, cfg.nodes[static_cast<size_t>(source)].address) &&
         r.io != IoThread::kNo && r.sql_running;
}

// A replica of source with a thread stopped and no error an operator must
// read: a lost connection (the client library's own errors, 2000-2999)
// left behind by a source that was down, or a sever, is no such error.
bool StoppedCleanly(const Config& cfg, const NodeEval& n, int source) {
  const ReplicationStatus& r = n.last.repl;
  bool right_source = r.configured && SameAddress(r.source, cfg.nodes[static_cast<size_t>(source)].address);
  bool io_lost = r.io_errno >= 2000 && r.io_errno < 3000;
  return right_source && !FollowsSource(cfg, n, source) && (r.io_errno == 0 || io_lost) && r.sql_errno == 0;
}

// A demoted ex-writer under rejoin = manual waits for `mppctl rejoin`.
bool WaitsForRejoin(const PoolConfig& pool, const NodeEval& n) {
  return n.demoted && pool.rejoin == RejoinMode::kManual;
}

// The ACTIVE's semi-sync: the primary side on, waiting AFTER_SYNC (a
// commit is acknowledged only once a replica has it), the replica side off.
bool PrimarySide(const SemiSync& s) { return s.primary && s.after_sync && !s.replica; }

std::string SemiText(const SemiSync& s) {
  std::string out = std::string("primary ") + (s.primary ? "on" : "off");
  if (s.primary && !s.after_sync) out += " (not AFTER_SYNC)";
  return out + ", replica " + (s.replica ? "on" : "off");
}

TopologyStep MakeStep(TopologyStepKind kind, int pool, int node, int source) {
  TopologyStep step;
  step.kind = kind;
  step.pool = pool;
  step.node = node;
  step.source = source;
  return step;
}

std::string ThreadText(IoThread io) {
  return io == IoThread::kYes ? "yes" : io == IoThread::kConnecting ? "connecting" : "no";
}

void PlanPool(const Config& cfg, const Evaluation& ev, int p, std::vector<TopologyStep>* out) {
  const PoolConfig& pool = cfg.pools[static_cast<size_t>(p)];
  const PoolEval& pe = ev.pools[static_cast<size_t>(p)];
  int active = ev.ActiveOf(cfg, p);
  // An election in place of a failing writer severs its replicas before
  // there is an ACTIVE.
  if (!Manages(pool) || (active < 0 && pe.severing.empty())) return;
  auto name = [&](int n) -> const std::string& { return cfg.nodes[static_cast<size_t>(n)].name; };

  // 1. Fences: never two writable nodes.
  for (int n : pool.nodes) {
    const NodeEval& ne = ev.nodes[static_cast<size_t>(n)];
    if (active < 0 || n == active) continue;
    TopologyStep fence = MakeStep(TopologyStepKind::kFence, p, n, -1);
    fence.writer_semi = ne.writer_semi;
    fence.acks_cut = ne.acks_cut;
    if (AdminMaySee(ne, TopologyStepKind::kFence)) {
      fence.admin_evidence = true;
      fence.why = name(n) + " is not the ACTIVE " + name(active) + " and its poll failed (" +
                  PollOutcomeName(ne.last.outcome) + ")";
    } else if (Answered(ne) && !ne.last.read_only) {
      fence.why = name(n) + " is writable and not the ACTIVE " + name(active);
    } else {
      continue;
    }
    out->push_back(fence);
  }
  // A failover's first phase: its replicas stop receiving from the failing
  // writer, and the writer is chosen next from their frozen positions.
  for (int n : pe.severing) {
    TopologyStep sever = MakeStep(TopologyStepKind::kSever, p, n, pe.severing_from);
    sever.semi_sync = pool.semi_sync;
    bool set_aside = !NeverPromoted(cfg, ev.nodes[static_cast<size_t>(pe.severing_from)], pe.severing_from).empty();
    sever.why = name(pe.severing_from) + (set_aside ? " may not be the writer: " : " is failing: ") + name(n) +
                " stops receiving from it before a new writer is chosen";
    out->push_back(sever);
  }
  if (!pe.severing.empty()) return;
  const NodeEval& a = ev.nodes[static_cast<size_t>(active)];
  if (!Answered(a)) {
    // The ACTIVE's own trouble: only the admin login's view may rest on it.
    if (!AdminMaySee(a, TopologyStepKind::kPromote)) return;
    TopologyStep step = MakeStep(TopologyStepKind::kPromote, p, active, -1);
    step.stop_replication = pool.manage_replication;
    step.semi_sync = pool.semi_sync;
    step.admin_evidence = true;
    step.why = name(active) + " is the ACTIVE and its poll failed (" + PollOutcomeName(a.last.outcome) + ")";
    out->push_back(step);
    return;
  }
  // 2. The ACTIVE: writable, and managed, replicating from nobody.
  bool replicating = pool.manage_replication && a.last.repl.configured;
  bool promote = a.last.read_only || replicating;
  if (promote) {
    std::string why = name(active) + " is the ACTIVE and " +
                      (a.last.read_only ? std::string("read_only") : std::string("writable")) +
                      (replicating ? ", replicating from " + a.last.repl.source_text : std::string());
    TopologyStep step = MakeStep(TopologyStepKind::kPromote, p, active, -1);
    step.stop_replication = pool.manage_replication;
    step.semi_sync = pool.semi_sync;
    step.why = why;
    out->push_back(step);
  }
  if (!pool.manage_replication) return;
  std::vector<TopologyStep> semi;  // after the attachments
  if (pool.semi_sync && !promote && a.last.semi.known && !PrimarySide(a.last.semi)) {
    TopologyStep step = MakeStep(TopologyStepKind::kSemiSync, p, active, active);
    step.why = name(active) + " is the ACTIVE and its semi-sync is " + SemiText(a.last.semi);
    semi.push_back(step);
  }
  // 3. Every other node that answers follows the ACTIVE. Replicas are only
  // attached to a writer that replicates from nobody (this plan's promotion
  // first): its binlog is then the whole history to check them against.
  for (int n : pool.nodes) {
    const NodeEval& ne = ev.nodes[static_cast<size_t>(n)];
    if (n == active) continue;
    if (!Answered(ne)) {
      // Its check query alone failed, and its replication was read: a
      // replica of the ACTIVE stopped by a failover's first phase that
      // found nobody to promote is started again (else it would never
      // receive the fix of what fails, a table created again on the
      // writer). Nothing else rests on such a poll.
      bool read = ne.monitor_error.empty() && ne.polled && ne.last.check_failed_only;
      if (read && !ne.offline && !WaitsForRejoin(pool, ne) && ne.diverged.empty() && StoppedCleanly(cfg, ne, active)) {
        TopologyStep start = MakeStep(TopologyStepKind::kStartReplication, p, n, active);
        start.why = name(n) + " replicates from " + name(active) + " but a thread is stopped (its check query fails)";
        out->push_back(start);
      }
      continue;
    }
    // What semi-sync wants of it: a standby the replica side, and no node
    // but the ACTIVE the primary side (it would stall every transaction it
    // applies, waiting for replicas it does not have).
    bool standby = !ne.offline && !WaitsForRejoin(pool, ne) && ne.diverged.empty();
    // A diverged ex-writer keeps its primary side until it is rewound:
    // turning it off counts as a fallback to asynchronous
    // (Rpl_semi_sync_master_no_times), which a rewind must not see. It
    // replicates nothing, so it waits for no acknowledgement meanwhile.
    bool keep_primary = pool.rewind && !ne.diverged.empty();
    if (pool.semi_sync && ne.last.semi.known &&
        ((ne.last.semi.primary && !keep_primary) || (standby && !ne.last.semi.replica))) {
      TopologyStep step = MakeStep(TopologyStepKind::kSemiSync, p, n, active);
      step.semi_replica = standby;
      step.why = name(n) + (standby ? " is a standby" : " is not the ACTIVE") + " and its semi-sync is " +
                 SemiText(ne.last.semi);
      semi.push_back(step);
    }
    if (ne.offline || WaitsForRejoin(pool, ne)) continue;
    TopologyStep attach = MakeStep(TopologyStepKind::kAttach, p, n, active);
    attach.semi_sync = pool.semi_sync;
    if (!ne.diverged.empty() && pool.rewind) {
      // The rewind checks the divergence again first, and refuses what it
      // cannot undo safely; the attachment follows its success.
      TopologyStep rewind = MakeStep(TopologyStepKind::kRewind, p, n, active);
      rewind.writer_semi = ne.writer_semi;
      rewind.acks_cut = ne.acks_cut;
      rewind.seal = ne.seal;
      rewind.why = name(n) + " had diverged: rewind = yes";
      out->push_back(rewind);
      continue;
    }
    if (!ne.diverged.empty()) {
      // Checked again every round, however it replicates now: only an
      // attachment's clean check ends it (an operator rebuilt the node).
      attach.why = name(n) + " had diverged: checked again";
      out->push_back(attach);
      continue;
    }
    if (FollowsSource(cfg, ne, active) && ne.demoted) {
      // Under rejoin = auto, an ex-writer whose attachment failed (its
      // source full, say) while its IO thread then connected by itself is
      // attached again: the check that makes it STANDBY is the attachment's.
      attach.why = name(n) + " replicates from " + name(active) + " but its attachment was not confirmed";
      out->push_back(attach);
      continue;
    }
    if (FollowsSource(cfg, ne, active)) continue;
    const ReplicationStatus& r = ne.last.repl;
    bool right_source = r.configured && SameAddress(r.source, cfg.nodes[static_cast<size_t>(active)].address);
    if (right_source && !StoppedCleanly(cfg, ne, active)) continue;
    if (right_source) {
      TopologyStep start = MakeStep(TopologyStepKind::kStartReplication, p, n, active);
      start.why = name(n) + " replicates from " + name(active) + " but a thread is stopped";
      out->push_back(start);
      continue;
    }
    std::string seen = r.configured ? "replicates from " + r.source_text : std::string("replicates from nobody");
    attach.why = name(n) + " " + seen + ", not from the ACTIVE " + name(active);
    out->push_back(attach);
  }
  out->insert(out->end(), semi.begin(), semi.end());
}

}  // namespace

const char* TopologyStepName(TopologyStepKind k) {
  switch (k) {
    case TopologyStepKind::kFence: return "fence";
    case TopologyStepKind::kPromote: return "promote";
    case TopologyStepKind::kAttach: return "attach";
    case TopologyStepKind::kStartReplication: return "start replication";
    case TopologyStepKind::kSemiSync: return "semi-sync";
    case TopologyStepKind::kSever: return "sever";
    case TopologyStepKind::kRewind: return "rewind";
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
  if (node == active)
    return !pool.manage_replication ? "writable"
           : pool.semi_sync         ? "writable, replicates from nobody, semi-sync primary"
                                    : "writable, replicates from nobody";
  const NodeEval& ne = ev.nodes[static_cast<size_t>(node)];
  if (!pool.manage_replication) return "read_only";
  const std::string& writer = cfg.nodes[static_cast<size_t>(active)].name;
  if (ne.offline) return "read_only; OFFLINE: its replication is left alone";
  if (!ne.diverged.empty())
    return pool.rewind ? "read_only; rewound, then attached to " + writer : "read_only; never attached: diverged";
  if (WaitsForRejoin(pool, ne)) return "read_only; attached to " + writer + " by `mppctl rejoin`";
  return "read_only, replica of " + writer + (pool.semi_sync ? ", semi-sync replica" : "");
}

std::string SeenTopology(const Config& cfg, const Evaluation& ev, int node) {
  const NodeEval& ne = ev.nodes[static_cast<size_t>(node)];
  if (!ne.monitor_error.empty()) return "not polled (a monitor problem)";
  if (!ne.polled || ne.last.outcome == PollOutcome::kNotPolled) return "not polled yet";
  if (ne.last.outcome != PollOutcome::kOk) return std::string("unreachable: ") + PollOutcomeName(ne.last.outcome);
  std::string out = ne.last.read_only ? "read_only" : "writable";
  std::string semi = ne.last.semi.known ? "; semi-sync " + SemiText(ne.last.semi) : "";
  if (ne.last.strict_mode == 0) semi += "; gtid_strict_mode OFF";
  if (ne.last.log_slave_updates == 0) semi += "; log_slave_updates OFF";
  if (!ne.last.repl.filters.empty()) semi += "; filters " + ne.last.repl.filters;
  const ReplicationStatus& r = ne.last.repl;
  if (!r.configured) return out + ", replicates from nobody" + semi;
  std::string source = r.source_text;
  int p = cfg.PoolOfNode(node);
  if (p >= 0)
    for (int other : cfg.pools[static_cast<size_t>(p)].nodes)
      if (SameAddress(r.source, cfg.nodes[static_cast<size_t>(other)].address))
        source = cfg.nodes[static_cast<size_t>(other)].name;
  return out + ", replica of " + source + " (IO " + ThreadText(r.io) + ", SQL " + (r.sql_running ? "yes" : "no") +
         ")" + semi;
}

}  // namespace mpp
