// Promotion rules: nodes that may never become the writer (promote = no, a
// delayed replica) and failovers that stay in the failed writer's zone.
// Each rule is asked by a failover, a start-up election, failback and a
// switchover; each refusal is named in the pool's note.
#include <doctest/doctest.h>

#include <string>

#include "tests/unit/core/eval_sim.h"

namespace mpp {
namespace {

// db1..dbn, with [node] keys for some of them ("db3" -> "promote = no\n").
std::string RulesText(int n, const std::map<std::string, std::string>& node_keys, const std::string& pool = "") {
  std::string text = "[global]\ninterval = 1s\n[pool main]\nnodes = ";
  for (int i = 1; i <= n; ++i) text += (i > 1 ? ", db" : "db") + std::to_string(i);
  text += "\n" + pool;
  for (int i = 1; i <= n; ++i) {
    std::string name = "db" + std::to_string(i);
    text += "[node " + name + "]\naddress = 127.0.0.1:" + std::to_string(3300 + i) + "\n";
    auto it = node_keys.find(name);
    if (it != node_keys.end()) text += it->second;
  }
  text += "[vs writer]\naddress = 192.0.2.10:3306\npool = main\nrole = rw\n";
  text += "[vs reader]\naddress = 192.0.2.10:3307\npool = main\nrole = ro\n";
  return text;
}

bool Has(const std::string& note, const std::string& part) { return note.find(part) != std::string::npos; }

// A healthy pool, db1 ACTIVE; then db1 crashes and each replica shows what
// it received (seq) of it.
void CrashWriter(Sim& s, const std::map<std::string, uint64_t>& received) {
  s.W("db1") = Sim::Failed();
  for (const auto& [name, seq] : received) s.W(name) = Sim::SourceLost(s.Replica("db1", seq));
}

// Semi-sync, in a managed topology, as the daemon runs it.
void SemiSync(Sim& s) {
  for (PoolConfig& p : s.cfg.pools) {
    p.manage_read_only = true;
    p.manage_replication = true;
    p.semi_sync = true;
  }
}

Sim Running(const std::string& text, int delayed = -1, bool semi_sync = false) {
  Sim s(text);
  if (semi_sync) SemiSync(s);
  s.HealthyPool();
  if (delayed >= 0) s.world[static_cast<size_t>(delayed)].repl.delay_s = 3600;
  s.Rounds(3);
  REQUIRE(s.St("db1") == State::kActive);
  return s;
}

TEST_CASE("Promotion rules: a promote = no standby that received the most is passed over") {
  Sim s = Running(RulesText(3, {{"db2", "promote = no\n"}}));
  CHECK(s.St("db2") == State::kStandby);  // it serves reads meanwhile
  CHECK(s.Up("reader", "db2"));
  CrashWriter(s, {{"db2", 120}, {"db3", 100}});
  s.Rounds(3);
  CHECK(s.St("db3") == State::kActive);
  CHECK(s.St("db1") == State::kFail);
}

TEST_CASE("Promotion rules: with no other standby the pool keeps its failing writer and says why") {
  Sim s = Running(RulesText(2, {{"db2", "promote = no\n"}}));
  CrashWriter(s, {{"db2", 100}});
  s.Rounds(4);
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.ev.pools[0].note == "ACTIVE db1 is failing but no standby is eligible: db2: promote = no");
}

TEST_CASE("Promotion rules: a delayed replica is never promoted, whatever promote says, and serves reads") {
  Sim s = Running(RulesText(3, {}), 1);  // db2: MASTER_DELAY 3600, lag 0 beyond it
  CHECK(s.St("db2") == State::kStandby);
  CHECK(s.Stat("db2") == Status::kOk);
  CHECK(s.Up("reader", "db2"));
  CrashWriter(s, {{"db2", 130}, {"db3", 100}});
  s.W("db2").repl.delay_s = 3600;
  s.W("db3") = Sim::Failed();
  s.Rounds(4);
  CHECK(s.St("db1") == State::kActive);
  CHECK(Has(s.ev.pools[0].note, "db2: delayed replica (SQL_Delay 3600s)"));
  s.W("db3") = Sim::SourceLost(s.Replica("db1", 100));
  s.Rounds(3);
  CHECK(s.St("db3") == State::kActive);
}

TEST_CASE("Promotion rules: with promote_wait, a delayed replica that received more is not waited for") {
  Sim s = Running(RulesText(3, {}, "promote_wait = 10s\n"), 1);
  CrashWriter(s, {{"db2", 130}, {"db3", 100}});
  s.W("db2").repl.delay_s = 3600;
  s.W("db2").repl.relay_applied = false;  // it applies an hour later
  s.Rounds(3);
  CHECK(s.St("db3") == State::kActive);
  CHECK_FALSE(Has(s.ev.pools[0].note, "waiting"));
}

TEST_CASE("Promotion rules: with semi_sync, a never-promoted replica that received the most blocks the failover") {
  // It may hold the only copy of an acknowledged commit: the operator decides.
  Sim s = Running(RulesText(3, {{"db2", "promote = no\n"}}), -1, true);
  CrashWriter(s, {{"db2", 120}, {"db3", 100}});
  s.Rounds(4);
  CHECK(s.St("db1") == State::kActive);
  CHECK(Has(s.ev.pools[0].note, "db2 received the most and with semi_sync no node that lacks it replaces db1, "
                                "but db2: promote = no"));
  // When db3 has it too, db3 is promoted.
  s.W("db3") = Sim::SourceLost(s.Replica("db1", 120));
  s.W("db3").repl.io = IoThread::kNo;
  s.Rounds(2);
  CHECK(s.St("db3") == State::kActive);
}

TEST_CASE("Promotion rules: the operator ends such a wait with promote = yes and a reload") {
  Sim s = Running(RulesText(3, {{"db2", "promote = no\n"}}), -1, true);
  CrashWriter(s, {{"db2", 120}, {"db3", 100}});
  s.Rounds(4);
  REQUIRE(s.St("db1") == State::kActive);
  Config yes = ParseOrDie(RulesText(3, {}));
  for (PoolConfig& p : yes.pools) {  // as Running() set them
    p.manage_read_only = true;
    p.manage_replication = true;
    p.semi_sync = true;
  }
  REQUIRE(WhyReloadRefused(s.cfg, s.ev, yes).empty());
  s.ev = RemapEvaluation(s.cfg, s.ev, yes);
  s.cfg = yes;
  s.Rounds(2);
  CHECK(s.St("db2") == State::kActive);
  CHECK(s.St("db1") == State::kFail);
}

TEST_CASE("Promotion rules: a start-up election never elects a never-promoted node, and replaces such a writer") {
  SUBCASE("recorded ACTIVE with promote = no: replaced as a failover would, and demoted") {
    Sim s(RulesText(3, {{"db1", "promote = no\n"}}), {{"db1", State::kActive}});
    s.HealthyPool();
    s.Rounds(3);
    CHECK(s.St("db2") == State::kActive);
    CHECK(s.St("db1") == State::kFail);
    CHECK(s.N("db1").demoted);
    CHECK(Has(s.N("db2").state_reason, "db1 (ACTIVE before the restart, promote = no)"));
    CHECK(s.ev.pools[0].last_failover.from == "db1");
  }
  SUBCASE("no writer recorded, the replicas follow a promote = no node: the same") {
    Sim s(RulesText(3, {{"db1", "promote = no\n"}}));
    s.HealthyPool();
    s.Rounds(3);
    CHECK(s.St("db2") == State::kActive);
    CHECK(s.N("db1").demoted);
    CHECK(Has(s.N("db2").state_reason, "db1 (replication source of the pool, promote = no)"));
  }
  SUBCASE("a writer replaced in favour of the one that received the most") {
    Sim s(RulesText(3, {{"db1", "promote = no\n"}}), {{"db1", State::kActive}});
    s.HealthyPool();
    s.W("db3") = s.Replica("db1", 120);
    s.Rounds(3);
    CHECK(s.St("db3") == State::kActive);
  }
  SUBCASE("no node can replace it: the pool stays without an ACTIVE and says why") {
    Sim s(RulesText(2, {{"db1", "promote = no\n"}}), {{"db1", State::kActive}});
    s.HealthyPool();
    s.W("db2").repl.sql_running = false;
    s.Rounds(3);
    CHECK(s.ev.ActiveOf(s.cfg, 0) < 0);
    CHECK(s.ev.pools[0].note ==
          "no node can be ACTIVE: db1 (ACTIVE before the restart, promote = no) may not be the writer and no node "
          "is eligible: db2: SQL thread stopped");
  }
  SUBCASE("fresh servers, none a replica: the first that may be promoted") {
    Sim s(RulesText(3, {{"db1", "promote = no\n"}}));
    for (size_t i = 0; i < s.world.size(); ++i) s.world[i] = s.Writer();
    s.Rounds(3);
    CHECK(s.St("db2") == State::kActive);
    CHECK_FALSE(s.N("db1").demoted);
  }
}

TEST_CASE("Promotion rules: failback never returns to a delayed PRIMARY") {
  Sim s(RulesText(2, {}, "failback = yes\n"));
  s.HealthyPool();
  s.Rounds(3);
  CrashWriter(s, {{"db2", 100}});
  s.Rounds(3);
  REQUIRE(s.St("db2") == State::kActive);
  s.Round({Command{Command::kRecover, "", "db1", false}});
  s.W("db2") = s.Writer();
  s.W("db1") = s.Replica("db2");
  s.W("db1").repl.delay_s = 600;
  s.Rounds(5);
  CHECK(s.St("db1") == State::kStandby);
  CHECK(s.St("db2") == State::kActive);
  s.W("db1").repl.delay_s = 0;  // the operator removed the delay
  s.Rounds(2);
  CHECK(s.St("db1") == State::kActive);
}

TEST_CASE("Promotion rules: a switchover to a never-promoted node is refused with the reason") {
  Sim s = Running(RulesText(4, {{"db2", "promote = no\n"}}), 2);  // db3 delayed
  std::string why;
  CHECK(ChooseSwitchoverTarget(s.cfg, s.ev, "main", "db2", &why) < 0);
  CHECK(why == "cannot switch over to db2: promote = no");
  CHECK(ChooseSwitchoverTarget(s.cfg, s.ev, "main", "db3", &why) < 0);
  CHECK(why == "cannot switch over to db3: delayed replica (SQL_Delay 3600s)");
  CHECK(ChooseSwitchoverTarget(s.cfg, s.ev, "main", "", &why) == s.Node("db4"));
  // The command itself, should it come with a resolved target, refuses too.
  s.Round({Command{Command::kSwitchover, "main", "db2", true}});
  REQUIRE(s.results.size() == 1);
  CHECK_FALSE(s.results[0].ok);
  CHECK(Has(s.results[0].message, "promote = no"));
  CHECK(s.St("db1") == State::kActive);
}

TEST_CASE("Promotion rules: a reload that says promote = no of the ACTIVE is refused") {
  Sim s = Running(RulesText(3, {}));
  std::string why = WhyReloadRefused(s.cfg, s.ev, ParseOrDie(RulesText(3, {{"db1", "promote = no\n"}})));
  CHECK(why == "node db1 is the ACTIVE of pool main and the new configuration says promote = no: switch over first "
               "(mppctl switchover main)");
  CHECK(WhyReloadRefused(s.cfg, s.ev, ParseOrDie(RulesText(3, {{"db2", "promote = no\n"}}))).empty());
}

const std::map<std::string, std::string> kZones = {
    {"db1", "zone = east\n"}, {"db2", "zone = east\n"}, {"db3", "zone = west\n"}, {"db4", "zone = west\n"}};

TEST_CASE("Promotion rules: failover_zones = same waits rather than cross zones") {
  Sim s = Running(RulesText(4, kZones, "failover_zones = same\n"));
  CrashWriter(s, {{"db3", 100}, {"db4", 100}});
  s.W("db2") = Sim::Failed();
  s.Rounds(4);
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.ev.pools[0].note ==
        "ACTIVE db1 is failing but no eligible standby in zone east (db3 in zone west, db4 in zone west are not "
        "considered): db2: last poll: connection refused");
  s.W("db2") = Sim::SourceLost(s.Replica("db1", 90));
  s.Rounds(5);  // its failed polls are forgiven after recover_after clean ones
  CHECK(s.St("db2") == State::kActive);  // in the zone, though db3 received more
}

TEST_CASE("Promotion rules: failover_zones = any crosses zones") {
  Sim s = Running(RulesText(4, kZones));
  CrashWriter(s, {{"db3", 100}, {"db4", 110}});
  s.W("db2") = Sim::Failed();
  s.Rounds(4);
  CHECK(s.St("db4") == State::kActive);
}

TEST_CASE("Promotion rules: in a zone alone, the note names the zone and the nodes not considered") {
  std::map<std::string, std::string> zones = {{"db1", "zone = east\n"}, {"db2", "zone = west\n"}};
  Sim s = Running(RulesText(2, zones, "failover_zones = same\n"));
  CrashWriter(s, {{"db2", 100}});
  s.Rounds(4);
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.ev.pools[0].note ==
        "ACTIVE db1 is failing but no eligible standby in zone east (db2 in zone west is not considered)");
}

TEST_CASE("Promotion rules: a switchover may cross zones") {
  Sim s = Running(RulesText(4, kZones, "failover_zones = same\n"));
  std::string why;
  CHECK(ChooseSwitchoverTarget(s.cfg, s.ev, "main", "db3", &why) == s.Node("db3"));
  s.Round({Command{Command::kSwitchover, "main", "db3", true}});
  REQUIRE(s.results.size() == 1);
  CHECK(s.results[0].ok);
  CHECK(s.St("db3") == State::kActive);
}

TEST_CASE("Promotion rules: a start-up election in place of a writer that is gone stays in its zone") {
  Sim s(RulesText(4, kZones, "failover_zones = same\n"), {{"db1", State::kActive}});
  CrashWriter(s, {{"db3", 120}, {"db4", 120}});
  s.W("db2") = Sim::Failed();
  s.Rounds(6);
  CHECK(s.ev.ActiveOf(s.cfg, 0) < 0);
  CHECK(Has(s.ev.pools[0].note, "no eligible standby in zone east (db3 in zone west, db4 in zone west are not "
                                "considered): db2: last poll: connection refused"));
  s.W("db2") = Sim::SourceLost(s.Replica("db1", 100));
  s.Rounds(5);
  CHECK(s.St("db2") == State::kActive);
}

TEST_CASE("Promotion rules: a promote = no writer alone in its zone is replaced from any zone at start") {
  // It has not failed: failover_zones binds failovers, not its replacement.
  std::map<std::string, std::string> zones = {
      {"db1", "zone = east\npromote = no\n"}, {"db2", "zone = west\n"}, {"db3", "zone = west\n"}};
  for (bool recorded : {true, false}) {
    CAPTURE(recorded);
    std::vector<std::pair<std::string, State>> memory;
    if (recorded) memory.push_back({"db1", State::kActive});
    Sim s(RulesText(3, zones, "failover_zones = same\n"), memory);
    s.HealthyPool();
    s.Rounds(3);
    CHECK(s.St("db2") == State::kActive);
    CHECK(s.N("db1").demoted);
  }
}

TEST_CASE("Promotion rules: with semi_sync, a replica in another zone that received the most blocks the failover") {
  Sim s = Running(RulesText(4, kZones, "failover_zones = same\n"), -1, true);
  CrashWriter(s, {{"db2", 100}, {"db3", 120}, {"db4", 100}});
  s.Rounds(4);
  CHECK(s.St("db1") == State::kActive);
  CHECK(Has(s.ev.pools[0].note, "db3 received the most and with semi_sync no node that lacks it replaces db1, but "
                                "db3: in zone west (failover_zones = same)"));
}

}  // namespace
}  // namespace mpp
