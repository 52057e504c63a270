#include "core/evaluation.h"

#include <algorithm>

namespace mpp {
namespace {

Status MaxStatus(Status a, Status b) { return a > b ? a : b; }

// One step up the ladder per failed poll: 1 INFO, 2 WARN, 3 CRITICAL, 4 FAIL.
Status StatusFromFailures(int failed) {
  if (failed <= 0) return Status::kOk;
  if (failed >= 4) return Status::kFail;
  return static_cast<Status>(failed);
}

std::string Seconds(int64_t ms) {
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// The STATUS that polls alone justify (no replication conditions).
Status PollLevel(const NodeEval& n) {
  Status s = StatusFromFailures(n.failed_polls);
  PollOutcome o = n.last.outcome;
  if (o == PollOutcome::kAccessDenied || o == PollOutcome::kTooManyConnections)
    s = MaxStatus(s, Status::kInfo);
  return s;
}

std::string PollProblem(const NodeEval& n) {
  const PollResult& p = n.last;
  std::string what = PollOutcomeName(p.outcome);
  if (p.error_code != 0) what += " (" + std::to_string(p.error_code) + ")";
  if (!p.error.empty()) what += ": " + p.error;
  if (PollFailed(p.outcome)) {
    return what + " [" + std::to_string(n.failed_polls) + " failed poll" +
           (n.failed_polls == 1 ? "" : "s") + "]";
  }
  if (p.outcome == PollOutcome::kAccessDenied || p.outcome == PollOutcome::kTooManyConnections)
    return "server alive but " + what + "; not a reason to fail over";
  if (n.failed_polls > 0)
    return "recovering: " + std::to_string(n.clean_polls) + " clean poll" +
           (n.clean_polls == 1 ? "" : "s") + " after " + std::to_string(n.failed_polls) + " failed";
  return "";
}

bool SameAddress(const Address& a, const Address& b) { return a.kind != Address::kNone && a == b; }

// The lag a standby can be trusted with: only while both threads run.
int64_t TrustedLag(const PollResult& p) {
  if (p.outcome != PollOutcome::kOk || !p.repl.configured) return -1;
  if (p.repl.io != IoThread::kYes || !p.repl.sql_running) return -1;
  return p.repl.lag_s;
}

struct Condition {
  Status level = Status::kOk;
  std::string why;
  void Raise(Status s, const std::string& w) {
    if (s > level) {
      level = s;
      why = w;
    }
  }
};

// Replication conditions of a node given the pool's ACTIVE (after this
// round's decisions) and whether the ACTIVE's poll failed this round.
Condition ReplicationCondition(const Config& cfg, const Evaluation& ev, const PoolConfig& pool,
                               int node, int active, bool active_failing) {
  Condition c;
  const NodeEval& n = ev.nodes[static_cast<size_t>(node)];
  const PollResult& p = n.last;
  if (p.outcome != PollOutcome::kOk) return c;
  const ReplicationStatus& r = p.repl;
  std::string io_why = r.io == IoThread::kConnecting ? "IO thread connecting" : "IO thread stopped";
  if (r.io_errno != 0) io_why += " (" + std::to_string(r.io_errno) + ": " + r.io_error + ")";
  std::string sql_why = "SQL thread stopped";
  if (r.sql_errno != 0) sql_why = "SQL thread error (" + std::to_string(r.sql_errno) + ": " + r.sql_error + ")";
  bool io_bad = r.io != IoThread::kYes || r.io_errno != 0;
  bool sql_bad = !r.sql_running || r.sql_errno != 0;

  if (node == active) {
    // Master-master: the writer's own replication is reported, never fatal.
    if (r.configured && (io_bad || sql_bad))
      c.Raise(Status::kInfo, "replication on the ACTIVE: " + (sql_bad ? sql_why : io_why));
    return c;
  }
  if (!r.configured) {
    c.Raise(Status::kWarn, "not a replica (no replication configured)");
    return c;
  }
  if (active >= 0) {
    const Address& writer = cfg.nodes[static_cast<size_t>(active)].address;
    if (!SameAddress(r.source, writer)) {
      c.Raise(Status::kWarn, "replicates from " + r.source_text + ", not from the ACTIVE " +
                                 cfg.nodes[static_cast<size_t>(active)].name);
    }
  }
  if (sql_bad) c.Raise(Status::kCritical, sql_why);
  if (io_bad) {
    // When the writer dies every replica loses it: that is the failover's
    // cause, not a fault of the replica.
    c.Raise(active_failing ? Status::kInfo : Status::kWarn,
            active_failing ? io_why + ": the ACTIVE is failing" : io_why);
  } else if (!sql_bad) {
    if (r.lag_s < 0) {
      c.Raise(Status::kWarn, "lag unknown");
    } else if (r.lag_s * 1000 > pool.max_lag_ms) {
      c.Raise(Status::kWarn, "lag " + std::to_string(r.lag_s) + "s > max_lag " + Seconds(pool.max_lag_ms));
    }
  }
  // Not faults: what it applies without logging it is counted by the
  // divergence check (doc/replication.md), but an operator should know.
  std::string unlogged = UnloggedNote(p);
  if (pool.manage_replication && !unlogged.empty()) c.Raise(Status::kInfo, unlogged);
  return c;
}

// Whether this evaluation brings a poll of node n: every node in a round,
// only those with a result between rounds.
bool PolledNow(const RoundInput& in, int n) {
  if (!in.between_rounds) return true;
  return static_cast<size_t>(n) < in.polls.size() && in.polls[static_cast<size_t>(n)].outcome != PollOutcome::kNotPolled;
}

// The monitor could not poll the node this round: no news of it, so no
// decision may rest on it.
bool Unpolled(const NodeEval& n) { return !n.monitor_error.empty(); }

bool IsCandidateForElection(const NodeEval& n, const PoolConfig& pool) {
  return !n.offline && !n.demoted && n.polled && !Unpolled(n) && n.last.outcome == PollOutcome::kOk &&
         PollLevel(n) < pool.failover_at;
}

// With failover_zones = same, why node is outside the zone of the failed
// writer `old`: "db4 in zone west"; "" when it is not (or any zone will do).
std::string OutsideZone(const Config& cfg, const PoolConfig& pool, int old, int node) {
  if (!pool.failover_same_zone || old < 0) return "";
  const NodeConfig& n = cfg.nodes[static_cast<size_t>(node)];
  if (n.zone == cfg.nodes[static_cast<size_t>(old)].zone) return "";
  return n.name + " in zone " + n.zone;
}

// Alive, but our login is the problem (1045, 1040): the running daemon never
// moves the writer for that, and neither does a restart.
bool AliveButUnusable(const PollResult& p) {
  return p.outcome == PollOutcome::kAccessDenied || p.outcome == PollOutcome::kTooManyConnections;
}

// The node of the pool that `node`'s last poll says it replicates from, or -1.
// A poll whose check query alone failed still read the replication: a
// replica that received a failing writer's commits counts among its
// replicas (severed, and with semi_sync compared) though it is no
// candidate itself.
int SourceInPool(const Config& cfg, const PoolConfig& pool, const NodeEval& n) {
  bool read = n.last.outcome == PollOutcome::kOk || n.last.check_failed_only;
  if (!read || !n.last.repl.configured) return -1;
  for (int other : pool.nodes)
    if (SameAddress(n.last.repl.source, cfg.nodes[static_cast<size_t>(other)].address)) return other;
  return -1;
}

bool IsSourceOfOthers(const Config& cfg, const Evaluation& ev, const PoolConfig& pool, int node) {
  for (int other : pool.nodes)
    if (other != node && SourceInPool(cfg, pool, ev.nodes[static_cast<size_t>(other)]) == node) return true;
  return false;
}

// How strongly a node looks like the writer of the pool: it is the source
// of other nodes' replication (2), and it is writable (1). A writable leaf
// replica of another node of the pool is a misconfigured replica, not a
// writer: its read_only does not count.
int WriterScore(const Config& cfg, const Evaluation& ev, const PoolConfig& pool, int node) {
  const NodeEval& n = ev.nodes[static_cast<size_t>(node)];
  bool writable = !n.last.read_only;
  if (IsSourceOfOthers(cfg, ev, pool, node)) return 2 + (writable ? 1 : 0);
  int source = SourceInPool(cfg, pool, n);
  return writable && (source < 0 || source == node) ? 1 : 0;
}

// Why the ACTIVE recorded before a restart, whose poll is clean, no longer
// looks like the writer; "" if it does. A read-only replica connected to
// another node of the pool is that node's replica now. (Right after a
// failover without manage_read_only, the new writer is still a read-only
// replica of the dead or demoted old one: that does not count.)
std::string NoLongerWriter(const Config& cfg, const Evaluation& ev, const PoolConfig& pool, int node) {
  const NodeEval& n = ev.nodes[static_cast<size_t>(node)];
  int source = SourceInPool(cfg, pool, n);
  if (source < 0 || source == node || !n.last.read_only || n.last.repl.io != IoThread::kYes) return "";
  if (ev.nodes[static_cast<size_t>(source)].demoted) return "";
  return "now a read-only replica of " + cfg.nodes[static_cast<size_t>(source)].name;
}

// Why node, a replica of the writer `old`, was cut off from it before the
// trouble, and another reachable replica of it received more: the node may
// lack an unknown amount of old's data, so it is not chosen while that one
// may be (it applies what it received, or an operator takes it OFFLINE).
// Cut off: its IO thread fails with an error of the server (1045, 1236),
// not a lost connection (the client library's 2000-2999, which every
// replica of a writer that died shows); or its clean polls showed it not
// receiving for longer than max_promote_lag before the trouble. "" when
// neither, or nobody received more.
std::string CutOffBefore(const Config& cfg, const Evaluation& ev, int pool, int old, int node) {
  const PoolConfig& pc = cfg.pools[static_cast<size_t>(pool)];
  const PoolEval& pe = ev.pools[static_cast<size_t>(pool)];
  const NodeEval& n = ev.nodes[static_cast<size_t>(node)];
  const ReplicationStatus& r = n.last.repl;
  if (old < 0 || !r.configured) return "";
  std::string why;
  bool io_lost = r.io_errno >= 2000 && r.io_errno < 3000;
  int64_t since = n.not_receiving_since_mono_ms, trouble = pe.trouble_since_mono_ms;
  if (r.io_errno != 0 && !io_lost) {
    why = "IO thread error " + std::to_string(r.io_errno);
  } else if (since >= 0 && trouble >= 0 && trouble - since > pc.max_promote_lag_ms) {
    why = "not receiving from " + cfg.nodes[static_cast<size_t>(old)].name + " for " +
          std::to_string((trouble - since) / 1000) + "s before the trouble > max_promote_lag " +
          Seconds(pc.max_promote_lag_ms);
  } else {
    return "";
  }
  for (int other : pc.nodes) {
    const NodeEval& o = ev.nodes[static_cast<size_t>(other)];
    if (other == node || other == old || o.offline || o.demoted || Unpolled(o) ||
        SourceInPool(cfg, pc, o) != old || ComparePositions(o.last.repl.received, r.received) != 1)
      continue;
    return why + ", and " + cfg.nodes[static_cast<size_t>(other)].name + " received more";
  }
  return "";
}

// The one set of rules by which a node may replace the writer `old` of its
// pool (-1: none known): a failover, an election in place of a writer that
// is gone, and a switchover all ask it (doc/pool-logic.md, "Eligible to
// replace the writer"); "" when it may. Every refusal is one that time or
// an operator can end: nothing known only from before the trouble refuses
// a node that has since applied all it received, and its STATE neither (a
// standby FAIL for a lag it no longer has may hold the most data); what
// made it FAIL and still holds is checked here.
// caught_up: a switchover's target was just seen caught up on live
// connections. may_wait: a relay log not applied yet is no refusal (with
// semi_sync the pool waits for the node that received the most).
std::string WhyNotEligibleToReplace(const Config& cfg, const Evaluation& ev, int pool, int old, int node,
                                    bool caught_up, bool may_wait) {
  const PoolConfig& pc = cfg.pools[static_cast<size_t>(pool)];
  const NodeEval& n = ev.nodes[static_cast<size_t>(node)];
  if (!cfg.nodes[static_cast<size_t>(node)].promote) return "promote = no";
  if (n.offline) return "OFFLINE";
  if (n.demoted) return "demoted";
  if (!n.diverged.empty()) return "diverged: " + n.diverged;
  if (!n.errant.empty()) return "errant: " + n.errant;
  if (Unpolled(n)) return "not polled this round (a monitor problem)";
  if (!n.polled) return "not polled yet";
  if (n.last.outcome != PollOutcome::kOk) return std::string("last poll: ") + PollOutcomeName(n.last.outcome);
  if (PollLevel(n) >= pc.failover_at) return std::string("STATUS ") + StatusName(PollLevel(n));
  std::string never = NeverPromoted(cfg, n, node);
  if (!never.empty()) return never;
  const ReplicationStatus& r = n.last.repl;
  if (old >= 0 && !r.configured) return "not a replica";
  if (old >= 0 && !SameAddress(r.source, cfg.nodes[static_cast<size_t>(old)].address))
    return "replicates from " + r.source_text + ", not from " + cfg.nodes[static_cast<size_t>(old)].name;
  if (r.configured && !r.sql_running) return "SQL thread stopped";
  if (r.configured && r.sql_errno != 0) return "SQL thread error " + std::to_string(r.sql_errno);
  std::string cut_off = CutOffBefore(cfg, ev, pool, old, node);
  if (!cut_off.empty()) return cut_off;
  if (caught_up || !r.configured) return "";  // not a replica: no writer was known
  std::string limit = " > max_promote_lag " + Seconds(pc.max_promote_lag_ms);
  if (!r.relay_applied && !may_wait) {
    std::string why = "relay log not applied yet";
    int64_t lag = n.lag_before_trouble;
    if (lag > 0)
      why += " (lag " + std::to_string(lag) + "s before the trouble" +
             (lag * 1000 > pc.max_promote_lag_ms ? limit : std::string()) + ")";
    return why;
  }
  // Still receiving from a writer that answers: how far behind it is now.
  int64_t lag = TrustedLag(n.last);
  if (lag * 1000 > pc.max_promote_lag_ms) return "lag " + std::to_string(lag) + "s" + limit;
  return "";
}

// Who replaces a failing writer, or why nobody does yet.
struct Replacement {
  int chosen = -1;            // the node to make ACTIVE
  int awaited = -1;           // a node given time to apply what it received first
  bool promote_wait = false;  // awaited for promote_wait, else for semi_sync
  std::string blocked;        // why no node may be chosen (semi_sync)
  std::string refusals;       // why each other node is not eligible: "db2: ...; db3: ..."
  std::string other_zones;    // failover_zones = same: "db4 in zone west, ..." not considered
};

class PoolRound {
 public:
  PoolRound(const Config& cfg, int pool, const RoundInput& in, Evaluation* ev)
      : cfg_(cfg), pool_(cfg.pools[static_cast<size_t>(pool)]), pool_index_(pool), in_(in), ev_(*ev),
        pe_(ev->pools[static_cast<size_t>(pool)]) {}

  void Run();
  void Follow(const PublishedDecision& d, const std::string& note);

 private:
  NodeEval& Node(int n) { return ev_.nodes[static_cast<size_t>(n)]; }
  const std::string& Name(int n) { return cfg_.nodes[static_cast<size_t>(n)].name; }
  void SetState(int n, State s, TransitionCause cause, const std::string& why);
  void Elect();
  void ElectInPlaceOf(int old, const std::string& old_what);
  Replacement ChooseInPlaceOf(int old);
  void Demote(int old, int by);
  std::string AwaitedNote(const Replacement& c, const std::string& before);
  std::string NoneEligibleNote(const Replacement& c, int old, const std::string& none);
  void Choose(int n, TransitionCause cause, const std::string& why);
  void FindErrant(int active);
  void RecordWriterSemiSync(int active);
  bool Sever(int active, std::string* not_severed);
  int MostReceived(int active, std::string* blocked);
  void Failover(int active);
  void Failback(int active);
  void AssignOthers(int active, bool active_failing);
  Status Judge(int n, int active, bool active_failing, bool* healthy);
  void RememberLags(int final_active);
  std::string UnpolledNodes(bool candidates_only);

  const Config& cfg_;
  const PoolConfig& pool_;
  int pool_index_;
  const RoundInput& in_;
  Evaluation& ev_;
  PoolEval& pe_;
};

void PoolRound::SetState(int n, State s, TransitionCause cause, const std::string& why) {
  NodeEval& ne = Node(n);
  if (ne.state == s) return;
  ev_.transitions.push_back(Transition{n, ne.state, s, cause});
  ne.state = s;
  ne.state_reason = why;
}

// The election of a pool without an ACTIVE (at start, or when none was
// possible before) decides on the same evidence as the running daemon:
// the writer it had (recorded before a restart, or the node the replicas
// follow) keeps the role while it looks like the writer, is never moved for
// one failed poll, 1040 or 1045, and is replaced only by a failover's rules.
void PoolRound::Elect() {
  std::string prefix;  // why the recorded ACTIVE was set aside, for the note
  int presumed = -1;   // the writer the pool had, when it is not usable now
  std::string presumed_what;
  int recorded = pe_.recorded_active;
  if (recorded >= 0) {
    const NodeEval& r = Node(recorded);
    if (r.offline || r.demoted || !r.polled) {
      recorded = -1;
    } else if (!NeverPromoted(cfg_, r, recorded).empty()) {
      presumed = recorded;  // it may not stay: replaced below as a failover would
      presumed_what = "ACTIVE before the restart";
    } else if (r.last.outcome == PollOutcome::kOk && PollLevel(r) < pool_.failover_at) {
      std::string no = NoLongerWriter(cfg_, ev_, pool_, recorded);
      if (no.empty()) {
        Choose(recorded, TransitionCause::kElection, "elected: ACTIVE before the restart, still the writer");
        return;
      }
      prefix = Name(recorded) + ", ACTIVE before the restart, is " + no + "; ";
    } else {
      presumed = recorded;
      presumed_what = "ACTIVE before the restart";
    }
  }
  // On evidence: a healthy node that others replicate from, or writable.
  // One that may never be the writer and looks more like it than any
  // other is the writer the pool had, replaced below as a failover would.
  int best = -1, best_score = 0, never = -1, never_score = 0;
  for (int n : pool_.nodes) {
    if (n == presumed || !IsCandidateForElection(Node(n), pool_)) continue;
    int score = WriterScore(cfg_, ev_, pool_, n);
    bool may = NeverPromoted(cfg_, Node(n), n).empty();
    int& top = may ? best_score : never_score;
    if (score > top) {
      top = score;
      (may ? best : never) = n;
    }
  }
  if (presumed < 0 && never >= 0 && never_score >= 2 && never_score > best_score) {
    presumed = never;
    presumed_what = "replication source of the pool";
  }
  if (presumed < 0 && best >= 0) {
    Choose(best, TransitionCause::kElection,
           best_score >= 2 ? "elected: replication source of the pool" : "elected: writable");
    return;
  }
  if (presumed < 0) {
    // Nobody looks like the writer: the node most replicas follow, if it is
    // in the pool, was it.
    std::vector<int> followers(cfg_.nodes.size(), 0);
    for (int n : pool_.nodes) {
      if (!IsCandidateForElection(Node(n), pool_)) continue;
      int source = SourceInPool(cfg_, pool_, Node(n));
      if (source >= 0 && source != n && !Node(source).demoted && !Node(source).offline)
        ++followers[static_cast<size_t>(source)];
    }
    for (int n : pool_.nodes)
      if (followers[static_cast<size_t>(n)] > 0 &&
          (presumed < 0 || followers[static_cast<size_t>(n)] > followers[static_cast<size_t>(presumed)]))
        presumed = n;
    if (presumed >= 0) presumed_what = "replication source of the pool";
  }
  if (presumed >= 0 && !Node(presumed).polled) presumed = -1;  // no news of it at all
  if (presumed < 0 && best < 0) {
    // Nobody looks like the writer: a node that missed a poll but not as
    // many as a failover needs may be it (a busy server at start-up).
    for (int n : pool_.nodes) {
      const NodeEval& ne = Node(n);
      if (ne.offline || ne.demoted || !PollFailed(ne.last.outcome) || PollLevel(ne) >= pool_.failover_at) continue;
      pe_.note = prefix + "election waits: " + Name(n) + " is " + StatusName(PollLevel(ne)) + ": " + PollProblem(ne) +
                 ", and no node looks like the writer";
      return;
    }
  }
  std::string set_aside = presumed >= 0 ? NeverPromoted(cfg_, Node(presumed), presumed) : std::string();
  if (!set_aside.empty()) {
    ElectInPlaceOf(presumed, presumed_what + ", " + set_aside);
    if (!pe_.elected && !prefix.empty()) pe_.note = prefix + pe_.note;
    return;
  }
  if (presumed >= 0 && AliveButUnusable(Node(presumed).last)) {
    // Alive: it stays unless another node is plainly the writer now:
    // writable, followed by others, and not one of its own replicas.
    if (best >= 0 && best_score >= 3 && SourceInPool(cfg_, pool_, Node(best)) != presumed) {
      Choose(best, TransitionCause::kElection, "elected: writable replication source of the pool");
    } else {
      Choose(presumed, TransitionCause::kElection,
             "elected: " + presumed_what + ", alive (" + PollOutcomeName(Node(presumed).last.outcome) + ")");
    }
    return;
  }
  if (presumed >= 0) {
    Status level = PollLevel(Node(presumed));
    if (level < pool_.failover_at) {
      // One failed poll never moves the writer; the next ones decide.
      pe_.note = prefix + "election waits: " + Name(presumed) + " (" + presumed_what + ") is " + StatusName(level) +
                 ": " + PollProblem(Node(presumed));
      return;
    }
  }
  ElectInPlaceOf(presumed, presumed_what);
  if (!pe_.elected && !prefix.empty()) pe_.note = prefix + pe_.note;
}

// Who replaces the writer `old` (-1: none known), by the rules of
// WhyNotEligibleToReplace: the eligible node that received the most of
// old's data, then priority order. With semi_sync only the node that
// received the most may (a commit was acknowledged once one replica had
// it), once it has applied it; with promote_wait a node that received more
// but has not applied it yet gets that long first. A failover and an
// election in place of a writer that is gone both choose here.
Replacement PoolRound::ChooseInPlaceOf(int old) {
  Replacement out;
  auto received = [&](int n) -> const ReplicationPosition& { return Node(n).last.repl.received; };
  // failover_zones binds a failover: a writer set aside because it may not
  // be one (promote = no) has not failed, and is replaced as a switchover
  // would, in any zone.
  int zone_of = old >= 0 && NeverPromoted(cfg_, Node(old), old).empty() ? old : -1;
  for (int n : pool_.nodes) {
    if (n == old) continue;
    std::string outside = OutsideZone(cfg_, pool_, zone_of, n);
    if (!outside.empty()) {
      out.other_zones += (out.other_zones.empty() ? "" : ", ") + outside;
      continue;
    }
    std::string no = WhyNotEligibleToReplace(cfg_, ev_, pool_index_, old, n, false, false);
    if (!no.empty()) {
      out.refusals += (out.refusals.empty() ? "" : "; ") + Name(n) + ": " + no;
      continue;
    }
    if (out.chosen < 0 || ComparePositions(received(n), received(out.chosen)) == 1) out.chosen = n;
  }
  if (old >= 0 && pool_.semi_sync) {
    int most = MostReceived(old, &out.blocked);
    if (!out.blocked.empty()) {
      out.chosen = -1;
      return out;
    }
    if (most >= 0 && (out.chosen < 0 || ComparePositions(received(most), received(out.chosen)) == 1)) {
      std::string no = OutsideZone(cfg_, pool_, zone_of, most);
      if (!no.empty()) no = "in zone " + cfg_.nodes[static_cast<size_t>(most)].zone + " (failover_zones = same)";
      if (no.empty()) no = WhyNotEligibleToReplace(cfg_, ev_, pool_index_, old, most, false, true);
      out.chosen = -1;
      if (!no.empty()) {
        out.blocked = Name(most) + " received the most and with semi_sync no node that lacks it replaces " +
                      Name(old) + ", but " + Name(most) + ": " + no;
      } else if (!Node(most).last.repl.relay_applied) {
        out.awaited = most;
      } else {
        out.chosen = most;
      }
      return out;
    }
  }
  bool may_wait = in_.mono_ms - pe_.trouble_since_mono_ms < pool_.promote_wait_ms;
  if (!pool_.semi_sync && pool_.promote_wait_ms > 0 && may_wait) {
    for (int n : pool_.nodes) {
      if (n == old || Node(n).last.repl.relay_applied || !OutsideZone(cfg_, pool_, zone_of, n).empty()) continue;
      if (!WhyNotEligibleToReplace(cfg_, ev_, pool_index_, old, n, false, true).empty()) continue;
      if (out.chosen >= 0 && ComparePositions(received(n), received(out.chosen)) != 1) continue;
      out.chosen = -1;
      out.awaited = n;
      out.promote_wait = true;
      return out;
    }
  }
  return out;
}

// Why nobody replaces old: "no standby is eligible" or, with
// failover_zones = same and nodes in other zones, "no eligible standby in
// zone east (db4 in zone west is not considered)"; then each refusal.
std::string PoolRound::NoneEligibleNote(const Replacement& c, int old, const std::string& none) {
  std::string out = none;
  if (!c.other_zones.empty()) {
    const std::string& zone = cfg_.nodes[static_cast<size_t>(old)].zone;
    out = "no eligible standby in zone " + zone + " (" + c.other_zones + " " +
          (c.other_zones.find(',') == std::string::npos ? "is" : "are") + " not considered)";
  }
  return out + (c.refusals.empty() ? std::string() : ": " + c.refusals);
}

std::string PoolRound::AwaitedNote(const Replacement& c, const std::string& before) {
  if (c.promote_wait)
    return "waiting up to " + Seconds(pool_.promote_wait_ms) + " for " + Name(c.awaited) +
           " to apply its relay log before " + before;
  return "waiting for " + Name(c.awaited) + " to apply what it received before " + before +
         " (semi_sync: it alone has every acknowledged commit)";
}

// An election where the writer the pool had (old; -1: none known) is not
// usable: chosen as a failover would (ChooseInPlaceOf), and old, a node of
// the pool, is demoted. As at a failover, old's replicas first stop
// receiving from it (it may be hung, not dead).
void PoolRound::ElectInPlaceOf(int old, const std::string& old_what) {
  if (pe_.trouble_since_mono_ms < 0) pe_.trouble_since_mono_ms = in_.mono_ms;
  std::string not_severed;
  if (old >= 0 && Sever(old, &not_severed)) return;
  Replacement c = ChooseInPlaceOf(old);
  bool set_aside = old >= 0 && !NeverPromoted(cfg_, Node(old), old).empty();
  std::string failing = old < 0 ? std::string()
                                : Name(old) + " (" + old_what + ") " +
                                      (set_aside ? "may not be the writer" : "is failing");
  if (!c.blocked.empty()) {
    pe_.note = "no node can be ACTIVE: " + failing + ": " + c.blocked;
    return;
  }
  if (c.awaited >= 0) {
    pe_.note = AwaitedNote(c, "the election");
    pe_.awaited = c.awaited;
    return;
  }
  if (c.chosen < 0) {
    if (old >= 0) {
      pe_.note = "no node can be ACTIVE: " + failing + " and " + NoneEligibleNote(c, old, "no node is eligible");
    } else {
      pe_.note = "no node can be ACTIVE: none is healthy";
      if (!c.refusals.empty()) pe_.note += ": " + c.refusals;
    }
    return;
  }
  if (old < 0) {
    Choose(c.chosen, TransitionCause::kElection,
           Node(c.chosen).last.repl.configured ? "elected: the replica that received the most"
                                               : "elected: first healthy node in priority order");
    return;
  }
  std::string cause = Name(old) + " (" + old_what + ") " + StatusName(PollLevel(Node(old)));
  std::string problem = PollProblem(Node(old));
  if (!problem.empty()) cause += ": " + problem;
  Choose(c.chosen, TransitionCause::kFailover, "elected in place of " + cause);
  Demote(old, c.chosen);
  pe_.note = "failover at election: " + Name(old) + " -> " + Name(c.chosen);
  if (!not_severed.empty()) pe_.note += " (not stopped from receiving, " + not_severed + ")";
}

// old, the writer replaced by `by`, is FAIL until an operator or
// demoted_recovery brings it back; the failover is the pool's last one.
void PoolRound::Demote(int old, int by) {
  SetState(old, State::kFail, TransitionCause::kFailover,
           "demoted in favour of " + Name(by) + "; `mppctl recover " + Name(old) + "` when its data is checked");
  Node(old).demoted = true;
  Node(old).healthy_rounds = 0;
  pe_.trouble_since_mono_ms = -1;
  pe_.severing_since_mono_ms = -1;
  pe_.last_failover = FailoverRecord{in_.now_ms, Name(old), Name(by)};
}

void PoolRound::Choose(int n, TransitionCause cause, const std::string& why) {
  // A switchover's choice stays one across a restart: failback respects it.
  pe_.active_by_switchover = n == pe_.recorded_active && pe_.recorded_by_switchover;
  pe_.elected = true;
  pe_.trouble_since_mono_ms = -1;
  pe_.recorded_active = -1;
  pe_.recorded_by_switchover = false;
  pe_.note.clear();
  SetState(n, State::kActive, cause, why);
}

// The nodes of the pool the monitor could not poll this round, as a list
// for a note; candidates_only: only those a failover could choose from.
std::string PoolRound::UnpolledNodes(bool candidates_only) {
  std::string out;
  for (int n : pool_.nodes) {
    const NodeEval& ne = Node(n);
    if (!Unpolled(ne)) continue;
    if (candidates_only && ne.state != State::kActive && (ne.state != State::kStandby || ne.offline)) continue;
    out += (out.empty() ? "" : ", ") + Name(n);
  }
  return out;
}

// How long a failover's first phase may take: the worker stops the
// replicas one after the other, each bounded like an attachment.
int64_t SeverBoundMs(const Config& cfg) {
  return 2 * (cfg.connect_timeout_ms + 2 * cfg.query_timeout_ms + 1000) + cfg.interval_ms;
}

// With manage_replication, a failover first stops every reachable replica
// of the failing writer from receiving more of it: a writer that hangs and
// resumes could otherwise have late commits acknowledged (semi-sync) by a
// replica that is not re-pointed yet, commits the new writer never gets.
// True while some still receive (pe_.severing, for the plan). Past
// SeverBoundMs the failover goes on without those whose stop keeps
// failing: a pool without a writer for ever is no answer either.
// *not_severed names the nodes that could not be asked, or not stopped.
bool PoolRound::Sever(int active, std::string* not_severed) {
  if (!pool_.manage_replication) return false;
  std::string unreachable, listening;
  std::vector<int> severing;
  for (int n : pool_.nodes) {
    const NodeEval& ne = Node(n);
    if (n == active) continue;
    if (ne.last.outcome != PollOutcome::kOk && !ne.last.check_failed_only) {
      unreachable += (unreachable.empty() ? "" : ", ") + Name(n);
      continue;
    }
    if (SourceInPool(cfg_, pool_, ne) != active || ne.last.repl.io == IoThread::kNo) continue;
    severing.push_back(n);
    listening += (listening.empty() ? "" : ", ") + Name(n);
  }
  if (!unreachable.empty()) *not_severed = "unreachable: " + unreachable;
  if (severing.empty()) return false;
  if (pe_.severing_since_mono_ms < 0) pe_.severing_since_mono_ms = in_.mono_ms;
  if (in_.mono_ms - pe_.severing_since_mono_ms >= SeverBoundMs(cfg_)) {
    *not_severed += (not_severed->empty() ? "" : "; ") + std::string("still receiving after ") +
                    Seconds(SeverBoundMs(cfg_)) + ": " + listening;
    return false;
  }
  pe_.severing = severing;
  pe_.severing_from = active;
  pe_.note = "failover: first stopping " + listening + " from receiving from " + Name(active);
  return true;
}

// The reachable replica of the failing writer `active` that received the
// most of it (priority breaks ties), -1 if none; *blocked says why none
// can be trusted to hold all the others received (different histories).
int PoolRound::MostReceived(int active, std::string* blocked) {
  std::vector<int> replicas;
  for (int n : pool_.nodes)
    if (n != active && !Unpolled(Node(n)) && SourceInPool(cfg_, pool_, Node(n)) == active) replicas.push_back(n);
  int most = -1;
  for (int n : replicas)
    if (most < 0 || ComparePositions(Node(n).last.repl.received, Node(most).last.repl.received) == 1) most = n;
  for (int n : replicas) {
    const ReplicationPosition& a = Node(most).last.repl.received;
    const ReplicationPosition& b = Node(n).last.repl.received;
    if (n == most || a.gtid.empty() || b.gtid.empty() || ComparePositions(a, b) != 2) continue;
    *blocked = Name(most) + " and " + Name(n) + " received different histories of " + Name(active);
    return -1;
  }
  return most;
}

void PoolRound::Failover(int active) {
  if (pe_.trouble_since_mono_ms < 0) pe_.trouble_since_mono_ms = in_.mono_ms;
  std::string not_severed;
  if (Sever(active, &not_severed)) return;
  Replacement c = ChooseInPlaceOf(active);
  if (!c.blocked.empty()) {
    pe_.note = "ACTIVE " + Name(active) + " is failing but no standby is promoted: " + c.blocked;
    return;
  }
  if (c.awaited >= 0) {
    pe_.note = AwaitedNote(c, "failover");
    pe_.awaited = c.awaited;
    return;
  }
  if (c.chosen < 0) {
    pe_.note = "ACTIVE " + Name(active) + " is failing but " +
               (c.refusals.empty() && c.other_zones.empty() ? std::string("no standby is eligible: no standby")
                                                             : NoneEligibleNote(c, active, "no standby is eligible"));
    return;
  }
  std::string cause = Name(active) + " " + StatusName(PollLevel(Node(active)));
  std::string problem = PollProblem(Node(active));
  if (!problem.empty()) cause += ": " + problem;
  SetState(c.chosen, State::kActive, TransitionCause::kFailover, "promoted: " + cause);
  Demote(active, c.chosen);
  pe_.active_by_switchover = false;
  pe_.note = "failover: " + Name(active) + " -> " + Name(c.chosen);
  if (!not_severed.empty()) pe_.note += " (not stopped from receiving, " + not_severed + ")";
}

void PoolRound::Failback(int active) {
  int primary = pool_.nodes[0];
  if (!pool_.failback || active == primary || pe_.active_by_switchover) return;
  const NodeEval& p = Node(primary);
  if (!NeverPromoted(cfg_, p, primary).empty()) return;
  if (p.state != State::kStandby || p.offline || Unpolled(p) || Unpolled(Node(active)) ||
      PollLevel(p) != Status::kOk || p.last.outcome != PollOutcome::kOk)
    return;
  const ReplicationStatus& r = p.last.repl;
  bool caught_up = r.configured && SameAddress(r.source, cfg_.nodes[static_cast<size_t>(active)].address) &&
                   r.io == IoThread::kYes && r.sql_running && r.sql_errno == 0 && r.relay_applied &&
                   r.lag_s == 0;
  if (!caught_up) return;
  SetState(primary, State::kActive, TransitionCause::kFailback, "failback: PRIMARY is OK and caught up");
  SetState(active, State::kStandby, TransitionCause::kFailback, "failback to " + Name(primary));
  pe_.note = "failback: " + Name(active) + " -> " + Name(primary);
}

// A node's STATUS and reason from its polls and its replication
// condition; *healthy: clean and without a condition (the poll level
// follows by itself after recover_after clean polls).
Status PoolRound::Judge(int n, int active, bool active_failing, bool* healthy) {
  NodeEval& ne = Node(n);
  Condition c = ReplicationCondition(cfg_, ev_, pool_, n, active, active_failing);
  Status level = MaxStatus(PollLevel(ne), c.level);
  *healthy = ne.last.outcome == PollOutcome::kOk && c.level <= Status::kInfo;
  if (PolledNow(in_, n)) ne.healthy_rounds = *healthy ? ne.healthy_rounds + 1 : 0;
  ne.status = level;
  std::string problem = PollProblem(ne);
  ne.reason = !problem.empty() && PollLevel(ne) >= c.level ? problem : c.why;
  return level;
}

// A director pair's follower: the STATEs are the leader's, taken by name;
// a node the leader did not publish is UNKNOWN. The polls still give each
// node its STATUS and reason here.
void PoolRound::Follow(const PublishedDecision& d, const std::string& note) {
  const PublishedPool* pp = nullptr;
  for (const PublishedPool& p : d.pools)
    if (p.name == pool_.name) pp = &p;
  pe_.note = note;
  pe_.awaited = -1;
  pe_.severing.clear();
  pe_.severing_from = -1;
  pe_.recorded_active = -1;
  pe_.elected = pp != nullptr && pp->elected;
  pe_.active_by_switchover = pp != nullptr && pp->active_by_switchover;
  pe_.last_failover = pp != nullptr ? pp->last_failover : FailoverRecord();
  for (int n : pool_.nodes) {
    const PublishedNode* pn = nullptr;
    if (pp != nullptr)
      for (const PublishedNode& x : pp->nodes)
        if (x.name == Name(n)) pn = &x;
    NodeEval& ne = Node(n);
    ne.demoted = pn != nullptr && pn->demoted;
    ne.offline = pn != nullptr && pn->offline;
    if (pn == nullptr) SetState(n, State::kUnknown, TransitionCause::kLeader, "not in the leader's decision");
    else SetState(n, pn->state, TransitionCause::kLeader, pn->why);
    if (pn != nullptr) ne.state_reason = pn->why;
  }
  int active = ev_.ActiveOf(cfg_, pool_index_);
  bool active_failing = active >= 0 && PollFailed(Node(active).last.outcome);
  RememberLags(active);
  for (int n : pool_.nodes) {
    NodeEval& ne = Node(n);
    if (Unpolled(ne)) {
      ne.reason = "not polled, a monitor problem: " + ne.monitor_error;
      continue;
    }
    bool healthy = false;
    Judge(n, active, active_failing, &healthy);
  }
}

void PoolRound::AssignOthers(int active, bool active_failing) {
  for (int n : pool_.nodes) {
    NodeEval& ne = Node(n);
    if (Unpolled(ne)) {
      // No news: STATUS, STATE and counters stay; only an operator's
      // OFFLINE, which needs none, applies.
      ne.reason = "not polled, a monitor problem: " + ne.monitor_error;
      if (n != active && ne.offline)
        SetState(n, State::kOffline, TransitionCause::kOperator, "taken offline by an operator");
      continue;
    }
    bool healthy = false;
    Status level = Judge(n, active, active_failing, &healthy);
    if (n == active) continue;

    if (ne.offline) {
      SetState(n, State::kOffline, TransitionCause::kOperator, "taken offline by an operator");
      continue;
    }
    if (!pe_.elected || !ne.polled) continue;  // stays UNKNOWN until known
    if (!ne.diverged.empty() || !ne.errant.empty()) {
      // It has transactions the ACTIVE lacks: never attached, never a
      // STANDBY, until an operator rebuilds it. Not a healthy round either:
      // once cleared, it comes back after recover_after of them.
      ne.healthy_rounds = 0;
      ne.status = MaxStatus(ne.status, Status::kCritical);
      ne.reason = !ne.diverged.empty() ? "diverged: " + ne.diverged : "errant: " + ne.errant;
      SetState(n, State::kFail, TransitionCause::kHealth, ne.reason);
      continue;
    }
    if (ne.demoted) {
      bool auto_ok = pool_.demoted_recovery == DemotedRecovery::kAuto &&
                     ne.healthy_rounds >= pool_.recover_after;
      if (!auto_ok) {
        SetState(n, State::kFail, TransitionCause::kHealth, ne.state_reason);
        continue;
      }
      ne.demoted = false;
    }
    if (level >= pool_.failover_at) {
      SetState(n, State::kFail, TransitionCause::kHealth,
               std::string("failing: ") + (ne.reason.empty() ? StatusName(level) : ne.reason));
    } else if (ne.state == State::kFail && ne.healthy_rounds < pool_.recover_after && !(ne.attached && healthy)) {
      // anti-flap: a failed standby comes back after recover_after good
      // rounds, unless its trouble was our own re-pointing of it
    } else {
      ne.attached = false;
      SetState(n, State::kStandby, TransitionCause::kHealth,
               ne.state == State::kFail ? "recovered" : "standby");
    }
  }
}

// Errant transactions on the standbys that follow the ACTIVE, from this
// round's polls of both (WhyErrant): a node that has one is never promoted
// and never a STANDBY. Without a fresh poll of both, what was known stays.
void PoolRound::FindErrant(int active) {
  if (active < 0 || in_.between_rounds) return;
  const PollResult& a = Node(active).last;
  if (Unpolled(Node(active)) || a.outcome != PollOutcome::kOk || !a.binlog_state_known) return;
  for (int n : pool_.nodes) {
    NodeEval& ne = Node(n);
    if (n == active || Unpolled(ne) || ne.last.outcome != PollOutcome::kOk || !ne.last.binlog_state_known ||
        SourceInPool(cfg_, pool_, ne) != active)
      continue;
    GtidHistory history{a.binlog_state, a.slave_pos, static_cast<uint32_t>(a.server_id)};
    std::string why = WhyErrant(ne.last.binlog_state, history, Name(active));
    ne.errant_seen = why.empty() ? 0 : ne.errant_seen + 1;
    if (why.empty()) ne.errant.clear();
    else if (ne.errant_seen >= 2) ne.errant = why;
  }
}

// The ACTIVE's semi-sync, as this round's poll of it saw it, while its
// primary side is on: what a later rewind of its tail compares with.
void PoolRound::RecordWriterSemiSync(int active) {
  if (active < 0 || !pool_.semi_sync) return;
  NodeEval& ne = Node(active);
  const SemiSync& s = ne.last.semi;
  if (Unpolled(ne) || ne.last.outcome != PollOutcome::kOk || !s.status_known || !s.on) return;
  ne.writer_semi =
      WriterSemiSyncSeen{true, s.off_times, s.unacked, s.started_at_s, s.flushed_after_s, ne.acks_cut, s.binlog_file};
}

void PoolRound::Run() {
  pe_.severing.clear();
  pe_.severing_from = -1;
  int active = ev_.ActiveOf(cfg_, pool_index_);
  FindErrant(active);
  if (active < 0) {
    if (pe_.first_round_mono_ms < 0) pe_.first_round_mono_ms = in_.mono_ms;
    bool all_polled = true;
    for (int n : pool_.nodes) all_polled = all_polled && Node(n).polled;
    // A node the monitor could not poll may be the one to elect: wait for
    // news of it rather than pick another because of our own fault.
    std::string unpolled = UnpolledNodes(false);
    if (!unpolled.empty()) {
      pe_.note = "election postponed: the monitor could not poll " + unpolled;
    } else if (pe_.elected || all_polled || in_.mono_ms - pe_.first_round_mono_ms >= pool_.election_timeout_ms) {
      Elect();
    } else {
      pe_.note = "waiting for every node's first poll before the first election";
    }
  } else {
    Status level = PollLevel(Node(active));
    std::string unpolled = UnpolledNodes(true);
    if (level >= pool_.failover_at && !unpolled.empty()) {
      // The choice of the new writer needs fresh news of every candidate.
      pe_.note = "failover postponed: the monitor could not poll " + unpolled;
    } else if (level >= pool_.failover_at) {
      Failover(active);
    } else {
      pe_.severing_since_mono_ms = -1;
      if (level == Status::kOk) pe_.trouble_since_mono_ms = -1;
      if (level > Status::kOk && pe_.trouble_since_mono_ms < 0) pe_.trouble_since_mono_ms = in_.mono_ms;
      if (pe_.note.rfind("ACTIVE ", 0) == 0 || pe_.note.rfind("waiting up to", 0) == 0 ||
          pe_.note.rfind("failover postponed", 0) == 0)
        pe_.note.clear();
      Failback(active);
    }
  }
  int final_active = ev_.ActiveOf(cfg_, pool_index_);
  bool active_failing = final_active >= 0 && PollFailed(Node(final_active).last.outcome);
  RememberLags(final_active);
  RecordWriterSemiSync(final_active);
  AssignOthers(final_active, active_failing);
}

// What promotion eligibility looks back at once trouble starts; kept by a
// director pair's follower too, which may have to lead.
void PoolRound::RememberLags(int final_active) {
  if (final_active >= 0 && !Unpolled(Node(final_active)) && Node(final_active).last.outcome == PollOutcome::kOk) {
    // The standbys' lag while the writer is healthy: what promotion
    // eligibility looks back at once trouble starts. An unpolled standby
    // keeps the lag of its last poll; the writer has none to carry.
    for (int n : pool_.nodes) {
      NodeEval& ne = Node(n);
      if (Unpolled(ne)) continue;
      ne.lag_before_trouble = n == final_active ? -1 : TrustedLag(ne.last);
      if (n == final_active || (ne.last.repl.configured && ne.last.repl.io == IoThread::kYes))
        ne.not_receiving_since_mono_ms = -1;
      else if (ne.last.outcome == PollOutcome::kOk && ne.not_receiving_since_mono_ms < 0)
        ne.not_receiving_since_mono_ms = in_.mono_ms;
    }
  } else if (final_active < 0) {
    // Before an election: the last lag seen while both threads ran, for an
    // election that has to replace a writer that is gone.
    for (int n : pool_.nodes) {
      int64_t lag = Unpolled(Node(n)) ? -1 : TrustedLag(Node(n).last);
      if (lag >= 0) Node(n).lag_before_trouble = lag;
    }
  }
}

void ApplyCommand(const Config& cfg, const Command& cmd, Evaluation* ev, CommandResult* res) {
  int n = cfg.FindNode(cmd.node);
  if (n < 0) {
    res->message = "unknown node '" + cmd.node + "'";
    return;
  }
  NodeEval& ne = ev->nodes[static_cast<size_t>(n)];
  int pool = cfg.PoolOfNode(n);
  const PoolConfig& pc = cfg.pools[static_cast<size_t>(pool)];
  switch (cmd.kind) {
    case Command::kRecover:
      if (ne.state != State::kFail) {
        res->message = cmd.node + " is " + StateName(ne.state) + ", not FAIL: nothing to recover";
        return;
      }
      if (pc.manage_replication && (ne.demoted || !ne.diverged.empty())) {
        // One command per purpose: where MPP attaches replicas, taking a
        // node back means attaching it, after the divergence check.
        res->message = "pool " + pc.name + " manages replication: `mppctl rejoin " + cmd.node + "` attaches " +
                       cmd.node + " to the ACTIVE once its data is checked";
        return;
      }
      ne.demoted = false;
      ne.healthy_rounds = std::max(ne.healthy_rounds, pc.recover_after);
      ne.state_reason = "recovered by an operator";
      res->ok = true;
      res->message = cmd.node + " recovered: it becomes STANDBY as soon as it is healthy";
      return;
    case Command::kOffline:
      if (ne.state == State::kActive) {
        res->message = cmd.node + " is the ACTIVE of pool " + pc.name + ": move it first (mppctl switchover " +
                       pc.name + ")";
        return;
      }
      ne.offline = true;
      // OFFLINE from this moment: this very round must not promote it.
      if (ne.state != State::kOffline) {
        ev->transitions.push_back(Transition{n, ne.state, State::kOffline, TransitionCause::kOperator});
        ne.state = State::kOffline;
        ne.state_reason = "taken offline by an operator";
      }
      res->ok = true;
      res->message = cmd.node + " is OFFLINE";
      return;
    case Command::kOnline:
      if (!ne.offline) {
        res->message = cmd.node + " is not OFFLINE";
        return;
      }
      ne.offline = false;
      ne.healthy_rounds = 0;
      res->ok = true;
      res->message = cmd.node + " is back online";
      return;
    case Command::kSwitchover: {
      if (cmd.pool != pc.name) {
        res->message = cmd.node + " is not in pool '" + cmd.pool + "'";
        return;
      }
      int active = ev->ActiveOf(cfg, pool);
      if (active < 0 || active == n) {
        res->message = active < 0 ? "pool " + pc.name + " has no ACTIVE" : cmd.node + " is already ACTIVE";
        return;
      }
      std::string no = WhyNotEligible(cfg, *ev, pool, active, n, cmd.caught_up);
      if (!no.empty()) {
        res->message = "cannot switch over to " + cmd.node + ": " + no;
        return;
      }
      const std::string& old_name = cfg.nodes[static_cast<size_t>(active)].name;
      ev->transitions.push_back(Transition{active, State::kActive, State::kStandby, TransitionCause::kSwitchover});
      ev->transitions.push_back(Transition{n, ne.state, State::kActive, TransitionCause::kSwitchover});
      ev->nodes[static_cast<size_t>(active)].state = State::kStandby;
      ev->nodes[static_cast<size_t>(active)].state_reason = "switchover to " + cmd.node;
      ne.state = State::kActive;
      ne.state_reason = "switchover from " + old_name;
      ev->pools[static_cast<size_t>(pool)].active_by_switchover = true;
      ev->pools[static_cast<size_t>(pool)].note = "switchover: " + old_name + " -> " + cmd.node;
      res->ok = true;
      res->message = "switched over from " + old_name + " to " + cmd.node;
      return;
    }
  }
}

void UpdateHealth(const PoolConfig& pool, const PollResult& in, NodeEval* n) {
  if (in.outcome == PollOutcome::kMonitorError) {
    // The monitor's fault (no thread, no descriptor): no news of the node,
    // unlike a missing result below, which is a poll that did not answer.
    n->monitor_error = in.error.empty() ? PollOutcomeName(in.outcome) : in.error;
    return;
  }
  if (in.outcome == PollOutcome::kNotPolled && !n->polled) return;
  PollResult poll = in;
  if (poll.outcome == PollOutcome::kNotPolled) {
    // A node polled before and missing now: never decide on old facts.
    poll = PollResult();
    poll.outcome = PollOutcome::kTimeout;
    poll.error = "no poll result this round";
  }
  n->polled = true;
  n->last = poll;
  if (PollFailed(poll.outcome)) {
    ++n->failed_polls;
    n->clean_polls = 0;
    n->attached = false;  // failing again: the next recovery waits as usual
  } else if (poll.outcome == PollOutcome::kOk) {
    ++n->clean_polls;
    if (n->clean_polls >= pool.recover_after) n->failed_polls = 0;
  } else {
    n->clean_polls = 0;  // alive but unusable: neither failure nor recovery
  }
}

}  // namespace

int Evaluation::ActiveOf(const Config& cfg, int pool) const {
  for (int n : cfg.pools[static_cast<size_t>(pool)].nodes)
    if (nodes[static_cast<size_t>(n)].state == State::kActive) return n;
  return -1;
}

std::string NeverPromoted(const Config& cfg, const NodeEval& n, int node) {
  if (!cfg.nodes[static_cast<size_t>(node)].promote) return "promote = no";
  if (n.last.repl.configured && n.last.repl.delay_s > 0)
    return "delayed replica (SQL_Delay " + std::to_string(n.last.repl.delay_s) + "s)";
  return "";
}

std::string WhyNotEligible(const Config& cfg, const Evaluation& ev, int pool, int active, int node,
                           bool caught_up) {
  // A planned switchover moves the writer only to a STANDBY.
  const NodeEval& n = ev.nodes[static_cast<size_t>(node)];
  if (n.state != State::kStandby) return std::string("is ") + StateName(n.state);
  return WhyNotEligibleToReplace(cfg, ev, pool, active, node, caught_up, false);
}

int ChooseSwitchoverTarget(const Config& cfg, const Evaluation& ev, const std::string& pool,
                           const std::string& target, std::string* why) {
  int p = cfg.FindPool(pool);
  if (p < 0) {
    *why = "unknown pool '" + pool + "'";
    return -1;
  }
  if (ev.isolated) {
    *why = "the monitor is isolated: every STATE is frozen";
    return -1;
  }
  int active = ev.ActiveOf(cfg, p);
  if (active < 0) {
    *why = "pool " + pool + " has no ACTIVE";
    return -1;
  }
  if (!target.empty()) {
    int n = cfg.FindNode(target);
    if (n < 0 || cfg.PoolOfNode(n) != p) {
      *why = n < 0 ? "unknown node '" + target + "'" : target + " is not in pool " + pool;
      return -1;
    }
    if (n == active) {
      *why = target + " is already ACTIVE";
      return -1;
    }
    const NodeEval& ne = ev.nodes[static_cast<size_t>(n)];
    std::string no = NeverPromoted(cfg, ne, n);
    if (no.empty() && ne.state != State::kStandby) no = std::string("is ") + StateName(ne.state);
    if (no.empty() && Unpolled(ne)) no = "was not polled in the last round (a monitor problem)";
    if (no.empty() && !ne.errant.empty()) no = "errant: " + ne.errant;
    if (no.empty() && PollLevel(ne) >= cfg.pools[static_cast<size_t>(p)].failover_at) no = "is failing";
    if (no.empty() && !(ne.last.repl.configured && SameAddress(ne.last.repl.source, cfg.nodes[static_cast<size_t>(active)].address)))
      no = "does not replicate from the ACTIVE";
    if (no.empty() && (!ne.last.repl.sql_running || ne.last.repl.sql_errno != 0)) no = "SQL thread not running";
    if (!no.empty()) {
      *why = "cannot switch over to " + target + ": " + no;
      return -1;
    }
    return n;
  }
  for (int n : cfg.pools[static_cast<size_t>(p)].nodes) {
    if (n == active) continue;
    const NodeEval& ne = ev.nodes[static_cast<size_t>(n)];
    if (ne.state == State::kStandby && NeverPromoted(cfg, ne, n).empty() && !Unpolled(ne) &&
        ne.status <= Status::kInfo && ne.last.repl.configured &&
        SameAddress(ne.last.repl.source, cfg.nodes[static_cast<size_t>(active)].address) &&
        ne.last.repl.sql_running && ne.last.repl.sql_errno == 0)
      return n;
  }
  *why = "no eligible standby in pool " + pool;
  return -1;
}

void ComputeDecisions(const Config& cfg, Evaluation* ev) {
  ev->decisions.assign(cfg.vss.size(), {});
  for (size_t v = 0; v < cfg.vss.size(); ++v) {
    const VsConfig& vs = cfg.vss[v];
    const PoolConfig& pool = cfg.pools[static_cast<size_t>(vs.pool)];
    std::vector<Decision>& out = ev->decisions[v];
    out.assign(pool.nodes.size(), Decision());
    int active = ev->ActiveOf(cfg, vs.pool);
    auto rw_up = [&](int n) {
      const NodeEval& ne = ev->nodes[static_cast<size_t>(n)];
      return ne.state == State::kActive && ne.status < vs.rw_down_at;
    };
    bool any_up = false;
    for (size_t i = 0; i < pool.nodes.size(); ++i) {
      int n = pool.nodes[i];
      const NodeEval& ne = ev->nodes[static_cast<size_t>(n)];
      bool up;
      if (vs.role == VsRole::kReadWrite) {
        up = rw_up(n);
      } else {
        // The seed's rule: a standby serves reads only while all is well.
        const PollResult& p = ne.last;
        int64_t lag = TrustedLag(p);
        up = ne.state == State::kStandby && ne.status <= Status::kInfo && lag >= 0 &&
             lag * 1000 <= pool.max_lag_ms && active >= 0 &&
             SameAddress(p.repl.source, cfg.nodes[static_cast<size_t>(active)].address);
      }
      out[i].up = up;
      out[i].weight = up ? cfg.nodes[static_cast<size_t>(n)].weight : 0;
      any_up = any_up || up;
    }
    if (vs.role == VsRole::kReadOnly && !any_up && vs.ro_fallback_to_active && active >= 0 && rw_up(active)) {
      for (size_t i = 0; i < pool.nodes.size(); ++i) {
        if (pool.nodes[i] == active) {
          out[i].up = true;
          out[i].weight = cfg.nodes[static_cast<size_t>(active)].weight;
        }
      }
    }
  }
}

Evaluation InitialEvaluation(const Config& cfg,
                             const std::vector<std::pair<std::string, State>>& recorded_states,
                             const PoolMemory* memory) {
  Evaluation ev;
  ev.nodes.assign(cfg.nodes.size(), NodeEval());
  ev.pools.assign(cfg.pools.size(), PoolEval());
  auto set_offline = [&](int n, const char* why) {
    NodeEval& ne = ev.nodes[static_cast<size_t>(n)];
    ne.offline = true;
    ne.state = State::kOffline;
    ne.state_reason = why;
  };
  if (memory != nullptr) {
    // Matched by name, and a node only within the pool it was in.
    for (const PoolMemoryEntry& pm : memory->pools) {
      int p = cfg.FindPool(pm.pool);
      if (p < 0) continue;
      PoolEval& pe = ev.pools[static_cast<size_t>(p)];
      int n = cfg.FindNode(pm.active);
      if (!pm.active.empty() && n >= 0 && cfg.PoolOfNode(n) == p) {
        pe.recorded_active = n;
        pe.recorded_by_switchover = pm.active_by_switchover;
      }
      pe.last_failover = pm.last_failover;
    }
    for (const NodeMemoryEntry& nm : memory->nodes) {
      int n = cfg.FindNode(nm.node);
      if (n < 0 || cfg.PoolOfNode(n) != cfg.FindPool(nm.pool)) continue;
      NodeEval& ne = ev.nodes[static_cast<size_t>(n)];
      if (nm.demoted) {
        ne.demoted = true;
        ne.state_reason = "demoted before the restart; `mppctl recover " + nm.node + "` when its data is checked";
      }
      if (nm.offline) set_offline(n, "OFFLINE before the restart");
    }
  } else {
    for (const auto& [name, state] : recorded_states) {
      int n = cfg.FindNode(name);
      if (n < 0) continue;
      if (state == State::kActive) {
        int p = cfg.PoolOfNode(n);
        if (p >= 0) ev.pools[static_cast<size_t>(p)].recorded_active = n;
      } else if (state == State::kOffline) {
        set_offline(n, "OFFLINE in the previous state file");
      }
    }
  }
  ComputeDecisions(cfg, &ev);
  return ev;
}

PoolMemory RememberPools(const Config& cfg, const Evaluation& ev) {
  PoolMemory m;
  for (size_t p = 0; p < cfg.pools.size(); ++p) {
    const PoolEval& pe = ev.pools[p];
    PoolMemoryEntry e;
    e.pool = cfg.pools[p].name;
    int active = ev.ActiveOf(cfg, static_cast<int>(p));
    if (active >= 0) {
      e.active = cfg.nodes[static_cast<size_t>(active)].name;
      e.active_by_switchover = pe.active_by_switchover;
    } else if (pe.recorded_active >= 0) {
      // Not judged yet: a second restart must still know it.
      e.active = cfg.nodes[static_cast<size_t>(pe.recorded_active)].name;
      e.active_by_switchover = pe.recorded_by_switchover;
    }
    e.last_failover = pe.last_failover;
    m.pools.push_back(e);
    for (int n : cfg.pools[p].nodes) {
      const NodeEval& ne = ev.nodes[static_cast<size_t>(n)];
      if (ne.demoted || ne.offline)
        m.nodes.push_back(NodeMemoryEntry{e.pool, cfg.nodes[static_cast<size_t>(n)].name, ne.demoted, ne.offline});
    }
  }
  return m;
}

namespace {

// Since the last round: the polls' news, and what the worker found out.
void TakeNews(const Config& cfg, const RoundInput& in, Evaluation* ev) {
  for (size_t n = 0; n < ev->nodes.size(); ++n)
    if (PolledNow(in, static_cast<int>(n))) ev->nodes[n].monitor_error.clear();
  for (size_t p = 0; p < cfg.pools.size(); ++p)
    for (int n : cfg.pools[p].nodes)
      if (static_cast<size_t>(n) < in.polls.size() && PolledNow(in, n))
        UpdateHealth(cfg.pools[p], in.polls[static_cast<size_t>(n)], &ev->nodes[static_cast<size_t>(n)]);

  for (size_t n = 0; n < ev->nodes.size() && n < in.topology.size(); ++n) {
    NodeEval& ne = ev->nodes[n];
    const TopologyFacts& f = in.topology[n];
    ne.diverged = f.diverged;
    ne.topology_error = f.error;
    ne.acks_cut = f.acks_cut;
    ne.seal = f.seal;
    if (f.rejoined) ne.attached = true;
    if (f.rejoined && ne.demoted) {
      // Attached after the divergence check: what `recover` asks an
      // operator to vouch for has been proven.
      ne.demoted = false;
      ne.healthy_rounds = 0;
      ne.state_reason = "rejoined as a replica of the ACTIVE";
    }
  }
}

// What every evaluation ends with: INFO on a new STATE, the reasons, the
// times of change.
void Finish(const Evaluation& prev, const RoundInput& in, Evaluation* ev) {
  for (size_t i = 0; i < ev->nodes.size(); ++i) {
    NodeEval& ne = ev->nodes[i];
    const NodeEval& before = prev.nodes[i];
    bool changed_state = ne.state != before.state;
    // INFO marks a transition so that monitoring sees it.
    if (changed_state) ne.status = MaxStatus(ne.status, Status::kInfo);
    if (ne.reason.empty()) ne.reason = ne.state_reason;
    if (changed_state || ne.status != before.status || ev->seq == 1) ne.since_ms = in.now_ms;
  }
}

// The up/down of a follower: the leader's, by name, with this director's
// weights; a virtual server the leader did not publish is down, and so is
// everything once the decision is too old to trust.
void FollowedDecisions(const Config& cfg, const PublishedDecision& d, bool expired, Evaluation* ev) {
  ev->decisions.assign(cfg.vss.size(), {});
  for (size_t v = 0; v < cfg.vss.size(); ++v) {
    const PoolConfig& pool = cfg.pools[static_cast<size_t>(cfg.vss[v].pool)];
    std::vector<Decision>& out = ev->decisions[v];
    out.assign(pool.nodes.size(), Decision());
    const PublishedVs* pv = nullptr;
    for (const PublishedVs& x : d.vss)
      if (x.name == cfg.vss[v].name) pv = &x;
    if (pv == nullptr || expired) continue;
    for (size_t i = 0; i < pool.nodes.size(); ++i) {
      const NodeConfig& node = cfg.nodes[static_cast<size_t>(pool.nodes[i])];
      out[i].up = std::find(pv->up.begin(), pv->up.end(), node.name) != pv->up.end();
      out[i].weight = out[i].up ? node.weight : 0;
    }
  }
}

Evaluation Follow(const Config& cfg, const Evaluation& prev, const RoundInput& in, Evaluation ev,
                  std::vector<CommandResult>* results) {
  ev.isolated = false;
  TakeNews(cfg, in, &ev);
  for (size_t i = 0; i < in.commands.size(); ++i)
    if (results) results->push_back(CommandResult{false, in.follow_note});
  for (size_t p = 0; p < cfg.pools.size(); ++p) {
    PoolRound round(cfg, static_cast<int>(p), in, &ev);
    round.Follow(*in.follow, in.follow_note);
  }
  Finish(prev, in, &ev);
  FollowedDecisions(cfg, *in.follow, in.follow_expired, &ev);
  return ev;
}

}  // namespace

Evaluation Evaluate(const Config& cfg, const Evaluation& prev, const RoundInput& in,
                    std::vector<CommandResult>* results) {
  Evaluation ev = prev;
  ev.seq = prev.seq + 1;
  ev.time_ms = in.now_ms;
  ev.transitions.clear();
  if (in.follow != nullptr) return Follow(cfg, prev, in, std::move(ev), results);
  if (in.isolated) {
    // The monitor, not the pool, is cut off: change nothing, not even the
    // failure counts, and say so.
    ev.isolated = true;
    for (PoolEval& pe : ev.pools) pe.note = "isolated: no checkpoint answered; every STATE is frozen";
    for (const Command& c : in.commands) {
      (void)c;
      if (results) results->push_back(CommandResult{false, "the monitor is isolated: every STATE is frozen"});
    }
    return ev;
  }
  if (ev.isolated) {
    ev.isolated = false;
    for (PoolEval& pe : ev.pools) pe.note.clear();
  }

  TakeNews(cfg, in, &ev);

  for (const Command& c : in.commands) {
    CommandResult r;
    ApplyCommand(cfg, c, &ev, &r);
    if (results) results->push_back(r);
  }

  for (size_t p = 0; p < cfg.pools.size(); ++p) {
    ev.pools[p].awaited = -1;
    PoolRound round(cfg, static_cast<int>(p), in, &ev);
    round.Run();
  }

  Finish(prev, in, &ev);
  ComputeDecisions(cfg, &ev);
  return ev;
}

std::string WhyReloadRefused(const Config& old_cfg, const Evaluation& old_ev, const Config& new_cfg) {
  for (size_t p = 0; p < old_cfg.pools.size(); ++p) {
    int active = old_ev.ActiveOf(old_cfg, static_cast<int>(p));
    if (active < 0) continue;
    const std::string& pool = old_cfg.pools[p].name;
    const NodeConfig& node = old_cfg.nodes[static_cast<size_t>(active)];
    int new_pool = new_cfg.FindPool(pool);
    if (new_pool < 0) continue;  // the whole pool goes, its virtual servers with it
    int n = new_cfg.FindNode(node.name);
    std::string what = n < 0                                 ? "removes it"
                       : new_cfg.PoolOfNode(n) != new_pool   ? "moves it out of the pool"
                       : !(new_cfg.nodes[static_cast<size_t>(n)].address == node.address) ? "changes its address"
                       : !new_cfg.nodes[static_cast<size_t>(n)].promote                     ? "says promote = no"
                                                                                            : "";
    if (!what.empty())
      return "node " + node.name + " is the ACTIVE of pool " + pool + " and the new configuration " + what +
             ": switch over first (mppctl switchover " + pool + ")";
  }
  return "";
}

Evaluation RemapEvaluation(const Config& old_cfg, const Evaluation& old_ev, const Config& new_cfg) {
  Evaluation ev;
  ev.seq = old_ev.seq;
  ev.time_ms = old_ev.time_ms;
  ev.isolated = old_ev.isolated;
  ev.nodes.assign(new_cfg.nodes.size(), NodeEval());
  ev.pools.assign(new_cfg.pools.size(), PoolEval());
  for (size_t n = 0; n < new_cfg.nodes.size(); ++n) {
    int old = old_cfg.FindNode(new_cfg.nodes[n].name);
    if (old < 0) continue;
    int old_pool = old_cfg.PoolOfNode(old);
    int new_pool = new_cfg.PoolOfNode(static_cast<int>(n));
    if (old_pool < 0 || new_pool < 0 ||
        old_cfg.pools[static_cast<size_t>(old_pool)].name != new_cfg.pools[static_cast<size_t>(new_pool)].name)
      continue;  // moved to another pool: evaluate it afresh
    ev.nodes[n] = old_ev.nodes[static_cast<size_t>(old)];
  }
  for (size_t p = 0; p < new_cfg.pools.size(); ++p) {
    int old = old_cfg.FindPool(new_cfg.pools[p].name);
    if (old >= 0) {
      ev.pools[p] = old_ev.pools[static_cast<size_t>(old)];
      // Node numbers of the old config; the next round sets them again.
      ev.pools[p].awaited = -1;
      ev.pools[p].severing.clear();
      ev.pools[p].severing_from = -1;
      // A writer recorded before a restart and not judged yet stays so.
      int recorded = old_ev.pools[static_cast<size_t>(old)].recorded_active;
      int now = recorded < 0 ? -1 : new_cfg.FindNode(old_cfg.nodes[static_cast<size_t>(recorded)].name);
      if (now >= 0 && new_cfg.PoolOfNode(now) != static_cast<int>(p)) now = -1;
      ev.pools[p].recorded_active = now;
      if (now < 0) ev.pools[p].recorded_by_switchover = false;
    }
    // A reload must never leave two writers.
    bool seen_active = false;
    for (int n : new_cfg.pools[p].nodes) {
      NodeEval& ne = ev.nodes[static_cast<size_t>(n)];
      if (ne.state != State::kActive) continue;
      if (seen_active) ne.state = State::kStandby;
      seen_active = true;
    }
  }
  ComputeDecisions(new_cfg, &ev);
  return ev;
}

}  // namespace mpp
