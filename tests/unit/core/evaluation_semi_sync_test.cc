// With semi_sync, a failover promotes only the standby that received the
// most of the failing writer: a commit was acknowledged once one replica
// received it (core/evaluation.h, doc/replication.md "Zero loss").
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

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
  CHECK(s.ev.pools[0].note.find("no standby is promoted: db3 received the most and with semi_sync no node "
                                "that lacks it replaces db1, but db3: ") != std::string::npos);
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

// The writer's semi-sync as a poll reads it: on or off, its fallbacks,
// and when the server started.
SemiSync Working(bool on, uint64_t off_times, int64_t started_at_s) {
  SemiSync out;
  out.known = out.primary = out.after_sync = true;
  out.status_known = true;
  out.on = on;
  out.off_times = off_times;
  out.unacked = off_times + 10;
  out.started_at_s = started_at_s;
  out.flushed_after_s = 5;
  out.binlog_file = "binlog.000003";
  return out;
}

TEST_CASE("Evaluation/semi-sync: the ACTIVE's semi-sync is remembered while its primary side is on") {
  Sim s(PoolConfigText(3));
  SemiSyncPool(s);
  s.HealthyPool();
  s.W("db1").semi = Working(true, 2, 1700000000);
  s.W("db2").semi = Working(true, 9, 1700000100);  // a standby's is not a writer's
  s.Round();
  REQUIRE(s.St("db1") == State::kActive);
  CHECK(s.N("db1").writer_semi.known);
  CHECK(s.N("db1").writer_semi.off_times == 2);
  CHECK(s.N("db1").writer_semi.started_at_s == 1700000000);
  CHECK(s.N("db1").writer_semi.unacked == 12);
  CHECK(s.N("db1").writer_semi.flushed_after_s == 5);
  CHECK(s.N("db1").writer_semi.binlog_file == "binlog.000003");
  CHECK_FALSE(s.N("db2").writer_semi.known);
  // Fallen back: what was seen while it was on stays, for a rewind to
  // compare with.
  s.W("db1").semi = Working(false, 3, 1700000000);
  s.Round();
  CHECK(s.N("db1").writer_semi.off_times == 2);
  // On again: the count of this moment is the one a later tail is judged by.
  s.W("db1").semi = Working(true, 3, 1700000000);
  s.Round();
  CHECK(s.N("db1").writer_semi.off_times == 3);
  // Not polled: nothing is learned.
  s.W("db1") = Sim::Failed();
  s.Round();
  CHECK(s.N("db1").writer_semi.off_times == 3);
}

TEST_CASE("Evaluation/semi-sync: the fences' cut acknowledgement waits are remembered with the writer's semi-sync") {
  Sim s(PoolConfigText(3));
  SemiSyncPool(s);
  s.HealthyPool();
  s.W("db1").semi = Working(true, 0, 1700000000);
  RoundInput in;
  in.now_ms = s.now_ms;
  in.mono_ms = s.mono_ms;
  in.polls = s.world;
  in.topology.resize(s.cfg.nodes.size());
  in.topology[static_cast<size_t>(s.Node("db1"))].acks_cut = 3;
  s.ev = Evaluate(s.cfg, s.ev, in, &s.results);
  REQUIRE(s.St("db1") == State::kActive);
  CHECK(s.N("db1").acks_cut == 3);
  CHECK(s.N("db1").writer_semi.acks_cut == 3);
}

TEST_CASE("Evaluation/semi-sync: without semi_sync nothing of the writer's semi-sync is remembered") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.W("db1").semi = Working(true, 2, 1700000000);
  s.Round();
  REQUIRE(s.St("db1") == State::kActive);
  CHECK_FALSE(s.N("db1").writer_semi.known);
}

TEST_CASE("Evaluation/semi-sync: a replica whose check query fails still counts for what it received") {
  Sim s(PoolConfigText(3));
  SemiSyncPool(s);
  Db3ReceivedMore(s);
  // db3 answers, but its check query fails: the rest of its poll was read.
  s.W("db3").repl.relay_applied = true;
  PollResult db3 = s.W("db3");
  s.W("db3").outcome = PollOutcome::kQueryError;
  s.W("db3").check_failed_only = true;
  s.Rounds(10);
  CHECK(s.St("db1") == State::kActive);  // db2 lacks what db3 may have acknowledged
  CHECK(s.ev.pools[0].note ==
        "ACTIVE db1 is failing but no standby is promoted: db3 received the most and with semi_sync no node that "
        "lacks it replaces db1, but db3: last poll: query failed");
  s.W("db3") = db3;  // its check query works again
  s.Rounds(4);
  CHECK(s.St("db3") == State::kActive);
}

TEST_CASE("Evaluation/semi-sync: a replica whose check query fails is severed from the failing writer too") {
  Sim s(PoolConfigText(3));
  SemiSyncPool(s);
  s.worker = false;
  s.HealthyPool();
  s.Rounds(2);
  s.W("db1") = Sim::Failed();
  s.W("db3").outcome = PollOutcome::kQueryError;
  s.W("db3").check_failed_only = true;
  s.Rounds(3);
  const std::vector<int>& severing = s.ev.pools[0].severing;
  CHECK(std::find(severing.begin(), severing.end(), s.Node("db3")) != severing.end());
}

}  // namespace
}  // namespace mpp
