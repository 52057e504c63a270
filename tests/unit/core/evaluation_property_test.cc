// Evaluation, property test: random poll sequences over pools of 2 to 5
// nodes. After every step no pool has two ACTIVE nodes, every node promoted
// by a failover was eligible at that step, no eligible standby with more
// of the old writer's data was passed over, and a node the monitor could not
// poll kept its STATE unless an operator changed it.
#include <doctest/doctest.h>

#include <random>

#include "core/evaluation.h"
#include "tests/unit/core/eval_sim.h"

namespace mpp {
namespace {

struct Checker {
  Sim& s;
  std::vector<int64_t> lag_when_writer_ok;  // per node, as the spec defines it
  int64_t failovers = 0;
  int64_t steps = 0;

  explicit Checker(Sim& sim) : s(sim), lag_when_writer_ok(sim.cfg.nodes.size(), -1) {}

  static int64_t Trusted(const PollResult& p) {
    if (p.outcome != PollOutcome::kOk || !p.repl.configured) return -1;
    if (p.repl.io != IoThread::kYes || !p.repl.sql_running) return -1;
    return p.repl.lag_s;
  }

  bool Eligible(const Evaluation& before, int node, int old_active) const {
    const PollResult& p = s.world[static_cast<size_t>(node)];
    const PoolConfig& pool = s.cfg.pools[0];
    return before.nodes[static_cast<size_t>(node)].state == State::kStandby &&
           !before.nodes[static_cast<size_t>(node)].offline && p.outcome == PollOutcome::kOk &&
           p.repl.configured && p.repl.source == s.cfg.nodes[static_cast<size_t>(old_active)].address &&
           p.repl.sql_running && p.repl.sql_errno == 0 && p.repl.relay_applied &&
           lag_when_writer_ok[static_cast<size_t>(node)] >= 0 &&
           lag_when_writer_ok[static_cast<size_t>(node)] * 1000 <= pool.max_promote_lag_ms;
  }

  void AfterStep(const Evaluation& before, bool isolated, bool commands) {
    ++steps;
    REQUIRE(s.ActiveCount() <= 1);
    for (size_t n = 0; n < s.world.size() && !isolated && !commands; ++n) {
      if (s.world[n].outcome == PollOutcome::kMonitorError) CHECK(s.ev.nodes[n].state == before.nodes[n].state);
    }
    for (const Transition& t : s.ev.transitions) {
      if (t.to != State::kActive || t.cause != TransitionCause::kFailover) continue;
      ++failovers;
      int old_active = before.ActiveOf(s.cfg, 0);
      REQUIRE(old_active >= 0);
      const PollResult& p = s.world[static_cast<size_t>(t.node)];
      INFO("node " << t.node << " before " << std::string(StateName(before.nodes[static_cast<size_t>(t.node)].state))
                   << " outcome " << std::string(PollOutcomeName(p.outcome)) << " sql " << p.repl.sql_running << "/"
                   << p.repl.sql_errno << " relay " << p.repl.relay_applied << " lag_ok "
                   << lag_when_writer_ok[static_cast<size_t>(t.node)] << " src_ok "
                   << (p.repl.source == s.cfg.nodes[static_cast<size_t>(old_active)].address));
      CHECK(Eligible(before, t.node, old_active));
      for (int other : s.cfg.pools[0].nodes) {
        if (other == t.node || other == old_active || !Eligible(before, other, old_active)) continue;
        CHECK(ComparePositions(s.world[static_cast<size_t>(other)].repl.received,
                               s.world[static_cast<size_t>(t.node)].repl.received) != 1);
      }
    }
    for (size_t v = 0; v < s.cfg.vss.size(); ++v) {
      const PoolConfig& pool = s.cfg.pools[0];
      for (size_t i = 0; i < pool.nodes.size(); ++i) {
        const NodeEval& ne = s.ev.nodes[static_cast<size_t>(pool.nodes[i])];
        const Decision& d = s.ev.decisions[v][i];
        if (ne.state == State::kOffline || ne.state == State::kUnknown || ne.state == State::kFail) CHECK_FALSE(d.up);
        if (s.cfg.vss[v].role == VsRole::kReadWrite && d.up) CHECK(ne.state == State::kActive);
      }
    }
    int active = s.ev.ActiveOf(s.cfg, 0);
    if (!isolated && active >= 0 && s.world[static_cast<size_t>(active)].outcome == PollOutcome::kOk) {
      // A node the monitor could not poll keeps the lag of its last poll.
      for (size_t n = 0; n < s.world.size(); ++n) {
        if (s.world[n].outcome == PollOutcome::kMonitorError) continue;
        lag_when_writer_ok[n] = static_cast<int>(n) == active ? -1 : Trusted(s.world[n]);
      }
    }
  }
};

// Random, but plausible, poll results: mostly healthy replicas of whoever
// is ACTIVE now, with every kind of trouble mixed in.
PollResult RandomPoll(Sim& s, std::mt19937& rng, int node, std::vector<uint64_t>& received) {
  std::uniform_int_distribution<int> pct(0, 99);
  int active = s.ev.ActiveOf(s.cfg, 0);
  int r = pct(rng);
  if (r < 8) return Sim::Failed(pct(rng) < 50 ? PollOutcome::kRefused : PollOutcome::kTimeout);
  if (r < 10) return Sim::Failed(PollOutcome::kAccessDenied);
  if (r < 11) return Sim::Failed(PollOutcome::kTooManyConnections);
  if (r < 12) return Sim::Failed(PollOutcome::kNotPolled);
  if (r < 14) return Sim::MonitorError();
  if (node == active || (active < 0 && node == 0)) return s.Writer();
  int source = active >= 0 ? active : 0;
  if (pct(rng) < 10) source = static_cast<int>(rng() % s.cfg.nodes.size());
  if (source == node) return s.Writer();
  received[static_cast<size_t>(node)] += rng() % 3;
  PollResult p = s.Replica(s.cfg.nodes[static_cast<size_t>(source)].name, received[static_cast<size_t>(node)],
                           pct(rng) < 85 ? 0 : static_cast<int64_t>(rng() % 60));
  int t = pct(rng);
  if (t < 5) p.repl.sql_running = false;
  else if (t < 8) p.repl.sql_errno = 1062;
  else if (t < 14) p = Sim::SourceLost(p);
  else if (t < 18) p.repl.relay_applied = false;
  else if (t < 20) p.repl.lag_s = -1;
  return p;
}

TEST_CASE("Evaluation property: no two ACTIVE nodes, and only eligible standbys are promoted") {
  std::mt19937 rng(20071126);
  int64_t total_steps = 0, total_failovers = 0;
  for (int seq = 0; seq < 240; ++seq) {
    int nodes = 2 + seq % 4;
    std::string extra = seq % 3 == 0 ? "failback = yes\n" : seq % 3 == 1 ? "demoted_recovery = auto\n" : "";
    if (seq % 5 == 0) extra += "promote_wait = 2s\n";
    Sim s(PoolConfigText(nodes, extra));
    Checker check(s);
    std::vector<uint64_t> received(static_cast<size_t>(nodes), 100);
    for (int step = 0; step < 50; ++step) {
      // Trouble comes in bursts: keep the world for a few steps at a time.
      if (step % 3 == 0) {
        for (int n = 0; n < nodes; ++n) s.world[static_cast<size_t>(n)] = RandomPoll(s, rng, n, received);
      }
      std::vector<Command> commands;
      if (rng() % 10 == 0) {
        std::string node = "db" + std::to_string(1 + rng() % static_cast<unsigned>(nodes));
        int kind = static_cast<int>(rng() % 4);
        if (kind == 3) {
          std::string why;
          int target = ChooseSwitchoverTarget(s.cfg, s.ev, "main", "", &why);
          if (target >= 0) commands.push_back(Command{Command::kSwitchover, "main", s.cfg.nodes[static_cast<size_t>(target)].name});
        } else {
          commands.push_back(Command{static_cast<Command::Kind>(kind), "", node});
        }
      }
      Evaluation before = s.ev;
      bool isolated = rng() % 40 == 0;
      if (isolated) {
        s.Isolated();
      } else {
        s.Round(commands);
      }
      check.AfterStep(before, isolated, !commands.empty());
    }
    total_steps += check.steps;
    total_failovers += check.failovers;
  }
  MESSAGE("steps: " << total_steps << ", failovers: " << total_failovers);
  CHECK(total_steps >= 10000);
  CHECK(total_failovers > 100);  // the sequences do exercise failover
}

}  // namespace
}  // namespace mpp
