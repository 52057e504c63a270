// With semi_sync, a failover promotes only the standby that received the
// most of the failing writer: a commit was acknowledged once one replica
// received it (core/evaluation.h, doc/replication.md "Zero loss").
#include <doctest/doctest.h>

#include <string>

#include "tests/unit/core/eval_sim.h"

namespace mpp {
namespace {

void SemiSyncPool(Sim& s) {
  for (PoolConfig& p : s.cfg.pools) {
    p.manage_read_only = true;
    p.manage_replication = true;
    p.semi_sync = true;
  }
}

// db1 elected, then it dies; db3 received two transactions more than db2
// and applies them slowly.
void Db3ReceivedMore(Sim& s) {
  s.HealthyPool();
  s.Rounds(2);
  REQUIRE(s.St("db1") == State::kActive);
  s.W("db1") = Sim::Failed();
  s.W("db2") = Sim::SourceLost(s.Replica("db1", 100));
  s.W("db3") = Sim::SourceLost(s.Replica("db1", 102));
  s.W("db3").repl.relay_applied = false;
}

TEST_CASE("Evaluation/semi-sync: the standby that lacks what another received is never promoted") {
  Sim s(PoolConfigText(3));
  SemiSyncPool(s);
  Db3ReceivedMore(s);
  // Far past any promote_wait: db2 is eligible, but it lacks 0-1-101 and
  // 0-1-102, which db1 may have acknowledged.
  s.Rounds(10);
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.St("db2") == State::kStandby);
  CHECK(s.ev.pools[0].note ==
        "waiting for db3 to apply what it received before failover (semi_sync: it alone has every acknowledged "
        "commit)");
  CHECK(s.ev.pools[0].awaited == s.Node("db3"));
  // Once db3 applied it, db3 is promoted, whatever came first in priority.
  s.W("db3").repl.relay_applied = true;
  s.Round();
  CHECK(s.St("db3") == State::kActive);
  CHECK(s.St("db1") == State::kFail);
  CHECK(s.ActiveCount() == 1);
}

TEST_CASE("Evaluation/semi-sync: a most advanced standby that cannot apply blocks the failover, and says why") {
  Sim s(PoolConfigText(3));
  SemiSyncPool(s);
  Db3ReceivedMore(s);
  s.W("db3").repl.sql_running = false;
  s.W("db3").repl.sql_errno = 1062;
  s.Rounds(10);
  CHECK(s.St("db1") != State::kFail);
  CHECK(s.ActiveCount() == 1);
  CHECK(s.St("db2") != State::kActive);
  CHECK(s.ev.pools[0].note.find("no standby is promoted: db3 received the most and with semi_sync no standby "
                                "that lacks it is promoted, but db3 ") != std::string::npos);
}

TEST_CASE("Evaluation/semi-sync: the most advanced standby is promoted at once once it applied, lag or not") {
  Sim s(PoolConfigText(3));
  SemiSyncPool(s);
  s.HealthyPool();
  s.W("db3") = s.Replica("db1", 100, 3600);  // an hour behind before the trouble
  s.Rounds(2);
  s.W("db1") = Sim::Failed();
  s.W("db2") = Sim::SourceLost(s.Replica("db1", 100));
  s.W("db3") = Sim::SourceLost(s.Replica("db1", 102));
  s.Rounds(3);
  CHECK(s.St("db3") == State::kActive);
}

TEST_CASE("Evaluation/semi-sync: replicas that received different histories block the failover") {
  Sim s(PoolConfigText(3));
  SemiSyncPool(s);
  Db3ReceivedMore(s);
  s.W("db3").repl.relay_applied = true;
  s.W("db2").repl.received.gtid["1"] = 7;  // a domain db3 never received
  s.Rounds(5);
  CHECK(s.St("db1") != State::kFail);
  CHECK(s.ev.pools[0].note ==
        "ACTIVE db1 is failing but no standby is promoted: db2 and db3 received different histories of db1");
}

TEST_CASE("Evaluation/semi-sync: without semi_sync the eligible standby is promoted after promote_wait") {
  Sim s(PoolConfigText(3));
  for (PoolConfig& p : s.cfg.pools) {
    p.manage_read_only = true;
    p.manage_replication = true;
  }
  Db3ReceivedMore(s);
  s.Rounds(3);
  CHECK(s.St("db2") == State::kActive);
}

}  // namespace
}  // namespace mpp
