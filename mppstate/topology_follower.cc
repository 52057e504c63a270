#include "mppstate/topology_follower.h"

#include <algorithm>

#include "core/topology.h"
#include "mppstate/logger.h"

namespace mpp {
namespace {

const char kDivergedMark[] = "has diverged: ";

// "db1 has diverged: 0-1-57 is not in db2's binlog" -> what follows the mark.
std::string DivergedReason(const std::string& message) {
  size_t at = message.find(kDivergedMark);
  return at == std::string::npos ? message : message.substr(at + sizeof kDivergedMark - 1);
}

const char* JobName(TopologyJob::Kind k) {
  switch (k) {
    case TopologyJob::kSwitchover: return "switchover";
    case TopologyJob::kRejoin: return "rejoin";
    case TopologyJob::kRewind: return "rewind";
  }
  return "?";
}

}  // namespace

std::vector<TopologyFacts> TopologyFollower::Facts(const Config& cfg) {
  std::vector<TopologyFacts> out(cfg.nodes.size());
  for (size_t n = 0; n < cfg.nodes.size(); ++n) {
    auto it = facts_.find(cfg.nodes[n].name);
    if (it == facts_.end()) continue;
    out[n] = it->second;
    it->second.rejoined = false;
  }
  return out;
}

bool TopologyFollower::SwitchoverBeforeCommit(const std::string& pool) const {
  for (const Pending& p : pending_)
    if (p.job.kind == TopologyJob::kSwitchover && p.job.pool == pool && p.phase != Pending::kPromoting) return true;
  return false;
}

std::string TopologyFollower::RequestSwitchover(std::shared_ptr<const Config> cfg, const Evaluation& ev,
                                                const std::string& pool, const std::string& target,
                                                uint64_t client) {
  for (const Pending& p : pending_)
    if (p.job.kind == TopologyJob::kSwitchover && p.job.pool == pool)
      return "a switchover of pool " + pool + " is already running (to " + p.job.target + ")";
  std::string why;
  int to = ChooseSwitchoverTarget(*cfg, ev, pool, target, &why);
  if (to < 0) return why;
  int p = cfg->FindPool(pool);
  int active = ev.ActiveOf(*cfg, p);
  Pending pending;
  pending.client = client;
  pending.job.kind = TopologyJob::kSwitchover;
  pending.job.pool = pool;
  pending.job.node = cfg->nodes[static_cast<size_t>(active)].name;
  pending.job.target = cfg->nodes[static_cast<size_t>(to)].name;
  pending.job.fence = cfg->pools[static_cast<size_t>(p)].manage_read_only;
  pending.job.writer_semi = ev.nodes[static_cast<size_t>(active)].writer_semi;
  pending.job.acks_cut = ev.nodes[static_cast<size_t>(active)].acks_cut;
  Log(LogLevel::kNotice, "switchover %s: %s -> %s requested", pool.c_str(), pending.job.node.c_str(),
      pending.job.target.c_str());
  pending.job.id = worker_.Submit(cfg, pending.job);
  pending_.push_back(pending);
  return "";
}

std::string TopologyFollower::RequestRejoin(std::shared_ptr<const Config> cfg, const Evaluation& ev,
                                            const std::string& node, uint64_t client) {
  int n = cfg->FindNode(node);
  if (n < 0) return "unknown node '" + node + "'";
  int p = cfg->PoolOfNode(n);
  const PoolConfig& pool = cfg->pools[static_cast<size_t>(p)];
  const NodeEval& ne = ev.nodes[static_cast<size_t>(n)];
  if (!pool.manage_replication)
    return "pool " + pool.name + " does not manage replication: attach " + node + " yourself, then `mppctl recover " +
           node + "`";
  if (ev.isolated) return "the monitor is isolated: every STATE is frozen";
  int active = ev.ActiveOf(*cfg, p);
  if (active < 0) return "pool " + pool.name + " has no ACTIVE to attach " + node + " to";
  if (ne.state != State::kFail)
    return node + " is " + StateName(ne.state) + ", not FAIL: " +
           (ne.state == State::kOffline ? "`mppctl online " + node + "` first" : std::string("nothing to rejoin"));
  for (const Pending& q : pending_)
    if (q.job.kind == TopologyJob::kRejoin && q.job.node == node) return "a rejoin of " + node + " is already running";
  Pending pending;
  pending.client = client;
  pending.job.kind = TopologyJob::kRejoin;
  pending.job.pool = pool.name;
  pending.job.node = node;
  pending.job.target = cfg->nodes[static_cast<size_t>(active)].name;
  pending.job.writer_semi = ne.writer_semi;
  pending.job.acks_cut = ne.acks_cut;
  Log(LogLevel::kNotice, "rejoin %s: attaching it to %s requested", node.c_str(), pending.job.target.c_str());
  pending.job.id = worker_.Submit(cfg, pending.job);
  pending_.push_back(pending);
  return "";
}

std::string TopologyFollower::RequestRewind(std::shared_ptr<const Config> cfg, const Evaluation& ev,
                                            const std::string& node, uint64_t client) {
  int n = cfg->FindNode(node);
  if (n < 0) return "unknown node '" + node + "'";
  int p = cfg->PoolOfNode(n);
  const PoolConfig& pool = cfg->pools[static_cast<size_t>(p)];
  if (!pool.manage_replication) return "pool " + pool.name + " does not manage replication: nothing is rewound";
  if (ev.isolated) return "the monitor is isolated: every STATE is frozen";
  int active = ev.ActiveOf(*cfg, p);
  if (active < 0) return "pool " + pool.name + " has no ACTIVE to rewind " + node + " to";
  if (active == n) return node + " is the ACTIVE: nothing to rewind";
  for (const Pending& q : pending_)
    if (q.job.kind == TopologyJob::kRewind && q.job.node == node) return "a rewind of " + node + " is already running";
  Pending pending;
  pending.client = client;
  pending.job.kind = TopologyJob::kRewind;
  pending.job.pool = pool.name;
  pending.job.node = node;
  pending.job.target = cfg->nodes[static_cast<size_t>(active)].name;
  pending.job.semi_sync = pool.semi_sync;
  pending.job.writer_semi = ev.nodes[static_cast<size_t>(n)].writer_semi;
  pending.job.acks_cut = ev.nodes[static_cast<size_t>(n)].acks_cut;
  pending.job.seal = ev.nodes[static_cast<size_t>(n)].seal;
  Log(LogLevel::kNotice, "rewind %s: undoing what %s lacks requested", node.c_str(), pending.job.target.c_str());
  pending.job.id = worker_.Submit(cfg, pending.job);
  pending_.push_back(pending);
  return "";
}

void TopologyFollower::LogReport(const TopologyReport& r) {
  const TopologyFacts& before = facts_[r.node];
  // A job says what it did in why ("db1 fenced, db2 caught up"); a plan's
  // step is named by its kind and node.
  std::string what = r.job != 0 ? std::string(JobName(r.job_kind)) + " " + r.pool + ": " + r.why
                                : std::string("topology ") + r.pool + ": " + TopologyStepName(r.step) + " " + r.node;
  if (r.job != 0 && r.outcome.ok) {
    Log(LogLevel::kNotice, "%s: %s", what.c_str(), r.outcome.message.c_str());
  } else if (r.outcome.ok) {
    Log(LogLevel::kNotice, "%s: %s%s%s", what.c_str(), r.outcome.message.c_str(), r.why.empty() ? "" : " (",
        r.why.empty() ? "" : (r.why + ")").c_str());
  } else if (r.job != 0 || r.outcome.message != before.error) {
    // A step that keeps failing the same way is retried every round, and
    // logged once.
    Log(r.outcome.diverged ? LogLevel::kError : LogLevel::kWarning, "%s failed: %s", what.c_str(),
        r.outcome.message.c_str());
  }
}

bool TopologyFollower::TakeReports(std::vector<Command>* commands, std::vector<Answer>* answers) {
  std::vector<TopologyReport> reports = worker_.TakeReports();
  for (const TopologyReport& r : reports) {
    LogReport(r);
    if (observer_) observer_(r);
    TopologyFacts& f = facts_[r.node];
    f.error = r.outcome.ok ? "" : r.outcome.message;
    f.acks_cut += r.outcome.acks_cut;
    if (r.outcome.seal.proven) f.seal = r.outcome.seal;
    if (r.step == TopologyStepKind::kAttach || r.step == TopologyStepKind::kRewind) {
      if (r.outcome.diverged) f.diverged = DivergedReason(r.outcome.message);
      // A rewind's success leaves the node to the next round's attachment.
      if (r.outcome.ok) {
        f.diverged.clear();
        f.rejoined = r.step == TopologyStepKind::kAttach;
      }
    }
    if (r.job == 0) {
      if (r.step != TopologyStepKind::kPromote || !r.outcome.ok) continue;
      // A switchover is done once its target is writable.
      for (auto it = pending_.begin(); it != pending_.end(); ++it) {
        if (it->phase != Pending::kPromoting || it->job.target != r.node) continue;
        answers->push_back(Answer{it->client, true,
                                  "switched over from " + it->job.node + " to " + it->job.target + ": " +
                                      r.outcome.message + "\n"});
        pending_.erase(it);
        break;
      }
      continue;
    }
    auto it = std::find_if(pending_.begin(), pending_.end(), [&](const Pending& p) { return p.job.id == r.job; });
    if (it == pending_.end()) continue;
    if (it->job.kind == TopologyJob::kRejoin || it->job.kind == TopologyJob::kRewind) {
      answers->push_back(Answer{it->client, r.outcome.ok, r.outcome.message + "\n"});
      pending_.erase(it);
    } else if (!r.outcome.ok) {
      Log(LogLevel::kWarning, "switchover %s aborted: %s", it->job.pool.c_str(), r.outcome.message.c_str());
      answers->push_back(Answer{it->client, false,
                                "switchover aborted, " + it->job.node + " stays ACTIVE: " + r.outcome.message + "\n"});
      pending_.erase(it);
    } else {
      Command commit{Command::kSwitchover, it->job.pool, it->job.target};
      commit.caught_up = true;  // the job's catch-up, seen just now
      commands->push_back(commit);
      it->phase = Pending::kCommitting;
      it->command_index = commands->size() - 1;
    }
  }
  return !reports.empty();
}

void TopologyFollower::AfterRound(std::shared_ptr<const Config> cfg, const Evaluation& ev,
                                  const std::vector<Command>& commands, const std::vector<CommandResult>& results,
                                  bool offer_plan, std::vector<Answer>* answers) {
  Clock::time_point now = Clock::now();
  for (auto it = pending_.begin(); it != pending_.end();) {
    bool done = false;
    if (it->phase == Pending::kCommitting) {
      bool applied = it->command_index < commands.size() && it->command_index < results.size();
      const CommandResult r = applied ? results[it->command_index] : CommandResult{false, "not applied"};
      int p = cfg->FindPool(it->job.pool);
      if (!r.ok) {
        answers->push_back(Answer{it->client, false, r.message + "\n"});
        done = true;
      } else if (p < 0 || !cfg->pools[static_cast<size_t>(p)].manage_read_only) {
        answers->push_back(Answer{it->client, true, r.message + "\n"});
        done = true;
      } else {
        it->phase = Pending::kPromoting;
        it->deadline = now + std::chrono::milliseconds(cfg->switchover_timeout_ms + 2 * cfg->interval_ms);
      }
    } else if (it->phase == Pending::kPromoting) {
      int n = cfg->FindNode(it->job.target);
      int p = cfg->FindPool(it->job.pool);
      const NodeEval* ne = n < 0 ? nullptr : &ev.nodes[static_cast<size_t>(n)];
      bool still_active = ne != nullptr && p >= 0 && ev.ActiveOf(*cfg, p) == n;
      bool replicating = ne != nullptr && p >= 0 && cfg->pools[static_cast<size_t>(p)].manage_replication &&
                         ne->last.repl.configured;
      if (!still_active) {
        answers->push_back(Answer{it->client, false, it->job.target + " is no longer the ACTIVE\n"});
        done = true;
      } else if (ne->last.outcome == PollOutcome::kOk && !ne->last.read_only && !replicating) {
        answers->push_back(
            Answer{it->client, true, "switched over from " + it->job.node + " to " + it->job.target + "\n"});
        done = true;
      } else if (now >= it->deadline) {
        std::string error = facts_[it->job.target].error;
        answers->push_back(Answer{it->client, false,
                                  it->job.target + " is ACTIVE but not writable yet" +
                                      (error.empty() ? std::string() : ": " + error) + "; MPP keeps trying\n"});
        done = true;
      }
    }
    it = done ? pending_.erase(it) : it + 1;
  }

  std::map<std::string, std::string> actives;
  for (size_t p = 0; p < cfg->pools.size(); ++p) {
    int a = ev.ActiveOf(*cfg, static_cast<int>(p));
    if (a >= 0) actives[cfg->pools[p].name] = cfg->nodes[static_cast<size_t>(a)].name;
  }
  worker_.PublishActives(std::move(actives));
  if (!offer_plan) return;
  std::vector<TopologyStep> plan = PlanTopology(*cfg, ev);
  plan.erase(std::remove_if(plan.begin(), plan.end(),
                            [&](const TopologyStep& s) {
                              return SwitchoverBeforeCommit(cfg->pools[static_cast<size_t>(s.pool)].name);
                            }),
             plan.end());
  if (!plan.empty()) worker_.OfferPlan(cfg, std::move(plan));
}

bool TopologyFollower::Stop(int64_t deadline_ms, std::vector<Answer>* answers) {
  for (const Pending& p : pending_) answers->push_back(Answer{p.client, false, "mppstate is stopping\n"});
  pending_.clear();
  return worker_.Stop(deadline_ms);
}

}  // namespace mpp
