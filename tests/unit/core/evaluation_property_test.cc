// Evaluation, property test: random poll sequences over one or two pools of
// 1 to 5 nodes, mixed at random moments with restarts of the daemon (the
// state file and the pool memory round-tripped through the real writers and
// readers), reloads that add, remove, move, reorder and re-address nodes,
// and operator commands. After every step:
// - no pool has two ACTIVE nodes, and no rw virtual server two nodes up;
// - every node made ACTIVE by a failover or an election was eligible, and
//   no eligible node that received more of the old writer's data was passed
//   over;
// - an OFFLINE node is never ACTIVE, and a demoted node is never STANDBY or
//   ACTIVE until recovered (by an operator, or demoted_recovery = auto);
// - right after a restart, the recorded writer is not replaced for one
//   failed poll, nor for 1040 or 1045 but by a node that plainly is the
//   writer now (others replicate from it, and it does not from the recorded
//   one);
// - a node the monitor could not poll keeps its STATE, and OFFLINE, UNKNOWN
//   and FAIL nodes are down.
// The test keeps its own model of what must hold (who is OFFLINE, demoted,
// the recorded writer), keyed by node name so that it survives reloads.
#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <random>

#include "common/names.h"
#include "core/evaluation.h"
#include "core/pool_memory.h"
#include "mppstate/restart_memory.h"
#include "mppstate/state_writer.h"
#include "tests/unit/core/eval_sim.h"

namespace mpp {
namespace {

using Recorded = std::vector<std::pair<std::string, State>>;

struct PoolLayout {
  std::string name;
  std::string options;             // the pool's keys, fixed for a sequence
  std::vector<std::string> nodes;  // priority order
};

// The configuration as lists of names: what a reload edits.
struct Layout {
  std::vector<PoolLayout> pools;
  std::vector<std::string> sections;  // [node] sections in file order: Config::nodes order
  std::map<std::string, int> port;    // every node ever, on 127.0.0.1

  std::string Text() const {
    std::string t = "[global]\ninterval = 1s\n";
    for (const PoolLayout& p : pools) {
      t += "[pool " + p.name + "]\nnodes = ";
      for (size_t i = 0; i < p.nodes.size(); ++i) t += (i > 0 ? ", " : "") + p.nodes[i];
      t += "\n" + p.options;
    }
    for (const std::string& n : sections)
      t += "[node " + n + "]\naddress = 127.0.0.1:" + std::to_string(port.at(n)) + "\n";
    for (size_t p = 0; p < pools.size(); ++p) {
      std::string vs = "address = 192.0.2." + std::to_string(10 + p) + ":";
      t += "[vs " + pools[p].name + "-rw]\n" + vs + "3306\npool = " + pools[p].name + "\nrole = rw\n";
      t += "[vs " + pools[p].name + "-ro]\n" + vs + "3307\npool = " + pools[p].name + "\nrole = ro\n";
    }
    return t;
  }
};

// What the test knows of a node of the current configuration.
struct NodeModel {
  bool offline = false;
  bool demoted = false;
  // Its lag "before the trouble": at the last step its pool's ACTIVE
  // answered (none for the ACTIVE itself); before an election, the last
  // one seen while both threads ran.
  int64_t lag = -1;
  bool polled = false;  // since the restart, or since it joined its pool
  int failures = 0;     // failed polls since then
  bool failed_now = false;
};

struct Counts {
  int64_t steps = 0, restarts = 0, restarts_without_memory = 0, reloads_applied = 0, reloads_refused = 0,
          commands = 0, commands_ok = 0, failovers = 0, elections = 0, elections_in_place = 0, switchovers = 0,
          failbacks = 0, writer_kept = 0, writer_moved = 0, demotions = 0, recovered_by_operator = 0,
          recovered_auto = 0;
};

int64_t Trusted(const PollResult& p) {
  if (p.outcome != PollOutcome::kOk || !p.repl.configured) return -1;
  if (p.repl.io != IoThread::kYes || !p.repl.sql_running) return -1;
  return p.repl.lag_s;
}

bool AliveButUnusable(const PollResult& p) {
  return p.outcome == PollOutcome::kAccessDenied || p.outcome == PollOutcome::kTooManyConnections;
}

// The STATUS the failed polls alone give (the core's ladder).
bool BelowFailoverAt(const NodeEval& ne, const PoolConfig& pool) {
  return std::min(ne.failed_polls, 4) < static_cast<int>(pool.failover_at);
}

class Sequence {
 public:
  Sequence(std::mt19937& rng, Counts& counts, const Layout& layout)
      : rng_(rng), counts_(counts), layout_(layout), s_(layout.Text()) {
    for (const std::string& n : layout_.sections) model_[n] = NodeModel();
    next_node_ = static_cast<int>(layout_.sections.size()) + 1;
    next_port_ = 3301 + next_node_;
  }

  void Step(int step) {
    if (step > 0 && rng_() % 25 == 0) Restart();
    if (step > 0 && rng_() % 20 == 0) Reload();
    // Trouble comes in bursts: keep the world for a few steps at a time.
    if (step % 3 == 0)
      for (size_t n = 0; n < s_.cfg.nodes.size(); ++n) world_[s_.cfg.nodes[n].name] = RandomPoll(static_cast<int>(n));
    s_.world.assign(s_.cfg.nodes.size(), PollResult());
    for (size_t n = 0; n < s_.cfg.nodes.size(); ++n) {
      const std::string& name = s_.cfg.nodes[n].name;
      if (world_.find(name) == world_.end()) world_[name] = RandomPoll(static_cast<int>(n));
      s_.world[n] = world_[name];
    }
    std::vector<Command> commands = RandomCommands();
    bool isolated = rng_() % 40 == 0;
    Evaluation before = s_.ev;
    if (isolated) {
      commands.clear();  // refused while isolated; Sim::Isolated takes none
      s_.Isolated();
    } else {
      s_.Round(commands);
    }
    for (const Transition& t : s_.ev.transitions)
      Trace(std::string(StateName(t.from)) + "->" + StateName(t.to) + " " + Name(t.node) + " (" + Cause(t.cause) + ")");
    AfterStep(before, commands, isolated);
  }

  std::string TraceText() const {
    std::string out;
    for (const std::string& t : trace_) out += "  " + t + "\n";
    return out;
  }

 private:
  int Pct() { return static_cast<int>(rng_() % 100); }
  const std::string& Name(int n) const { return s_.cfg.nodes[static_cast<size_t>(n)].name; }
  const PollResult& Poll(int n) const { return s_.world[static_cast<size_t>(n)]; }
  NodeModel& M(int n) { return model_[Name(n)]; }
  static const char* Cause(TransitionCause c) {
    switch (c) {
      case TransitionCause::kElection: return "election";
      case TransitionCause::kFailover: return "failover";
      case TransitionCause::kFailback: return "failback";
      case TransitionCause::kSwitchover: return "switchover";
      case TransitionCause::kHealth: return "health";
      case TransitionCause::kOperator: return "operator";
      case TransitionCause::kLeader: return "leader";
    }
    return "?";
  }
  void Trace(const std::string& what) {
    trace_.push_back("seq " + std::to_string(s_.ev.seq) + ": " + what);
    if (trace_.size() > 16) trace_.pop_front();
  }

  // The node the world's replicas of pool follow: the ACTIVE, else the
  // writer they followed last (a restart does not move the servers).
  int WriterOf(int pool) const {
    int active = s_.ev.ActiveOf(s_.cfg, pool);
    if (active >= 0) return active;
    const PoolConfig& pc = s_.cfg.pools[static_cast<size_t>(pool)];
    auto it = writer_.find(pc.name);
    if (it != writer_.end()) {
      int n = s_.cfg.FindNode(it->second);
      if (n >= 0 && s_.cfg.PoolOfNode(n) == pool) return n;
    }
    return pc.nodes[0];
  }

  // Random, but plausible, poll results: mostly healthy replicas of the
  // pool's writer, with every kind of trouble mixed in.
  PollResult RandomPoll(int node) {
    int r = Pct();
    if (r < 8) return Sim::Failed(Pct() < 50 ? PollOutcome::kRefused : PollOutcome::kTimeout);
    if (r < 10) return Sim::Failed(PollOutcome::kAccessDenied);
    if (r < 11) return Sim::Failed(PollOutcome::kTooManyConnections);
    if (r < 12) return Sim::Failed(PollOutcome::kNotPolled);
    if (r < 14) return Sim::MonitorError();
    int source = WriterOf(s_.cfg.PoolOfNode(node));
    int nodes = static_cast<int>(s_.cfg.nodes.size());
    if (source == node) {
      if (Pct() >= 3) return s_.Writer();
      source = static_cast<int>(rng_() % static_cast<unsigned>(nodes));  // made a replica behind our back
    } else if (Pct() < 10) {
      source = static_cast<int>(rng_() % static_cast<unsigned>(nodes));
    }
    if (source == node) return s_.Writer();
    uint64_t& received = received_[Name(node)];
    received += 100 * (received == 0) + rng_() % 3;
    PollResult p = s_.Replica(Name(source), received, Pct() < 85 ? 0 : static_cast<int64_t>(rng_() % 60));
    int t = Pct();
    if (t < 5) p.repl.sql_running = false;
    else if (t < 8) p.repl.sql_errno = 1062;
    else if (t < 14) p = Sim::SourceLost(p);
    else if (t < 18) p.repl.relay_applied = false;
    else if (t < 20) p.repl.lag_s = -1;
    if (Pct() < 3) p.read_only = false;  // a writable replica
    return p;
  }

  std::vector<Command> RandomCommands() {
    std::vector<Command> out;
    if (rng_() % 8 != 0) return out;
    int count = Pct() < 15 ? 2 : 1;
    for (int i = 0; i < count; ++i) {
      int pool = static_cast<int>(rng_() % s_.cfg.pools.size());
      const PoolConfig& pc = s_.cfg.pools[static_cast<size_t>(pool)];
      int node = pc.nodes[rng_() % pc.nodes.size()];
      int kind = static_cast<int>(rng_() % 4);
      if (kind == Command::kSwitchover) {
        std::string why;
        int target = ChooseSwitchoverTarget(s_.cfg, s_.ev, pc.name, Pct() < 50 ? "" : Name(node), &why);
        if (target >= 0) out.push_back(Command{Command::kSwitchover, pc.name, Name(target)});
      } else {
        out.push_back(Command{static_cast<Command::Kind>(kind), "", Pct() < 2 ? "db-unknown" : Name(node)});
      }
    }
    for (const Command& c : out) {
      static const char* const kKinds[] = {"recover", "offline", "online", "switchover"};
      Trace(std::string("command ") + kKinds[c.kind] + " " + c.node);
    }
    return out;
  }

  // What mppstate does at start: the previous state file and pool memory,
  // through the real writers and readers. Now and then the data file is
  // missing (an upgrade from a version without one): only when no node is
  // demoted, since that file alone remembers demotions.
  void Restart() {
    ++counts_.restarts;
    std::string text = FormatStateFile(s_.cfg, s_.ev, 4242);
    Recorded recorded = RecordedStatesFromText(text.data(), text.size());
    REQUIRE(recorded.size() == s_.cfg.nodes.size());
    for (const auto& [name, st] : recorded) CHECK(st == s_.ev.nodes[static_cast<size_t>(s_.cfg.FindNode(name))].state);

    std::string memory_text = FormatPoolMemory(RememberPools(s_.cfg, s_.ev));
    PoolMemory memory;
    std::string err;
    REQUIRE_MESSAGE(ParsePoolMemory(memory_text, "pool-memory", &memory, &err), err);
    bool any_demoted = false;
    for (const auto& [name, m] : model_) any_demoted = any_demoted || m.demoted;
    bool with_memory = any_demoted || Pct() >= 20;
    counts_.restarts_without_memory += !with_memory;
    Trace(with_memory ? "restart" : "restart without pool memory");

    for (size_t p = 0; p < s_.cfg.pools.size(); ++p) {
      int active = s_.ev.ActiveOf(s_.cfg, static_cast<int>(p));
      if (active >= 0) recorded_[s_.cfg.pools[p].name] = Name(active);
      else if (!with_memory) recorded_.erase(s_.cfg.pools[p].name);  // a writer not judged yet is in memory only
    }
    for (auto& [name, m] : model_) {
      m.lag = -1;
      m.polled = false;
      m.failures = 0;
    }
    if (!with_memory)
      for (const auto& [name, st] : recorded) model_[name].offline = st == State::kOffline;
    s_.ev = InitialEvaluation(s_.cfg, recorded, with_memory ? &memory : nullptr);
    CheckCarried("restart");
  }

  // The evaluation carries what the model says across a restart or a reload.
  void CheckCarried(const char* what) {
    INFO("after a " << what);
    for (size_t n = 0; n < s_.cfg.nodes.size(); ++n) {
      const NodeModel& m = M(static_cast<int>(n));
      INFO("node " << Name(static_cast<int>(n)));
      CHECK(s_.ev.nodes[n].offline == m.offline);
      CHECK(s_.ev.nodes[n].demoted == m.demoted);
    }
    for (size_t p = 0; p < s_.cfg.pools.size(); ++p) {
      auto it = recorded_.find(s_.cfg.pools[p].name);
      int expected = it == recorded_.end() ? -1 : s_.cfg.FindNode(it->second);
      CHECK(s_.ev.pools[p].recorded_active == expected);
    }
  }

  // A reload with one or two edits; refused only when it touches an ACTIVE.
  void Reload() {
    Layout next = layout_;
    std::vector<std::string> removed = removed_;
    std::vector<std::string> edits;
    int count = 1 + static_cast<int>(rng_() % 2);
    for (int i = 0; i < count; ++i) {
      PoolLayout& pool = next.pools[rng_() % next.pools.size()];
      std::vector<std::string>& nodes = pool.nodes;
      switch (rng_() % 6) {
        case 0: {  // add a node: a new one, or one removed before
          if (nodes.size() >= 5) break;
          std::string name;
          if (!removed.empty() && Pct() < 40) {
            size_t k = rng_() % removed.size();
            name = removed[k];
            removed.erase(removed.begin() + static_cast<long>(k));
          } else {
            name = "db" + std::to_string(next_node_++);
            next.port[name] = next_port_++;
          }
          nodes.insert(nodes.begin() + static_cast<long>(rng_() % (nodes.size() + 1)), name);
          next.sections.insert(next.sections.begin() + static_cast<long>(rng_() % (next.sections.size() + 1)), name);
          edits.push_back("add " + name + " to " + pool.name);
          break;
        }
        case 1: {  // remove a node
          if (nodes.size() <= 1) break;
          size_t k = rng_() % nodes.size();
          std::string name = nodes[k];
          nodes.erase(nodes.begin() + static_cast<long>(k));
          next.sections.erase(std::find(next.sections.begin(), next.sections.end(), name));
          edits.push_back("remove " + name);
          break;
        }
        case 2:  // new priorities
          std::shuffle(nodes.begin(), nodes.end(), rng_);
          edits.push_back("reorder " + pool.name);
          break;
        case 3: {  // a new address
          const std::string& name = nodes[rng_() % nodes.size()];
          next.port[name] = next_port_++;
          edits.push_back("re-address " + name);
          break;
        }
        case 4: {  // move a node to the other pool
          if (next.pools.size() < 2 || nodes.size() <= 1) break;
          PoolLayout& other = &pool == &next.pools[0] ? next.pools[1] : next.pools[0];
          if (other.nodes.size() >= 5) break;
          size_t k = rng_() % nodes.size();
          std::string name = nodes[k];
          nodes.erase(nodes.begin() + static_cast<long>(k));
          other.nodes.insert(other.nodes.begin() + static_cast<long>(rng_() % (other.nodes.size() + 1)), name);
          edits.push_back("move " + name + " to " + other.name);
          break;
        }
        default:  // new node indexes
          std::shuffle(next.sections.begin(), next.sections.end(), rng_);
          edits.push_back("reorder sections");
          break;
      }
    }
    Config cfg = ParseOrDie(next.Text());
    std::string touched;  // an ACTIVE the reload removes, moves or re-addresses
    for (size_t p = 0; p < s_.cfg.pools.size(); ++p) {
      int active = s_.ev.ActiveOf(s_.cfg, static_cast<int>(p));
      if (active < 0) continue;
      int n = cfg.FindNode(Name(active));
      if (n < 0 || cfg.PoolOfNode(n) != cfg.FindPool(s_.cfg.pools[p].name) ||
          !(cfg.nodes[static_cast<size_t>(n)].address == s_.cfg.nodes[static_cast<size_t>(active)].address))
        touched = Name(active);
    }
    std::string edit_text;
    for (const std::string& e : edits) edit_text += (edit_text.empty() ? "" : ", ") + e;
    std::string refused = WhyReloadRefused(s_.cfg, s_.ev, cfg);
    INFO("reload: " << edit_text << "; refused: " << refused);
    CHECK(refused.empty() == touched.empty());
    if (!refused.empty()) {
      ++counts_.reloads_refused;
      Trace("reload refused: " + edit_text);
      return;
    }
    ++counts_.reloads_applied;
    Trace("reload: " + edit_text);
    Evaluation ev = RemapEvaluation(s_.cfg, s_.ev, cfg);
    // States carried by name; a node new to its pool starts afresh.
    for (size_t n = 0; n < cfg.nodes.size(); ++n) {
      const std::string& name = cfg.nodes[n].name;
      int old = s_.cfg.FindNode(name);
      int pool = cfg.PoolOfNode(static_cast<int>(n));
      bool same_pool = old >= 0 && s_.cfg.pools[static_cast<size_t>(s_.cfg.PoolOfNode(old))].name ==
                                       cfg.pools[static_cast<size_t>(pool)].name;
      INFO("node " << name);
      if (same_pool) {
        CHECK(ev.nodes[n].state == s_.ev.nodes[static_cast<size_t>(old)].state);
      } else {
        CHECK(ev.nodes[n].state == State::kUnknown);
        model_[name] = NodeModel();  // forgotten: its demotion too
      }
    }
    removed_ = removed;
    for (const std::string& name : layout_.sections) {
      if (cfg.FindNode(name) >= 0) continue;
      model_.erase(name);
      removed_.push_back(name);
    }
    for (auto it = recorded_.begin(); it != recorded_.end();) {
      int n = cfg.FindNode(it->second);
      if (n < 0 || cfg.PoolOfNode(n) != cfg.FindPool(it->first)) it = recorded_.erase(it);
      else ++it;
    }
    layout_ = next;
    s_.cfg = cfg;
    s_.ev = ev;
    CheckCarried("reload");
  }

  // The rules a node meets to replace the writer old, at a failover and
  // at an election alike: what it has applied counts, not a lag seen
  // before the trouble nor a STATE that lag gave it; a lag counts only
  // while it still receives.
  bool EligibleToReplace(int node, int old) {
    const PoolConfig& pool = s_.cfg.pools[static_cast<size_t>(s_.cfg.PoolOfNode(node))];
    const PollResult& p = Poll(node);
    const NodeModel& m = M(node);
    return !m.offline && !m.demoted && p.outcome == PollOutcome::kOk &&
           BelowFailoverAt(s_.ev.nodes[static_cast<size_t>(node)], pool) && p.repl.configured &&
           p.repl.source == s_.cfg.nodes[static_cast<size_t>(old)].address && p.repl.sql_running &&
           p.repl.sql_errno == 0 && p.repl.relay_applied && Trusted(p) * 1000 <= pool.max_promote_lag_ms;
  }


  // A node of the pool whose poll this step says it replicates from node.
  bool Followed(int pool, int node) const {
    for (int other : s_.cfg.pools[static_cast<size_t>(pool)].nodes) {
      const PollResult& p = Poll(other);
      if (other != node && p.outcome == PollOutcome::kOk && p.repl.configured &&
          p.repl.source == s_.cfg.nodes[static_cast<size_t>(node)].address)
        return true;
    }
    return false;
  }

  void CheckFailover(const Evaluation& before, int node, int old_active) {
    ++counts_.failovers;
    const PoolConfig& pool = s_.cfg.pools[static_cast<size_t>(s_.cfg.PoolOfNode(node))];
    const PollResult& p = Poll(node);
    INFO("failover " << Name(old_active) << " -> " << Name(node) << ": before "
                     << std::string(StateName(before.nodes[static_cast<size_t>(node)].state)) << " outcome "
                     << std::string(PollOutcomeName(p.outcome)) << " sql " << p.repl.sql_running << "/"
                     << p.repl.sql_errno << " relay " << p.repl.relay_applied << " lag " << M(node).lag
                     << " src_ok " << (p.repl.source == s_.cfg.nodes[static_cast<size_t>(old_active)].address));
    CHECK(EligibleToReplace(node, old_active));
    for (int other : pool.nodes) {
      if (other == node || other == old_active || !EligibleToReplace(other, old_active)) continue;
      INFO("passed over " << Name(other));
      CHECK(ComparePositions(Poll(other).repl.received, p.repl.received) != 1);
    }
    CHECK(s_.ev.nodes[static_cast<size_t>(old_active)].demoted);
  }

  // An election that replaced the writer the pool had (kFailover without an
  // ACTIVE before the step): the new one replicated from that old writer.
  void CheckElectionInPlaceOf(int node) {
    ++counts_.elections_in_place;
    int pool = s_.cfg.PoolOfNode(node);
    const PoolConfig& pc = s_.cfg.pools[static_cast<size_t>(pool)];
    const PollResult& p = Poll(node);
    int old = -1;
    for (int n : pc.nodes)
      if (p.outcome == PollOutcome::kOk && p.repl.configured &&
          p.repl.source == s_.cfg.nodes[static_cast<size_t>(n)].address)
        old = n;
    INFO("elected in place of a writer: " << Name(node) << " outcome " << std::string(PollOutcomeName(p.outcome))
                                          << " sql " << p.repl.sql_running << "/" << p.repl.sql_errno << " relay "
                                          << p.repl.relay_applied << " lag " << M(node).lag);
    REQUIRE(old >= 0);
    REQUIRE(old != node);
    INFO("old writer " << Name(old));
    CHECK(EligibleToReplace(node, old));
    for (int other : pc.nodes) {
      if (other == node || other == old || !EligibleToReplace(other, old)) continue;
      INFO("passed over " << Name(other));
      CHECK(ComparePositions(Poll(other).repl.received, p.repl.received) != 1);
    }
    CHECK(s_.ev.nodes[static_cast<size_t>(old)].demoted);
    // The writer recorded before the restart is the one replaced, unless it
    // was usable and set aside as no longer the writer (its poll is clean).
    auto rec = recorded_.find(pc.name);
    if (rec != recorded_.end() && rec->second != Name(old)) {
      int r = s_.cfg.FindNode(rec->second);
      const NodeModel& rm = M(r);
      INFO("recorded writer " << rec->second);
      if (!rm.offline && !rm.demoted && rm.polled) CHECK(Poll(r).outcome == PollOutcome::kOk);
    }
  }

  void CheckElection(int node) {
    ++counts_.elections;
    int pool = s_.cfg.PoolOfNode(node);
    const PollResult& p = Poll(node);
    const NodeModel& m = M(node);
    auto rec = recorded_.find(s_.cfg.pools[static_cast<size_t>(pool)].name);
    bool recorded = rec != recorded_.end() && rec->second == Name(node);
    INFO("elected " << Name(node) << " outcome " << std::string(PollOutcomeName(p.outcome)) << " recorded "
                    << recorded);
    CHECK_FALSE(m.offline);
    CHECK_FALSE(m.demoted);
    // 1040 or 1045: only the writer the pool had, which is alive.
    CHECK((p.outcome == PollOutcome::kOk || (AliveButUnusable(p) && (recorded || Followed(pool, node)))));
    if (p.outcome == PollOutcome::kOk)
      CHECK(BelowFailoverAt(s_.ev.nodes[static_cast<size_t>(node)], s_.cfg.pools[static_cast<size_t>(pool)]));
  }

  // Right after a restart, the recorded writer stays for one failed poll,
  // 1040 or 1045: no other node of its pool becomes ACTIVE. Alive (1040,
  // 1045), it gives way only to a node that is plainly the writer now: one
  // that others replicate from and that is not its replica.
  void CheckRecordedKept(const Evaluation& before, int pool) {
    const PoolConfig& pc = s_.cfg.pools[static_cast<size_t>(pool)];
    auto rec = recorded_.find(pc.name);
    if (rec == recorded_.end() || before.ActiveOf(s_.cfg, pool) >= 0) return;
    int r = s_.cfg.FindNode(rec->second);
    const NodeModel& m = M(r);
    if (m.offline || m.demoted) return;
    const PollResult& p = Poll(r);
    bool once = m.failed_now && m.failures == 1;
    if (!once && !AliveButUnusable(p)) return;
    ++counts_.writer_kept;
    INFO("recorded writer " << rec->second << " " << std::string(PollOutcomeName(p.outcome)) << ", failed polls "
                            << m.failures);
    for (int n : pc.nodes) {
      if (n == r || s_.ev.nodes[static_cast<size_t>(n)].state != State::kActive) continue;
      const PollResult& np = Poll(n);
      bool replica_of_recorded =
          np.repl.configured && np.repl.source == s_.cfg.nodes[static_cast<size_t>(r)].address;
      INFO("made ACTIVE: " << Name(n) << ", its replica " << replica_of_recorded);
      CHECK_FALSE(once);
      CHECK(np.outcome == PollOutcome::kOk);
      CHECK(Followed(pool, n));
      CHECK_FALSE(replica_of_recorded);
      ++counts_.writer_moved;
    }
  }

  void AfterStep(const Evaluation& before, const std::vector<Command>& commands, bool isolated) {
    ++counts_.steps;
    const Evaluation& ev = s_.ev;
    const Config& cfg = s_.cfg;
    if (!isolated) {
      for (size_t n = 0; n < cfg.nodes.size(); ++n) {
        NodeModel& m = M(static_cast<int>(n));
        PollOutcome o = Poll(static_cast<int>(n)).outcome;
        m.failed_now = PollFailed(o) || (o == PollOutcome::kNotPolled && m.polled);
        m.failures += m.failed_now;
        if (o != PollOutcome::kMonitorError && o != PollOutcome::kNotPolled) m.polled = true;
      }
    }
    // The commands' outcome, into the model.
    bool switched = false;  // an earlier command of the round moved an ACTIVE
    for (size_t i = 0; i < commands.size(); ++i) {
      const Command& c = commands[i];
      REQUIRE(i < s_.results.size());
      const CommandResult& r = s_.results[i];
      ++counts_.commands;
      counts_.commands_ok += r.ok;
      int n = cfg.FindNode(c.node);
      INFO("command " << static_cast<int>(c.kind) << " " << c.node << ": " << r.message);
      if (n < 0) {
        CHECK_FALSE(r.ok);
        continue;
      }
      NodeModel& m = M(n);
      if (c.kind == Command::kOffline) {
        if (before.nodes[static_cast<size_t>(n)].state == State::kActive && !switched) CHECK_FALSE(r.ok);
        if (r.ok) m.offline = true;
      } else if (c.kind == Command::kOnline) {
        CHECK(r.ok == m.offline);
        if (r.ok) m.offline = false;
      } else if (c.kind == Command::kRecover && r.ok) {
        counts_.recovered_by_operator += m.demoted;
        m.demoted = false;
      } else if (c.kind == Command::kSwitchover) {
        switched = switched || r.ok;
      }
    }

    for (size_t p = 0; p < cfg.pools.size(); ++p) {
      const PoolConfig& pc = cfg.pools[p];
      int actives = 0;
      for (int n : pc.nodes) actives += ev.nodes[static_cast<size_t>(n)].state == State::kActive;
      REQUIRE(actives <= 1);
      // The ACTIVE the round's rules started from (a switchover comes first).
      int old_active = before.ActiveOf(cfg, static_cast<int>(p));
      for (const Transition& t : ev.transitions)
        if (t.to == State::kActive && t.cause == TransitionCause::kSwitchover &&
            cfg.PoolOfNode(t.node) == static_cast<int>(p))
          old_active = t.node;
      for (const Transition& t : ev.transitions) {
        if (t.to != State::kActive || cfg.PoolOfNode(t.node) != static_cast<int>(p)) continue;
        if (t.cause == TransitionCause::kFailover && old_active >= 0) {
          CheckFailover(before, t.node, old_active);
        } else if (t.cause == TransitionCause::kFailover) {
          CheckElectionInPlaceOf(t.node);
        } else if (t.cause == TransitionCause::kElection) {
          CHECK(old_active < 0);
          CheckElection(t.node);
        } else if (t.cause == TransitionCause::kSwitchover) {
          ++counts_.switchovers;
        } else if (t.cause == TransitionCause::kFailback) {
          ++counts_.failbacks;
        } else {
          FAIL("made ACTIVE by cause " << Cause(t.cause));
        }
      }
      if (!isolated) CheckRecordedKept(before, static_cast<int>(p));
    }

    for (size_t n = 0; n < cfg.nodes.size(); ++n) {
      const NodeEval& ne = ev.nodes[n];
      NodeModel& m = M(static_cast<int>(n));
      const PoolConfig& pool = cfg.pools[static_cast<size_t>(cfg.PoolOfNode(static_cast<int>(n)))];
      INFO("node " << Name(static_cast<int>(n)) << " " << std::string(StateName(ne.state)));
      if (ne.demoted && !m.demoted) {
        // Demoted only by a failover (or an election in place of it) of its pool.
        ++counts_.demotions;
        bool failover = false;
        for (const Transition& t : ev.transitions)
          failover = failover || (t.to == State::kActive && t.cause == TransitionCause::kFailover &&
                                  cfg.PoolOfNode(t.node) == cfg.PoolOfNode(static_cast<int>(n)));
        CHECK(failover);
        m.demoted = true;
      }
      if (m.demoted && !ne.demoted) {
        // Nobody recovered it: only demoted_recovery = auto may.
        CHECK(pool.demoted_recovery == DemotedRecovery::kAuto);
        ++counts_.recovered_auto;
        m.demoted = false;
      }
      if (m.demoted) CHECK((ne.state != State::kStandby && ne.state != State::kActive));
      CHECK(ne.offline == m.offline);
      if (m.offline) CHECK(ne.state == State::kOffline);
      CHECK_FALSE((ne.offline && ne.state == State::kActive));
      // A node the monitor could not poll keeps its STATE unless an operator
      // changed something.
      if (!isolated && commands.empty() && Poll(static_cast<int>(n)).outcome == PollOutcome::kMonitorError)
        CHECK(ne.state == before.nodes[n].state);
    }

    for (size_t v = 0; v < cfg.vss.size(); ++v) {
      const PoolConfig& pool = cfg.pools[static_cast<size_t>(cfg.vss[v].pool)];
      int rw_up = 0;
      for (size_t i = 0; i < pool.nodes.size(); ++i) {
        const NodeEval& ne = ev.nodes[static_cast<size_t>(pool.nodes[i])];
        const Decision& d = ev.decisions[v][i];
        if (ne.state == State::kOffline || ne.state == State::kUnknown || ne.state == State::kFail) CHECK_FALSE(d.up);
        if (cfg.vss[v].role == VsRole::kReadWrite && d.up) {
          CHECK(ne.state == State::kActive);
          ++rw_up;
        }
      }
      CHECK(rw_up <= 1);
    }

    for (size_t p = 0; p < cfg.pools.size() && !isolated; ++p) {
      int active = ev.ActiveOf(cfg, static_cast<int>(p));
      if (active < 0) {
        // Before an election: the last lag seen while both threads ran.
        for (int n : cfg.pools[p].nodes)
          if (Poll(n).outcome != PollOutcome::kMonitorError && Trusted(Poll(n)) >= 0) M(n).lag = Trusted(Poll(n));
        continue;
      }
      writer_[cfg.pools[p].name] = Name(active);
      recorded_.erase(cfg.pools[p].name);  // judged
      if (Poll(active).outcome != PollOutcome::kOk) continue;
      // The standbys' lag while the writer answers; a node the monitor could
      // not poll keeps the lag of its last poll.
      for (int n : cfg.pools[p].nodes) {
        if (Poll(n).outcome == PollOutcome::kMonitorError) continue;
        M(n).lag = n == active ? -1 : Trusted(Poll(n));
      }
    }
  }

  std::mt19937& rng_;
  Counts& counts_;
  Layout layout_;
  Sim s_;
  std::map<std::string, NodeModel> model_;    // the nodes of the configuration
  std::map<std::string, PollResult> world_;   // every server ever, by name
  std::map<std::string, uint64_t> received_;  // how far each has replicated
  std::map<std::string, std::string> recorded_;  // pool -> its writer at the last restart, until judged
  std::map<std::string, std::string> writer_;    // pool -> the node the world's replicas follow
  std::vector<std::string> removed_;             // names a reload may bring back
  std::deque<std::string> trace_;
  int next_node_ = 1;
  int next_port_ = 3301;
};

std::string PoolOptions(int seq) {
  std::string o = seq % 3 == 0 ? "failback = yes\n" : seq % 3 == 1 ? "demoted_recovery = auto\n" : "";
  if (seq % 5 == 0) o += "promote_wait = 2s\n";
  if (seq % 7 == 3) o += "failover_at = CRITICAL\n";
  if (seq % 11 == 4) o += "recover_after = 1\n";
  return o;
}

Layout InitialLayout(int seq) {
  Layout l;
  int pools = 1 + seq % 2;
  int node = 1;
  for (int p = 0; p < pools; ++p) {
    PoolLayout pool;
    pool.name = p == 0 ? "main" : "spare";
    pool.options = PoolOptions(seq + p);
    int nodes = 2 + (seq / 2 + p) % 4;
    for (int i = 0; i < nodes; ++i, ++node) {
      std::string name = "db" + std::to_string(node);
      pool.nodes.push_back(name);
      l.sections.push_back(name);
      l.port[name] = 3300 + node;
    }
    l.pools.push_back(pool);
  }
  return l;
}

TEST_CASE("Evaluation property: across restarts, reloads and commands, one ACTIVE, eligible promotions, "
          "OFFLINE and demoted nodes stay out") {
  Counts c;
  const int kSequences = 1000, kSteps = 60;
  for (int seq = 0; seq < kSequences; ++seq) {
    // One seed per sequence, so that a failing one replays alone.
    std::mt19937 rng(20071126 + static_cast<unsigned>(seq));
    Sequence sequence(rng, c, InitialLayout(seq));
    for (int step = 0; step < kSteps; ++step) {
      INFO("sequence " << seq << ", step " << step << "; the last events:\n" << sequence.TraceText());
      sequence.Step(step);
    }
  }
  MESSAGE("steps: " << c.steps << ", restarts: " << c.restarts << " (" << c.restarts_without_memory
                    << " without pool memory), reloads: " << c.reloads_applied << " applied, " << c.reloads_refused
                    << " refused, commands: " << c.commands << " (" << c.commands_ok << " ok), failovers: "
                    << c.failovers << ", elections: " << c.elections << " (" << c.elections_in_place
                    << " in place of a failing writer), switchovers: " << c.switchovers << ", failbacks: "
                    << c.failbacks << ", demotions: " << c.demotions << " (recovered: " << c.recovered_by_operator
                    << " by an operator, " << c.recovered_auto << " automatically), recorded writer put to the test: "
                    << c.writer_kept << " (" << c.writer_moved << " times it gave way to the plain writer)");
  CHECK(c.steps >= 50000);
  // The sequences do exercise what they check.
  CHECK(c.failovers > 100);
  CHECK(c.elections_in_place > 20);
  CHECK(c.restarts > 1000);
  CHECK(c.restarts_without_memory > 100);
  CHECK(c.reloads_refused > 50);
  CHECK(c.reloads_applied > 1000);
  CHECK(c.writer_kept > 100);
  CHECK(c.recovered_by_operator > 20);
  CHECK(c.recovered_auto > 20);
}

// Two sequences the property test found, reduced.

TEST_CASE("Evaluation property, reduced: a replica of the recorded writer answering 1045 does not replace it") {
  Sim s(PoolConfigText(3), {{"db1", State::kActive}});
  s.W("db1") = Sim::Failed(PollOutcome::kAccessDenied);
  s.W("db2") = s.Replica("db1");
  s.W("db3") = s.Replica("db2");  // db2 relays: others replicate from it
  s.Round();
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.St("db2") == State::kStandby);
}

TEST_CASE("Evaluation property, reduced: a lag never seen before the trouble does not refuse a caught-up standby") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);  // db1 ACTIVE; db2 and db3 STANDBY with lag 0
  s.Round({Command{Command::kSwitchover, "main", "db2"}});
  REQUIRE(s.St("db2") == State::kActive);
  s.W("db2") = s.Writer();
  s.W("db1") = s.Replica("db2");
  s.W("db3") = s.Replica("db2");
  s.Rounds(3);
  // Back to db1; no news of db2 in that round, and db1 dies at once: db2's
  // lag behind db1 was never seen.
  s.W("db2") = Sim::MonitorError();
  s.Round({Command{Command::kSwitchover, "main", "db1"}});
  REQUIRE(s.St("db1") == State::kActive);
  s.W("db1") = Sim::Failed();
  s.W("db2") = Sim::SourceLost(s.Replica("db1", 100));
  s.W("db3") = Sim::SourceLost(s.Replica("db1", 90));
  s.W("db3").repl.sql_running = false;
  s.Rounds(2);
  // It has applied all it received and its SQL thread runs: eligible.
  CHECK(s.St("db2") == State::kActive);
  CHECK(s.St("db1") == State::kFail);
}

}  // namespace
}  // namespace mpp
