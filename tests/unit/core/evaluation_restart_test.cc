// Evaluation across restarts, reloads and operator commands: the start-up
// election (doc/pool-logic.md "Start-up election"), the pool memory that
// carries demotions, OFFLINE and the switchover origin across a restart,
// the reload rules, and OFFLINE taking effect in the round it is accepted.
#include <doctest/doctest.h>

#include "core/evaluation.h"
#include "core/pool_memory.h"
#include "tests/unit/core/eval_sim.h"

namespace mpp {
namespace {

// What a restart of mppstate keeps: the pool memory, through its text.
void Restart(Sim& s) {
  PoolMemory m;
  std::string err;
  REQUIRE(ParsePoolMemory(FormatPoolMemory(RememberPools(s.cfg, s.ev)), "pool-memory", &m, &err));
  s.ev = InitialEvaluation(s.cfg, {}, &m);
}

// A healthy pool elects db1; then db1 dies and its replicas lose it.
void WriterDies(Sim& s) {
  s.HealthyPool();
  s.Rounds(2);
  REQUIRE(s.St("db1") == State::kActive);
  s.W("db1") = Sim::Failed();
  for (size_t i = 1; i < s.world.size(); ++i) s.world[i] = Sim::SourceLost(s.world[i]);
}

// WriterDies, and the failover to db2 that follows.
void FailOverToDb2(Sim& s) {
  WriterDies(s);
  s.Rounds(2);
  REQUIRE(s.St("db2") == State::kActive);
}

// A replica whose SQL thread stopped on a duplicate key, far behind.
PollResult Broken(const Sim& s, const std::string& source, uint64_t seq) {
  PollResult p = s.Replica(source, seq, -1);
  p.repl.sql_running = false;
  p.repl.sql_errno = 1062;
  p.repl.sql_error = "Duplicate entry '1' for key 'PRIMARY'";
  p.repl.relay_applied = false;
  return p;
}

TEST_CASE("Start-up election: the recorded writer down and a replica broken: the healthy one that received more") {
  Sim s(PoolConfigText(3), {{"db1", State::kActive}});
  s.W("db1") = Sim::Failed();
  s.W("db2") = Broken(s, "db1", 50);
  s.W("db3") = Sim::SourceLost(s.Replica("db1", 120));
  s.Round();
  // One failed poll never moves the writer: nobody is elected yet.
  CHECK(s.ActiveCount() == 0);
  CHECK(s.ev.pools[0].note.find("election waits") != std::string::npos);
  s.Round();
  CHECK(s.St("db3") == State::kActive);
  CHECK(s.St("db2") != State::kActive);
  CHECK(s.St("db1") == State::kFail);
  CHECK(s.N("db1").demoted);
  CHECK(s.ev.pools[0].last_failover.from == "db1");
  CHECK(s.ev.pools[0].last_failover.to == "db3");
}

TEST_CASE("Start-up election: without any record, the same rules") {
  Sim s(PoolConfigText(3));
  s.W("db1") = Sim::Failed();
  s.W("db2") = Broken(s, "db1", 50);
  s.W("db3") = Sim::SourceLost(s.Replica("db1", 40));
  s.Round();
  CHECK(s.ActiveCount() == 0);
  s.Round();
  CHECK(s.St("db3") == State::kActive);
  CHECK(s.St("db1") == State::kFail);
}

TEST_CASE("Start-up election: a writable replica is not mistaken for the writer") {
  Sim s(PoolConfigText(3), {{"db1", State::kActive}});
  s.W("db1") = Sim::Failed();
  s.W("db2") = Broken(s, "db1", 50);
  s.W("db2").read_only = false;
  s.W("db3") = Sim::SourceLost(s.Replica("db1", 120));
  s.Rounds(2);
  CHECK(s.St("db3") == State::kActive);
}

TEST_CASE("Start-up election: a replica far behind before the writer died waits until it applied what it received") {
  Sim s(PoolConfigText(3), {{"db1", State::kActive}});
  s.W("db1") = s.Writer();
  s.W("db2") = s.Replica("db1", 100, 7200);
  s.W("db3") = s.Replica("db1", 90, 0);
  s.W("db1") = Sim::Failed();
  s.Round();
  s.W("db2") = Sim::SourceLost(s.Replica("db1", 100, 7200));
  s.W("db2").repl.relay_applied = false;  // still applying two hours of relay log
  s.W("db3") = Sim::SourceLost(s.Replica("db1", 90));
  s.Round();
  // Without promote_wait the node that has applied everything goes first.
  CHECK(s.St("db3") == State::kActive);
}

TEST_CASE("Start-up election: a replica that lagged but has applied all it received is elected, lag or not") {
  Sim s(PoolConfigText(3), {{"db1", State::kActive}});
  s.W("db1") = Sim::Failed();
  s.W("db2") = Sim::SourceLost(s.Replica("db1", 100, 7200));
  s.W("db3") = Sim::SourceLost(s.Replica("db1", 90));
  s.Rounds(3);
  CHECK(s.St("db2") == State::kActive);  // it received the most
}

TEST_CASE("Start-up election: the recorded writer missing one poll keeps the role when it answers again") {
  Sim s(PoolConfigText(3), {{"db1", State::kActive}});
  s.HealthyPool();
  PollResult writer = s.W("db1");
  s.W("db1") = Sim::Failed(PollOutcome::kTimeout);
  s.Round();
  CHECK(s.ActiveCount() == 0);
  s.W("db1") = writer;
  s.Round();
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.St("db2") == State::kStandby);
}

TEST_CASE("Start-up election: the recorded writer answering 1040 or 1045 stays ACTIVE") {
  for (PollOutcome o : {PollOutcome::kTooManyConnections, PollOutcome::kAccessDenied}) {
    Sim s(PoolConfigText(3), {{"db1", State::kActive}});
    s.HealthyPool();
    s.W("db1") = Sim::Failed(o);
    s.Rounds(5);
    CHECK(s.St("db1") == State::kActive);
    CHECK(s.St("db2") == State::kStandby);
    CHECK(s.Up("writer", "db1"));
    CHECK(s.ActiveCount() == 1);
  }
}

TEST_CASE("Start-up election: a recorded writer that is now a read-only replica of another is not kept") {
  Sim s(PoolConfigText(3), {{"db1", State::kActive}});
  s.W("db2") = s.Writer();
  s.W("db1") = s.Replica("db2");
  s.W("db3") = s.Replica("db2");
  s.Round();
  CHECK(s.St("db2") == State::kActive);
  CHECK(s.St("db1") == State::kStandby);
}

TEST_CASE("Start-up election: the new writer, still a read-only replica of the demoted one, is kept") {
  // After a failover without manage_read_only, db2 still replicates from
  // db1, which came back: db2 remains the writer across a restart.
  Sim s(PoolConfigText(3));
  FailOverToDb2(s);
  Restart(s);
  s.W("db1") = s.Writer();
  s.W("db2") = s.Replica("db1");
  s.W("db3") = s.Replica("db1");
  s.Round();
  CHECK(s.St("db2") == State::kActive);
  CHECK(s.St("db1") == State::kFail);
}

TEST_CASE("Restart: a demoted ex-writer stays FAIL until recovered") {
  Sim s(PoolConfigText(3));
  FailOverToDb2(s);
  Restart(s);
  s.W("db2") = s.Writer();
  s.W("db1") = s.Replica("db2");
  s.W("db3") = s.Replica("db2");
  s.Rounds(5);
  CHECK(s.St("db2") == State::kActive);
  CHECK(s.St("db1") == State::kFail);
  CHECK(s.ev.pools[0].last_failover.from == "db1");
  Restart(s);
  s.Rounds(5);
  CHECK(s.St("db1") == State::kFail);
  s.Round({Command{Command::kRecover, "", "db1"}});
  REQUIRE(s.results.size() == 1);
  CHECK(s.results[0].ok);
  s.Rounds(3);
  CHECK(s.St("db1") == State::kStandby);
}

TEST_CASE("Restart: a demoted writer is never the recorded ACTIVE's substitute, whatever it looks like") {
  Sim s(PoolConfigText(2));
  FailOverToDb2(s);
  Restart(s);
  // db2 is down now, db1 back and writable: it must not be elected.
  s.W("db1") = s.Writer();
  s.W("db2") = Sim::Failed();
  s.Rounds(4);
  CHECK(s.St("db1") != State::kActive);
  CHECK(s.St("db1") != State::kStandby);
  CHECK(s.N("db1").demoted);
  CHECK(s.ActiveCount() == 0);
  CHECK(s.ev.pools[0].note.find("no node can be ACTIVE") != std::string::npos);
}

TEST_CASE("Restart: OFFLINE and the switchover origin survive it") {
  Sim s(PoolConfigText(3, "failback = yes\n"));
  s.HealthyPool();
  s.Rounds(2);
  s.Round({Command{Command::kSwitchover, "main", "db2"}, Command{Command::kOffline, "", "db3"}});
  REQUIRE(s.St("db2") == State::kActive);
  REQUIRE(s.St("db3") == State::kOffline);
  Restart(s);
  s.W("db2") = s.Writer();
  s.W("db1") = s.Replica("db2");
  s.W("db3") = s.Replica("db2");
  s.Rounds(5);
  // db1 is the PRIMARY, caught up: failback would move it back, but an
  // operator chose db2.
  CHECK(s.St("db2") == State::kActive);
  CHECK(s.St("db1") == State::kStandby);
  CHECK(s.St("db3") == State::kOffline);
  CHECK(s.ev.pools[0].active_by_switchover);
}

TEST_CASE("Restart: a restart before the first election keeps the recorded writer") {
  Sim s(PoolConfigText(3), {{"db2", State::kActive}});
  s.HealthyPool();
  s.W("db1") = Sim::Failed();
  s.W("db2") = s.Writer();
  s.W("db3") = s.Replica("db2");
  PoolMemory m = RememberPools(s.cfg, s.ev);
  REQUIRE(m.pools.size() == 1);
  CHECK(m.pools[0].active == "db2");
  Restart(s);
  s.Round();
  CHECK(s.St("db2") == State::kActive);
}

TEST_CASE("OFFLINE during the failover round: the node is never promoted") {
  Sim s(PoolConfigText(3));
  WriterDies(s);
  s.Round();
  REQUIRE(s.St("db1") == State::kActive);
  // db2 would be chosen (priority); it is taken offline in the very round
  // of the failover.
  s.Round({Command{Command::kOffline, "", "db2"}});
  REQUIRE(s.results.size() == 1);
  CHECK(s.results[0].ok);
  CHECK(s.St("db2") == State::kOffline);
  CHECK(s.St("db3") == State::kActive);
  CHECK(s.ActiveCount() == 1);
}

TEST_CASE("OFFLINE before a switchover in the same round: refused") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);
  s.Round({Command{Command::kOffline, "", "db2"}, Command{Command::kSwitchover, "main", "db2"}});
  REQUIRE(s.results.size() == 2);
  CHECK(s.results[0].ok);
  CHECK_FALSE(s.results[1].ok);
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.St("db2") == State::kOffline);
}

TEST_CASE("Reload: removing, moving or readdressing the ACTIVE is refused; the rest is not") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);
  REQUIRE(s.St("db1") == State::kActive);
  std::string base = PoolConfigText(3);
  auto without_db1 = [&](const std::string& text) {
    std::string t = text;
    t.replace(t.find("nodes = db1, db2, db3"), 21, "nodes = db2, db3");
    return t;
  };
  std::string removed = without_db1(base);
  removed.replace(removed.find("[node db1]\naddress = 127.0.0.1:3301\n"), 36, "");
  CHECK(WhyReloadRefused(s.cfg, s.ev, ParseOrDie(removed)).find("db1 is the ACTIVE of pool main") !=
        std::string::npos);
  std::string moved = without_db1(base) + "[pool other]\nnodes = db1\n";
  CHECK_FALSE(WhyReloadRefused(s.cfg, s.ev, ParseOrDie(moved)).empty());
  std::string readdressed = base;
  readdressed.replace(readdressed.find("127.0.0.1:3301"), 14, "127.0.0.1:3399");
  CHECK_FALSE(WhyReloadRefused(s.cfg, s.ev, ParseOrDie(readdressed)).empty());

  std::string no_db3 = base;
  no_db3.replace(no_db3.find("nodes = db1, db2, db3"), 21, "nodes = db3, db1, db2");
  CHECK(WhyReloadRefused(s.cfg, s.ev, ParseOrDie(no_db3)).empty());  // reordered
  CHECK(WhyReloadRefused(s.cfg, s.ev, ParseOrDie(PoolConfigText(4))).empty());  // added
  CHECK(WhyReloadRefused(s.cfg, s.ev, ParseOrDie(PoolConfigText(2))).empty());  // a standby removed
}

TEST_CASE("Reload: a writer recorded before a restart and not judged yet stays recorded") {
  Sim s(PoolConfigText(3), {{"db2", State::kActive}});
  Config reordered = ParseOrDie(PoolConfigText(4));
  s.ev = RemapEvaluation(s.cfg, s.ev, reordered);
  s.cfg = reordered;
  s.world.resize(4);
  s.W("db2") = s.Writer();
  s.W("db1") = s.Writer();
  s.W("db3") = s.Replica("db2");
  s.W("db4") = s.Replica("db2");
  s.Round();
  CHECK(s.St("db2") == State::kActive);
}

TEST_CASE("Pool memory: text round trip") {
  PoolMemory m;
  m.pools.push_back(PoolMemoryEntry{"main", "db2", true, FailoverRecord{1700000000123, "db1", "db2"}});
  m.pools.push_back(PoolMemoryEntry{"other", "", false, FailoverRecord{}});
  m.nodes.push_back(NodeMemoryEntry{"main", "db1", true, false});
  m.nodes.push_back(NodeMemoryEntry{"main", "db3", true, true});
  m.nodes.push_back(NodeMemoryEntry{"other", "x1", false, true});
  std::string text = FormatPoolMemory(m);
  PoolMemory back;
  std::string err;
  REQUIRE(ParsePoolMemory(text, "f", &back, &err));
  CHECK(FormatPoolMemory(back) == text);
  REQUIRE(back.pools.size() == 2);
  CHECK(back.pools[0].active == "db2");
  CHECK(back.pools[0].active_by_switchover);
  CHECK(back.pools[0].last_failover.time_ms == 1700000000123);
  CHECK(back.pools[1].active.empty());
  CHECK(back.pools[1].last_failover.time_ms == 0);
  REQUIRE(back.nodes.size() == 3);
  CHECK(back.nodes[1].demoted);
  CHECK(back.nodes[1].offline);
}

TEST_CASE("Pool memory: anything unexpected is an error with its line") {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"", "f:1: empty"},
      {"mpp-pool-memory 1\n", "f:2: truncated: no \"end\" line"},
      {"mpp-pool-memory 1\nend", "f:2: truncated: no final newline"},
      {"mpp-pool-memory 2\nend\n", "f:1: unknown version 2"},
      {"mpp-state 1\nend\n", "f:1: not a pool memory file"},
      {"mpp-pool-memory 1\npool main active db1\nend\n", "f:2: bad pool line"},
      {"mpp-pool-memory 1\npool main active db1 switchover maybe failover - - -\nend\n",
       "f:2: switchover: expected yes or no"},
      {"mpp-pool-memory 1\npool main active db1 switchover no failover 12x db1 db2\nend\n",
       "f:2: failover: bad time '12x'"},
      {"mpp-pool-memory 1\nnode main db1 gone\nend\n", "f:2: unknown node flag 'gone'"},
      {"mpp-pool-memory 1\nend\nnode main db1 demoted\n", "f:3: text after \"end\""},
      {"mpp-pool-memory 1\nwhat\nend\n", "f:2: unknown line"},
  };
  for (const Case& c : cases) {
    PoolMemory m;
    std::string err;
    INFO(c.text);
    CHECK_FALSE(ParsePoolMemory(c.text, "f", &m, &err));
    CHECK(err == c.error);
  }
}

}  // namespace
}  // namespace mpp
