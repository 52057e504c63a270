// Evaluation: what the topology worker found out (TopologyFacts) and the
// commands of a pool that manages replication (doc/replication.md).
#include "core/evaluation.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/unit/core/eval_sim.h"

namespace mpp {
namespace {

const char kDiverged[] = "0-3-57 is not in db1's binlog";

// Sim::Round with the worker's facts (like cfg.nodes, or empty: nothing known).
void RoundWith(Sim& s, const std::vector<TopologyFacts>& facts, std::vector<Command> commands = {}) {
  RoundInput in;
  in.now_ms = s.now_ms;
  in.mono_ms = s.mono_ms;
  in.polls = s.world;
  in.commands = std::move(commands);
  in.topology = facts;
  s.results.clear();
  s.ev = Evaluate(s.cfg, s.ev, in, &s.results);
  s.now_ms += s.cfg.interval_ms;
  s.mono_ms += s.cfg.interval_ms;
  if (s.worker) s.Sever();
}

// Facts for every node, f for `node` and nothing for the others.
std::vector<TopologyFacts> FactsFor(const Sim& s, const std::string& node, const TopologyFacts& f) {
  std::vector<TopologyFacts> out(s.cfg.nodes.size());
  out[static_cast<size_t>(s.Node(node))] = f;
  return out;
}

std::vector<TopologyFacts> NoFacts(const Sim& s) { return std::vector<TopologyFacts>(s.cfg.nodes.size()); }

TopologyFacts Diverged(const std::string& why = kDiverged) {
  TopologyFacts f;
  f.diverged = why;
  return f;
}

TopologyFacts Rejoined() {
  TopologyFacts f;
  f.rejoined = true;
  return f;
}

// What the config parser sets for `manage_replication = yes`.
void ManageReplication(Sim& s) {
  s.cfg.pools[0].manage_read_only = true;
  s.cfg.pools[0].manage_replication = true;
}

// db1 died and db2 took over; db3 follows db2; db1 is demoted.
void FailedOver(Sim& s) {
  s.HealthyPool();
  s.Rounds(2);
  s.W("db1") = Sim::Failed();
  for (size_t i = 1; i < s.world.size(); ++i) s.world[i] = Sim::SourceLost(s.world[i]);
  s.Rounds(2);
  REQUIRE(s.St("db2") == State::kActive);
  REQUIRE(s.N("db1").demoted);
  s.W("db2") = s.Writer();
  for (size_t i = 2; i < s.world.size(); ++i) s.world[i] = s.Replica("db2");
}

TEST_CASE("Evaluation/topology: a diverged node is FAIL with the reason, at least CRITICAL") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  s.HealthyPool();
  s.Rounds(2);
  REQUIRE(s.St("db3") == State::kStandby);
  s.W("db3") = s.Writer();  // a stray writer, found out by the attach's check
  s.W("db3").read_only = true;
  RoundWith(s, FactsFor(s, "db3", Diverged()));
  CHECK(s.St("db3") == State::kFail);
  CHECK(s.Stat("db3") >= Status::kCritical);
  CHECK(s.N("db3").reason == std::string("diverged: ") + kDiverged);
  CHECK(s.N("db3").diverged == kDiverged);
  CHECK_FALSE(s.Up("reader", "db3"));
  bool transition = false;
  for (const Transition& t : s.ev.transitions)
    transition = transition || (t.node == s.Node("db3") && t.to == State::kFail);
  CHECK(transition);
}

TEST_CASE("Evaluation/topology: a diverged node is never STANDBY, however healthy its polls") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  s.HealthyPool();
  s.Rounds(2);
  // Its polls are perfect: a replica of the ACTIVE, threads running, no lag.
  for (int i = 0; i < 10; ++i) {
    RoundWith(s, FactsFor(s, "db3", Diverged()));
    CHECK(s.St("db3") == State::kFail);
    CHECK(s.Stat("db3") >= Status::kCritical);
  }
  // Rounds without news of the worker keep what it found out.
  s.Rounds(3);
  CHECK(s.St("db3") == State::kFail);
  CHECK(s.N("db3").diverged == kDiverged);
}

TEST_CASE("Evaluation/topology: a diverged standby is not promoted, even in the round its facts arrive") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  s.HealthyPool();
  s.W("db2").repl.received.gtid["0"] = 120;  // db2 received the most: the first choice
  s.Rounds(2);
  s.W("db1") = Sim::Failed();
  s.W("db2") = Sim::SourceLost(s.W("db2"));
  s.W("db3") = Sim::SourceLost(s.W("db3"));
  s.Round();
  REQUIRE(s.St("db1") == State::kActive);
  REQUIRE(s.St("db2") == State::kStandby);
  RoundWith(s, FactsFor(s, "db2", Diverged("0-2-120 is not in db1's binlog")));
  CHECK(s.St("db3") == State::kActive);
  CHECK(s.St("db2") == State::kFail);
  CHECK(s.ActiveCount() == 1);
}

TEST_CASE("Evaluation/topology: WhyNotEligible names the divergence of a STANDBY") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  s.HealthyPool();
  s.Rounds(2);
  REQUIRE(WhyNotEligible(s.cfg, s.ev, 0, s.Node("db1"), s.Node("db2")) == "");
  Evaluation ev = s.ev;
  ev.nodes[static_cast<size_t>(s.Node("db2"))].diverged = kDiverged;
  CHECK(WhyNotEligible(s.cfg, ev, 0, s.Node("db1"), s.Node("db2")) == std::string("diverged: ") + kDiverged);
  // Evaluated, it is FAIL, and neither a failover nor a switchover takes it.
  RoundWith(s, FactsFor(s, "db2", Diverged()));
  CHECK(WhyNotEligible(s.cfg, s.ev, 0, s.Node("db1"), s.Node("db2")) == "is FAIL");
  std::string why;
  CHECK(ChooseSwitchoverTarget(s.cfg, s.ev, "main", "db2", &why) == -1);
  CHECK(why == "cannot switch over to db2: is FAIL");
  RoundWith(s, FactsFor(s, "db2", Diverged()), {Command{Command::kSwitchover, "main", "db2"}});
  REQUIRE(s.results.size() == 1);
  CHECK_FALSE(s.results[0].ok);
  CHECK(s.St("db1") == State::kActive);
}

TEST_CASE("Evaluation/topology: a node comes back recover_after healthy rounds after its divergence is cleared") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  REQUIRE(s.cfg.pools[0].recover_after == 3);
  s.HealthyPool();
  s.Rounds(2);
  for (int i = 0; i < 5; ++i) RoundWith(s, FactsFor(s, "db3", Diverged()));
  REQUIRE(s.St("db3") == State::kFail);
  // Rebuilt by an operator; the worker's check now passes.
  RoundWith(s, NoFacts(s));
  CHECK(s.N("db3").diverged == "");
  CHECK(s.St("db3") == State::kFail);  // anti-flap: not at once
  RoundWith(s, NoFacts(s));
  CHECK(s.St("db3") == State::kFail);
  RoundWith(s, NoFacts(s));
  CHECK(s.St("db3") == State::kStandby);
  CHECK(s.Stat("db3") <= Status::kInfo);
  CHECK(s.N("db3").reason != std::string("diverged: ") + kDiverged);
}

TEST_CASE("Evaluation/topology: a diverged node attached after a clean check is STANDBY once healthy") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  s.HealthyPool();
  s.Rounds(2);
  s.W("db3") = s.Replica("db2");  // a stray, refused by the check
  for (int i = 0; i < 3; ++i) RoundWith(s, FactsFor(s, "db3", Diverged()));
  REQUIRE(s.St("db3") == State::kFail);
  // Rebuilt; the worker's check passes and it attaches it to the ACTIVE.
  s.W("db3") = s.Replica("db1");
  RoundWith(s, FactsFor(s, "db3", Rejoined()));
  CHECK(s.N("db3").diverged == "");
  CHECK(s.St("db3") == State::kStandby);
  CHECK(s.Stat("db3") <= Status::kInfo);
}

TEST_CASE("Evaluation/topology: a rejoined ex-writer is no longer demoted under demoted_recovery = manual") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  REQUIRE(s.cfg.pools[0].demoted_recovery == DemotedRecovery::kManual);
  FailedOver(s);
  // Back, fenced, but not attached yet: it waits, demoted.
  s.W("db1") = s.Writer();
  s.W("db1").read_only = true;
  s.Rounds(5);
  CHECK(s.St("db1") == State::kFail);
  CHECK(s.N("db1").demoted);
  // Attached by the worker after a clean divergence check; still catching up.
  s.W("db1") = s.Replica("db2", 100, 60);
  RoundWith(s, FactsFor(s, "db1", Rejoined()));
  CHECK_FALSE(s.N("db1").demoted);
  CHECK(s.N("db1").state_reason == "rejoined as a replica of the ACTIVE");
  CHECK(s.St("db1") == State::kFail);  // lag 60s > max_lag: not healthy yet
  // Caught up: STANDBY.
  s.W("db1") = s.Replica("db2");
  RoundWith(s, NoFacts(s));
  CHECK(s.St("db1") == State::kStandby);
  CHECK(s.Stat("db1") <= Status::kInfo);
  CHECK(s.Up("reader", "db1"));
  CHECK(s.St("db2") == State::kActive);
  CHECK(s.ActiveCount() == 1);
  // Demoted no more: a restart does not bring the demotion back.
  CHECK(RememberPools(s.cfg, s.ev).nodes.empty());
}

TEST_CASE("Evaluation/topology: without the rejoin, a demoted ex-writer that replicates well stays FAIL") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  FailedOver(s);
  s.W("db1") = s.Replica("db2");  // pointed at db2 by hand, not checked
  for (int i = 0; i < 10; ++i) {
    RoundWith(s, NoFacts(s));
    CHECK(s.St("db1") == State::kFail);
    CHECK(s.N("db1").demoted);
  }
}

TEST_CASE("Evaluation/topology: rejoined does nothing to a node that was not demoted") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  s.HealthyPool();
  s.Rounds(2);
  RoundWith(s, FactsFor(s, "db3", Rejoined()));
  CHECK(s.St("db3") == State::kStandby);
  CHECK(s.St("db1") == State::kActive);
}

TEST_CASE("Evaluation/topology: recover of a demoted node is refused where replication is managed") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  FailedOver(s);
  s.W("db1") = s.Replica("db2");
  s.Round({Command{Command::kRecover, "", "db1"}});
  REQUIRE(s.results.size() == 1);
  CHECK_FALSE(s.results[0].ok);
  CHECK(s.results[0].message ==
        "pool main manages replication: `mppctl rejoin db1` attaches db1 to the ACTIVE once its data is checked");
  CHECK(s.N("db1").demoted);
  s.Rounds(5);
  CHECK(s.St("db1") == State::kFail);
}

TEST_CASE("Evaluation/topology: recover of a diverged node is refused where replication is managed") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  s.HealthyPool();
  s.Rounds(2);
  RoundWith(s, FactsFor(s, "db3", Diverged()));
  REQUIRE(s.St("db3") == State::kFail);
  RoundWith(s, FactsFor(s, "db3", Diverged()), {Command{Command::kRecover, "", "db3"}});
  REQUIRE(s.results.size() == 1);
  CHECK_FALSE(s.results[0].ok);
  CHECK(s.results[0].message.find("`mppctl rejoin db3`") != std::string::npos);
  CHECK(s.St("db3") == State::kFail);
}

TEST_CASE("Evaluation/topology: recover of a failing standby still works where replication is managed") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  s.HealthyPool();
  s.Rounds(2);
  PollResult good = s.W("db3");
  s.W("db3") = Sim::Failed();
  s.Rounds(4);
  REQUIRE(s.St("db3") == State::kFail);
  REQUIRE_FALSE(s.N("db3").demoted);
  s.W("db3") = good;
  s.Round({Command{Command::kRecover, "", "db3"}});
  REQUIRE(s.results.size() == 1);
  CHECK(s.results[0].ok);
}

TEST_CASE("Evaluation/topology: recover of a demoted node works in a pool that does not manage replication") {
  Sim s(PoolConfigText(3, "manage_read_only = yes\n"));
  REQUIRE_FALSE(s.cfg.pools[0].manage_replication);
  FailedOver(s);
  s.W("db1") = s.Replica("db2");
  s.Rounds(2);
  REQUIRE(s.St("db1") == State::kFail);
  s.Round({Command{Command::kRecover, "", "db1"}});
  REQUIRE(s.results.size() == 1);
  CHECK(s.results[0].ok);
  CHECK(s.results[0].message == "db1 recovered: it becomes STANDBY as soon as it is healthy");
  CHECK_FALSE(s.N("db1").demoted);
  CHECK(s.St("db1") == State::kStandby);
}

TEST_CASE("Evaluation/topology: the last failed step shows as topology_error until a success") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  s.HealthyPool();
  s.Rounds(2);
  TopologyFacts f;
  f.error = "db3: CHANGE MASTER failed: Access denied for user 'repl'@'127.0.0.1'";
  RoundWith(s, FactsFor(s, "db3", f));
  CHECK(s.N("db3").topology_error == f.error);
  CHECK(s.N("db2").topology_error == "");
  s.Round();  // no news: kept
  CHECK(s.N("db3").topology_error == f.error);
  RoundWith(s, NoFacts(s));  // the step succeeded
  CHECK(s.N("db3").topology_error == "");
}

// db1 (server_id 1) the writer at 0-1-11; db3 wrote 0-3-9 itself and
// applied db1's transactions after it.
void Db3Errant(Sim& s) {
  s.W("db1").server_id = 1;
  s.W("db1").binlog_state_known = true;
  REQUIRE(ParseGtidList("0-1-11", &s.W("db1").binlog_state));
  s.W("db2").binlog_state_known = true;
  REQUIRE(ParseGtidList("0-1-11", &s.W("db2").binlog_state));
  s.W("db3").binlog_state_known = true;
  REQUIRE(ParseGtidList("0-3-9,0-1-11", &s.W("db3").binlog_state));
}

TEST_CASE("Evaluation/topology: a standby with an errant transaction is FAIL and never promoted") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  s.HealthyPool();
  s.Rounds(2);
  REQUIRE(s.St("db3") == State::kStandby);
  Db3Errant(s);
  s.Round();
  CHECK(s.St("db3") == State::kStandby);  // one round could be two polls a moment apart
  s.Round();
  CHECK(s.St("db3") == State::kFail);
  CHECK(s.N("db3").reason == "errant: 0-3-9 is not in db1's binlog");
  CHECK(s.Stat("db3") >= Status::kCritical);
  // db1 dies; db3 received the most, but it is not eligible.
  s.W("db3").repl.received.gtid["0"] = 200;
  s.W("db1") = Sim::Failed();
  s.W("db2") = Sim::SourceLost(s.W("db2"));
  s.W("db3") = Sim::SourceLost(s.W("db3"));
  s.Rounds(3);
  CHECK(s.St("db2") == State::kActive);
  CHECK(s.St("db3") == State::kFail);
  CHECK(WhyNotEligible(s.cfg, s.ev, 0, s.Node("db2"), s.Node("db3"), false) == "is FAIL");
}

TEST_CASE("Evaluation/topology: an errant transaction removed by the operator lets the standby back") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  s.HealthyPool();
  s.Rounds(2);
  Db3Errant(s);
  s.Rounds(2);
  REQUIRE(s.St("db3") == State::kFail);
  s.W("db3").binlog_state.clear();  // rebuilt
  REQUIRE(ParseGtidList("0-1-11", &s.W("db3").binlog_state));
  s.Rounds(s.cfg.pools[0].recover_after + 1);
  CHECK(s.N("db3").errant == "");
  CHECK(s.St("db3") == State::kStandby);
}

}  // namespace
}  // namespace mpp

namespace mpp {
namespace {

TEST_CASE("Evaluation/topology: a standby with a replication filter or log_slave_updates OFF is INFO and STANDBY") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  s.HealthyPool();
  s.W("db2").repl.filters = "replicate-ignore-db=scratch";
  s.W("db3").log_slave_updates = 0;
  s.Rounds(4);
  CHECK(s.St("db2") == State::kStandby);
  CHECK(s.St("db3") == State::kStandby);
  CHECK(s.Stat("db2") == Status::kInfo);
  CHECK(s.Stat("db3") == Status::kInfo);
  CHECK(s.N("db2").reason ==
        "replication filters (replicate-ignore-db=scratch): positions compared on gtid_slave_pos");
  CHECK(s.N("db3").reason == "log_slave_updates is OFF: positions compared on gtid_slave_pos");
  CHECK(s.Up("reader", "db2"));
  CHECK(s.Up("reader", "db3"));
}

TEST_CASE("Evaluation/topology: without manage_replication a replication filter is not noted") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.W("db3").repl.filters = "replicate-ignore-db=scratch";
  s.Rounds(4);
  CHECK(s.St("db3") == State::kStandby);
  CHECK(s.Stat("db3") == Status::kOk);
}

}  // namespace
}  // namespace mpp
