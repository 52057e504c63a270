// Evaluation: one test per rule of the pool logic (doc/pool-logic.md).
#include "core/evaluation.h"

#include <doctest/doctest.h>

#include "tests/unit/core/eval_sim.h"

namespace mpp {
namespace {

TEST_CASE("Evaluation: the first election waits for every node's first poll") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.W("db3") = PollResult();  // not polled yet
  s.Round();
  CHECK(s.St("db1") == State::kUnknown);
  CHECK(s.St("db2") == State::kUnknown);
  CHECK_FALSE(s.Up("writer", "db1"));
  s.W("db3") = s.Replica("db1");
  s.Round();
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.St("db2") == State::kStandby);
  CHECK(s.St("db3") == State::kStandby);
  CHECK(s.Up("writer", "db1"));
}

TEST_CASE("Evaluation: the first election waits for a node whose first poll failed once") {
  // Reproduced: a thousand nodes starting at once, the writer's first poll
  // missed its deadline, and with no replica pointing at a pool node the
  // first election made a read-only replica ACTIVE.
  Sim s(PoolConfigText(3));
  s.W("db1") = Sim::Failed(PollOutcome::kTimeout);
  s.W("db2") = s.Writer();
  s.W("db2").read_only = true;
  s.W("db3") = s.W("db2");
  s.Round();
  CHECK(s.St("db2") == State::kUnknown);
  CHECK(s.St("db3") == State::kUnknown);
  CHECK(s.ev.pools[0].note.rfind("election waits: db1 is INFO: timeout", 0) == 0);
  s.W("db1") = s.Writer();
  s.Round();
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.ActiveCount() == 1);
}

TEST_CASE("Evaluation: a node down at start-up is elected around once it failed failover_at polls") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.W("db1") = Sim::Failed();
  s.W("db2") = Sim::SourceLost(s.W("db2"));
  s.W("db3") = Sim::SourceLost(s.W("db3"));
  s.Round();
  CHECK(s.ActiveCount() == 0);
  s.Round();  // two failed polls: WARN, the default failover_at
  CHECK(s.ActiveCount() == 1);
  CHECK(s.St("db1") != State::kActive);
}

TEST_CASE("Evaluation: the first election happens after election_timeout without every poll") {
  Sim s(PoolConfigText(3, "election_timeout = 3s\n"));
  s.HealthyPool();
  s.W("db3") = PollResult();
  s.Rounds(3);
  CHECK(s.St("db1") == State::kUnknown);
  s.Round();
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.St("db3") == State::kUnknown);  // never evaluated, never assumed
}

TEST_CASE("Evaluation: the election prefers the replication source over priority") {
  Sim s(PoolConfigText(3));
  s.W("db2") = s.Writer();
  s.W("db1") = s.Replica("db2");
  s.W("db3") = s.Replica("db2");
  s.Round();
  CHECK(s.St("db2") == State::kActive);
  CHECK(s.St("db1") == State::kStandby);
}

TEST_CASE("Evaluation: a restart keeps the recorded ACTIVE") {
  // Both db1 and db2 look like writers; the previous file says db2.
  Sim s(PoolConfigText(3), {{"db2", State::kActive}, {"db1", State::kFail}});
  s.W("db1") = s.Writer();
  s.W("db2") = s.Writer();
  s.W("db3") = s.Replica("db2");
  s.Round();
  CHECK(s.St("db2") == State::kActive);
  CHECK(s.ActiveCount() == 1);
}

TEST_CASE("Evaluation: failover happens after two failed polls at failover_at WARN, not after one") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);
  REQUIRE(s.St("db1") == State::kActive);
  s.W("db1") = Sim::Failed();
  s.W("db2") = Sim::SourceLost(s.W("db2"));
  s.W("db3") = Sim::SourceLost(s.W("db3"));
  s.Round();
  CHECK(s.Stat("db1") == Status::kInfo);
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.Up("writer", "db1"));
  s.Round();
  CHECK(s.St("db2") == State::kActive);
  CHECK(s.St("db1") == State::kFail);
  CHECK(s.ActiveCount() == 1);
  CHECK(s.Up("writer", "db2"));
  CHECK_FALSE(s.Up("writer", "db1"));
}

TEST_CASE("Evaluation: failover_at CRITICAL waits for three failed polls") {
  Sim s(PoolConfigText(2, "failover_at = CRITICAL\n"));
  s.HealthyPool();
  s.Round();
  s.W("db1") = Sim::Failed(PollOutcome::kTimeout);
  s.Rounds(2);
  CHECK(s.St("db1") == State::kActive);
  s.Round();
  CHECK(s.St("db2") == State::kActive);
}

TEST_CASE("Evaluation: a stall shorter than recover_after clean polls still counts") {
  // Two failures separated by one clean poll are not forgiven (anti-flap).
  Sim s(PoolConfigText(2));
  s.HealthyPool();
  s.Round();
  PollResult good = s.W("db1");
  s.W("db1") = Sim::Failed();
  s.Round();
  s.W("db1") = good;
  s.Round();
  CHECK(s.St("db1") == State::kActive);
  s.W("db1") = Sim::Failed();
  s.Round();
  CHECK(s.St("db2") == State::kActive);
}

TEST_CASE("Evaluation: a single failed poll is forgiven after recover_after clean polls") {
  Sim s(PoolConfigText(2));
  s.HealthyPool();
  s.Round();
  PollResult good = s.W("db1");
  s.W("db1") = Sim::Failed();
  s.Round();
  s.W("db1") = good;
  s.Rounds(3);
  CHECK(s.Stat("db1") == Status::kOk);
  s.W("db1") = Sim::Failed();
  s.Round();
  CHECK(s.St("db1") == State::kActive);
}

void KillActive(Sim& s) {
  s.W("db1") = Sim::Failed();
  for (size_t i = 1; i < s.world.size(); ++i) s.world[i] = Sim::SourceLost(s.world[i]);
}

TEST_CASE("Evaluation: a standby that lagged before the trouble is not promoted while it still applies") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.W("db2") = s.Replica("db1", 100, 45);  // over max_promote_lag 30s
  s.W("db2").repl.relay_applied = false;
  s.Rounds(2);
  KillActive(s);
  s.Rounds(2);
  CHECK(s.St("db3") == State::kActive);
  CHECK(s.St("db2") != State::kActive);
}

TEST_CASE("Evaluation: a standby with its SQL thread stopped or in error is not promoted") {
  for (bool error : {false, true}) {
    Sim s(PoolConfigText(3));
    s.HealthyPool();
    s.Rounds(2);
    KillActive(s);
    if (error) {
      s.W("db2").repl.sql_errno = 1062;
      s.W("db2").repl.sql_error = "Duplicate entry";
    } else {
      s.W("db2").repl.sql_running = false;
    }
    s.Rounds(2);
    CHECK(s.St("db3") == State::kActive);
    CHECK(s.St("db2") == State::kFail);
  }
}

TEST_CASE("Evaluation: a standby with an unapplied relay log is not promoted") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);
  KillActive(s);
  s.W("db2").repl.relay_applied = false;
  s.Rounds(2);
  CHECK(s.St("db3") == State::kActive);
  CHECK(s.St("db2") != State::kActive);
}

TEST_CASE("Evaluation: promote_wait lets the best candidate apply its relay log first") {
  Sim s(PoolConfigText(3, "promote_wait = 3s\n"));
  s.HealthyPool();
  s.Rounds(2);
  KillActive(s);
  s.W("db2").repl.received.gtid["0"] = 120;  // received more, not applied yet
  s.W("db2").repl.relay_applied = false;
  s.Rounds(2);
  CHECK(s.St("db1") == State::kActive);  // waiting, reported
  CHECK(s.ev.pools[0].note.find("waiting up to 3s for db2") != std::string::npos);
  s.W("db2").repl.relay_applied = true;
  s.Round();
  CHECK(s.St("db2") == State::kActive);
}

TEST_CASE("Evaluation: a standby whose IO thread only lost the dying ACTIVE is still promoted") {
  Sim s(PoolConfigText(2));
  s.HealthyPool();
  s.Rounds(2);
  KillActive(s);  // db2: IO connecting, 2003, lag NULL
  s.Round();
  CHECK(s.St("db2") == State::kStandby);
  CHECK(s.Stat("db2") <= Status::kInfo);
  s.Round();
  CHECK(s.St("db2") == State::kActive);
}

TEST_CASE("Evaluation: the standby that received more goes before a higher-priority one") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);
  KillActive(s);
  s.W("db2").repl.received.gtid["0"] = 90;
  s.W("db3").repl.received.gtid["0"] = 100;
  s.Rounds(2);
  CHECK(s.St("db3") == State::kActive);
  CHECK(s.St("db2") != State::kActive);
}

TEST_CASE("Evaluation: with equal data the first SECONDARY is promoted first") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);
  KillActive(s);
  s.Rounds(2);
  CHECK(s.St("db2") == State::kActive);
}

TEST_CASE("Evaluation: access denied (1045) and too many connections (1040) never cause a failover") {
  for (PollOutcome o : {PollOutcome::kAccessDenied, PollOutcome::kTooManyConnections}) {
    Sim s(PoolConfigText(2));
    s.HealthyPool();
    s.Round();
    s.W("db1").outcome = o;
    s.W("db1").error_code = o == PollOutcome::kAccessDenied ? 1045 : 1040;
    s.Rounds(10);
    CHECK(s.St("db1") == State::kActive);
    CHECK(s.Stat("db1") == Status::kInfo);
    CHECK(s.N("db1").reason.find("not a reason to fail over") != std::string::npos);
    CHECK(s.Up("writer", "db1"));
  }
}

TEST_CASE("Evaluation: replication trouble on the ACTIVE does not fail it") {
  Sim s(PoolConfigText(2));
  s.W("db1") = s.Replica("db2");  // master-master
  s.W("db1").read_only = false;
  s.W("db2") = s.Replica("db1");
  s.Round();
  REQUIRE(s.St("db1") == State::kActive);
  s.W("db1").repl.sql_running = false;
  s.W("db1").repl.io = IoThread::kNo;
  s.Rounds(5);
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.Stat("db1") == Status::kInfo);
  CHECK(s.N("db1").reason.find("replication on the ACTIVE") != std::string::npos);
}

TEST_CASE("Evaluation: with no eligible standby the old ACTIVE stays") {
  Sim s(PoolConfigText(2));
  s.HealthyPool();
  s.Rounds(2);
  KillActive(s);
  s.W("db2").repl.sql_running = false;
  s.Rounds(5);
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.Stat("db1") == Status::kFail);
  CHECK(s.ev.pools[0].note.find("no standby is eligible") != std::string::npos);
  CHECK_FALSE(s.Up("writer", "db1"));  // FAIL >= rw_down_at
}

TEST_CASE("Evaluation: a demoted ACTIVE stays FAIL until recovered") {
  Sim s(PoolConfigText(2));
  s.HealthyPool();
  s.Rounds(2);
  KillActive(s);
  s.Rounds(2);
  REQUIRE(s.St("db2") == State::kActive);
  s.W("db2") = s.Writer();
  s.W("db1") = s.Replica("db2");  // an operator rebuilt it as a replica
  s.Rounds(10);
  CHECK(s.St("db1") == State::kFail);
  s.Round({Command{Command::kRecover, "", "db1"}});
  CHECK(s.results.at(0).ok);
  CHECK(s.St("db1") == State::kStandby);
  CHECK(s.Up("reader", "db1"));
}

TEST_CASE("Evaluation: demoted_recovery auto lets a demoted ACTIVE recover by itself") {
  Sim s(PoolConfigText(2, "demoted_recovery = auto\n"));
  s.HealthyPool();
  s.Rounds(2);
  KillActive(s);
  s.Rounds(2);
  s.W("db2") = s.Writer();
  s.W("db1") = s.Replica("db2");
  s.Rounds(2);
  CHECK(s.St("db1") == State::kFail);
  s.Rounds(2);
  CHECK(s.St("db1") == State::kStandby);
}

TEST_CASE("Evaluation: a failed standby recovers by itself after recover_after clean polls") {
  Sim s(PoolConfigText(2));
  s.HealthyPool();
  s.Round();
  PollResult good = s.W("db2");
  s.W("db2") = Sim::Failed();
  s.Rounds(2);
  CHECK(s.St("db2") == State::kFail);
  CHECK_FALSE(s.Up("reader", "db2"));
  s.W("db2") = good;
  s.Rounds(2);
  CHECK(s.St("db2") == State::kFail);
  s.Round();
  CHECK(s.St("db2") == State::kStandby);
  CHECK(s.Up("reader", "db2"));
}

TEST_CASE("Evaluation: recovery recognises recover_after from the config") {
  Sim s(PoolConfigText(2, "recover_after = 1\n"));
  s.HealthyPool();
  s.Round();
  PollResult good = s.W("db2");
  s.W("db2") = Sim::Failed();
  s.Rounds(2);
  CHECK(s.St("db2") == State::kFail);
  s.W("db2") = good;
  s.Round();
  CHECK(s.St("db2") == State::kStandby);
}

// db1 fails over to db2, is recovered and rebuilt as db2's replica.
void FailoverAndRebuild(Sim& s) {
  s.HealthyPool();
  s.Rounds(2);
  KillActive(s);
  s.Rounds(2);
  REQUIRE(s.St("db2") == State::kActive);
  s.W("db2") = s.Writer();
  s.W("db1") = s.Replica("db2");
  s.Round({Command{Command::kRecover, "", "db1"}});
  s.Rounds(3);
}

TEST_CASE("Evaluation: without failback the PRIMARY stays STANDBY") {
  Sim s(PoolConfigText(2));
  FailoverAndRebuild(s);
  s.Rounds(5);
  CHECK(s.St("db1") == State::kStandby);
  CHECK(s.St("db2") == State::kActive);
}

TEST_CASE("Evaluation: with failback the PRIMARY takes over in one write once caught up") {
  Sim s(PoolConfigText(2, "failback = yes\n"));
  s.HealthyPool();
  s.Rounds(2);
  KillActive(s);
  s.Rounds(2);
  s.W("db2") = s.Writer();
  s.W("db1") = s.Replica("db2", 100, 5);  // still behind
  s.Round({Command{Command::kRecover, "", "db1"}});
  s.Rounds(3);
  CHECK(s.St("db2") == State::kActive);
  s.W("db1").repl.lag_s = 0;
  s.Round();
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.ActiveCount() == 1);
  CHECK(s.Up("writer", "db1"));
  CHECK_FALSE(s.Up("writer", "db2"));
  // MPP does not re-point replication: db2 is reported until it is made a
  // replica of db1, then it is a STANDBY again by itself (it was not demoted).
  CHECK(s.St("db2") == State::kFail);
  CHECK(s.N("db2").reason == "not a replica (no replication configured)");
  s.W("db2") = s.Replica("db1");
  s.Rounds(3);
  CHECK(s.St("db2") == State::kStandby);
}

TEST_CASE("Evaluation: isolation freezes every STATE") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);
  Evaluation before = s.ev;
  KillActive(s);
  for (int i = 0; i < 6; ++i) s.Isolated();
  CHECK(s.ev.isolated);
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.St("db2") == State::kStandby);
  CHECK(s.Up("writer", "db1"));
  CHECK(s.N("db1").failed_polls == 0);
  CHECK(s.ev.pools[0].note.find("isolated") != std::string::npos);
  s.HealthyPool();
  s.Round();
  CHECK_FALSE(s.ev.isolated);
  CHECK(s.St("db1") == State::kActive);
}

TEST_CASE("Evaluation: ro is served by healthy standbys, and falls back to the ACTIVE") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);
  CHECK(s.Up("reader", "db2"));
  CHECK(s.Up("reader", "db3"));
  CHECK_FALSE(s.Up("reader", "db1"));
  s.W("db2").repl.lag_s = 11;  // over max_lag 10s: down at once
  s.Round();
  CHECK_FALSE(s.Up("reader", "db2"));
  CHECK(s.Up("reader", "db3"));
  s.W("db3").repl.io = IoThread::kNo;  // lag 0 with a stopped IO thread is not caught up
  s.Round();
  CHECK_FALSE(s.Up("reader", "db3"));
  CHECK(s.Up("reader", "db1"));
}

TEST_CASE("Evaluation: ro_fallback none leaves reads down") {
  std::string text = PoolConfigText(2);
  text += "[vs reader2]\naddress = 192.0.2.10:3308\npool = main\nrole = ro\nro_fallback = none\n";
  Sim s(text);
  s.HealthyPool();
  s.Round();
  s.W("db2").repl.sql_running = false;
  s.Round();
  CHECK(s.Up("reader", "db1"));
  CHECK_FALSE(s.Up("reader2", "db1"));
  CHECK_FALSE(s.Up("reader2", "db2"));
}

TEST_CASE("Evaluation: OFFLINE is never up, and the ACTIVE cannot be taken offline") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Round();
  s.Round({Command{Command::kOffline, "", "db1"}});
  CHECK_FALSE(s.results.at(0).ok);
  CHECK(s.results.at(0).message.find("switchover") != std::string::npos);
  s.Round({Command{Command::kOffline, "", "db2"}});
  CHECK(s.results.at(0).ok);
  CHECK(s.St("db2") == State::kOffline);
  for (int i = 0; i < 3; ++i) {
    s.W("db3").repl.sql_running = i != 0;  // no other reader at first
    s.Round();
    CHECK_FALSE(s.Up("reader", "db2"));
    CHECK_FALSE(s.Up("writer", "db2"));
  }
  // An OFFLINE node is never promoted either.
  KillActive(s);
  s.W("db3").repl.sql_running = false;
  s.Rounds(3);
  CHECK(s.St("db1") == State::kActive);
  s.Round({Command{Command::kOnline, "", "db2"}});
  CHECK(s.St("db2") != State::kOffline);
}

TEST_CASE("Evaluation: OFFLINE survives a restart") {
  Sim s(PoolConfigText(2), {{"db2", State::kOffline}});
  s.HealthyPool();
  s.Round();
  CHECK(s.St("db2") == State::kOffline);
  CHECK(s.St("db1") == State::kActive);
}

TEST_CASE("Evaluation: a planned switchover moves the writer in one round") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);
  std::string why;
  int target = ChooseSwitchoverTarget(s.cfg, s.ev, "main", "", &why);
  CHECK(target == s.Node("db2"));
  CHECK(ChooseSwitchoverTarget(s.cfg, s.ev, "main", "db1", &why) == -1);
  CHECK(why == "db1 is already ACTIVE");
  s.Round({Command{Command::kSwitchover, "main", "db3"}});
  CHECK(s.results.at(0).ok);
  CHECK(s.St("db3") == State::kActive);
  CHECK(s.St("db1") != State::kActive);
  CHECK(s.ActiveCount() == 1);
}

TEST_CASE("Evaluation: a switchover to an ineligible node is refused") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.W("db3").repl.sql_running = false;
  s.Rounds(2);
  std::string why;
  CHECK(ChooseSwitchoverTarget(s.cfg, s.ev, "main", "db3", &why) == -1);
  CHECK(why == "cannot switch over to db3: is FAIL");
  s.Round({Command{Command::kSwitchover, "main", "db3"}});
  CHECK_FALSE(s.results.at(0).ok);
  CHECK(s.St("db1") == State::kActive);
}

TEST_CASE("Evaluation: after a failover a replica of the old writer is reported, not promoted") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);
  KillActive(s);
  s.Rounds(2);
  REQUIRE(s.St("db2") == State::kActive);
  s.W("db2") = s.Writer();
  s.Rounds(2);
  CHECK(s.St("db3") == State::kFail);
  CHECK(s.N("db3").reason.find("not from the ACTIVE db2") != std::string::npos);
  s.W("db2") = Sim::Failed();
  s.Rounds(3);
  CHECK(s.St("db2") == State::kActive);  // db3 never got db2's writes
}

// --- Clocks: durations on the monotonic clock, the wall clock only stamps. ---

TEST_CASE("Evaluation: a step of the wall clock does not move when election_timeout expires") {
  for (int64_t step : {-3600000LL, 3600000LL}) {
    INFO("wall clock step " << step << "ms");
    Sim s(PoolConfigText(3, "election_timeout = 3s\n"));
    s.HealthyPool();
    s.W("db3") = PollResult();
    s.Round();  // the first round: the election timeout starts
    s.now_ms += step;
    s.Rounds(2);
    CHECK(s.St("db1") == State::kUnknown);
    s.Round();  // 3s of the monotonic clock after the first round
    CHECK(s.St("db1") == State::kActive);
    CHECK(s.ev.time_ms == s.now_ms - s.cfg.interval_ms);  // time_ms stays wall time
  }
}

TEST_CASE("Evaluation: a step of the wall clock does not move when promote_wait expires") {
  for (int64_t step : {-3600000LL, 3600000LL}) {
    INFO("wall clock step " << step << "ms");
    Sim s(PoolConfigText(3, "promote_wait = 3s\n"));
    s.HealthyPool();
    s.Rounds(2);
    KillActive(s);
    s.W("db2").repl.received.gtid["0"] = 120;  // received more, never applies it
    s.W("db2").repl.relay_applied = false;
    s.Round();  // the trouble begins (one failed poll)
    s.now_ms += step;
    s.Rounds(2);  // failover due, waiting for db2 (1s, then 2s of 3s)
    CHECK(s.St("db1") == State::kActive);
    CHECK(s.ev.pools[0].note.find("waiting up to 3s for db2") != std::string::npos);
    s.Round();  // 3s after the trouble began: db2 had its time
    CHECK(s.St("db3") == State::kActive);
    CHECK(s.St("db1") == State::kFail);
  }
}

// --- The monitor's own faults are no news about the nodes. ---

TEST_CASE("Evaluation: an ACTIVE the monitor cannot poll stays ACTIVE/OK however long it lasts") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);
  REQUIRE(s.St("db1") == State::kActive);
  NodeEval before = s.N("db1");
  s.W("db1") = Sim::MonitorError();
  s.Rounds(20);
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.Stat("db1") == Status::kOk);
  CHECK(s.N("db1").failed_polls == before.failed_polls);
  CHECK(s.N("db1").clean_polls == before.clean_polls);
  CHECK(s.N("db1").healthy_rounds == before.healthy_rounds);
  CHECK(s.N("db1").since_ms == before.since_ms);
  CHECK(s.N("db1").reason ==
        "not polled, a monitor problem: cannot start a poll thread: Resource temporarily unavailable");
  CHECK(s.N("db1").monitor_error != "");
  CHECK(s.Up("writer", "db1"));
  CHECK(s.ev.transitions.empty());
  // News again: the node is judged on it, the reason goes.
  s.HealthyPool();
  s.Round();
  CHECK(s.N("db1").monitor_error == "");
  CHECK(s.N("db1").reason.find("monitor") == std::string::npos);
  CHECK(s.N("db1").clean_polls == before.clean_polls + 1);
}

TEST_CASE("Evaluation: a standby the monitor cannot poll stays STANDBY and its counters stay") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);
  NodeEval before = s.N("db2");
  REQUIRE(before.state == State::kStandby);
  s.W("db2") = Sim::MonitorError();
  s.Rounds(20);
  CHECK(s.St("db2") == State::kStandby);
  CHECK(s.Stat("db2") == before.status);
  CHECK(s.N("db2").failed_polls == before.failed_polls);
  CHECK(s.N("db2").clean_polls == before.clean_polls);
  CHECK(s.N("db2").healthy_rounds == before.healthy_rounds);
  CHECK(s.N("db2").lag_before_trouble == before.lag_before_trouble);
  CHECK(s.Up("reader", "db2"));
}

TEST_CASE("Evaluation: failures before a monitor fault still count, and nothing is added meanwhile") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);
  s.W("db1") = Sim::Failed();
  s.Round();
  REQUIRE(s.N("db1").failed_polls == 1);
  REQUIRE(s.Stat("db1") == Status::kInfo);
  s.W("db1") = Sim::MonitorError();
  s.Rounds(10);
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.Stat("db1") == Status::kInfo);
  CHECK(s.N("db1").failed_polls == 1);
  s.W("db1") = Sim::Failed();  // a real second failure
  s.Round();
  CHECK(s.St("db2") == State::kActive);
}

TEST_CASE("Evaluation: a missing result still counts as a timeout, unlike a monitor error") {
  Sim s(PoolConfigText(2));
  s.HealthyPool();
  s.Rounds(2);
  s.W("db1") = PollResult();  // polled before, no result now
  s.Round();
  CHECK(s.N("db1").failed_polls == 1);
  CHECK(s.N("db1").last.error == "no poll result this round");
  s.Round();
  CHECK(s.St("db2") == State::kActive);
}

TEST_CASE("Evaluation: a pool the monitor cannot poll at all neither elects nor fails over") {
  Sim fresh(PoolConfigText(3, "election_timeout = 2s\n"));
  for (PollResult& p : fresh.world) p = Sim::MonitorError();
  fresh.Rounds(10);
  CHECK(fresh.ActiveCount() == 0);
  CHECK(fresh.St("db1") == State::kUnknown);
  CHECK(fresh.ev.pools[0].note.find("election postponed: the monitor could not poll db1, db2, db3") == 0);

  // A failover is due and only waits for db2's relay log (promote_wait);
  // once that time is up, the old facts would promote db3.
  Sim s(PoolConfigText(3, "promote_wait = 3s\n"));
  s.HealthyPool();
  s.Rounds(2);
  KillActive(s);
  s.W("db2").repl.received.gtid["0"] = 120;
  s.W("db2").repl.relay_applied = false;
  s.Rounds(2);
  REQUIRE(s.ev.pools[0].note.find("waiting up to 3s for db2") == 0);
  Evaluation before = s.ev;
  for (PollResult& p : s.world) p = Sim::MonitorError();
  s.Rounds(10);
  for (size_t i = 0; i < s.ev.nodes.size(); ++i) {
    CHECK(s.ev.nodes[i].state == before.nodes[i].state);
    CHECK(s.ev.nodes[i].status == before.nodes[i].status);
    CHECK(s.ev.nodes[i].failed_polls == before.nodes[i].failed_polls);
  }
  CHECK(s.ev.pools[0].note == "failover postponed: the monitor could not poll db1, db2, db3");
}

TEST_CASE("Evaluation: a standby the monitor cannot poll is never promoted nor passed over") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);
  KillActive(s);
  s.Round();
  s.W("db2") = Sim::MonitorError();
  s.Rounds(3);  // a failover is due, but db2 may be the best candidate
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.St("db2") == State::kStandby);
  CHECK(s.St("db3") == State::kStandby);
  CHECK(s.ev.pools[0].note == "failover postponed: the monitor could not poll db2");
  std::string no = WhyNotEligible(s.cfg, s.ev, 0, s.Node("db1"), s.Node("db2"));
  CHECK(no == "not polled this round (a monitor problem)");
  s.W("db2") = Sim::SourceLost(s.Replica("db1"));
  s.Round();
  CHECK(s.St("db2") == State::kActive);
  CHECK(s.St("db1") == State::kFail);
}

TEST_CASE("Evaluation: no switchover to a node the monitor could not poll") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);
  s.W("db2") = Sim::MonitorError();
  s.Round();
  std::string why;
  CHECK(ChooseSwitchoverTarget(s.cfg, s.ev, "main", "db2", &why) == -1);
  CHECK(why == "cannot switch over to db2: was not polled in the last round (a monitor problem)");
  CHECK(ChooseSwitchoverTarget(s.cfg, s.ev, "main", "", &why) == s.Node("db3"));
  s.Round({Command{Command::kSwitchover, "main", "db2"}});
  CHECK_FALSE(s.results.at(0).ok);
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.St("db2") == State::kStandby);
}

TEST_CASE("Evaluation: an operator can take a node the monitor cannot poll offline") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);
  s.W("db3") = Sim::MonitorError();
  s.Round({Command{Command::kOffline, "", "db3"}});
  CHECK(s.results.at(0).ok);
  CHECK(s.St("db3") == State::kOffline);
}

TEST_CASE("Evaluation: a reload keeps states by name") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);
  Config bigger = ParseOrDie(PoolConfigText(4));
  Evaluation ev = RemapEvaluation(s.cfg, s.ev, bigger);
  CHECK(ev.nodes[0].state == State::kActive);
  CHECK(ev.nodes[3].state == State::kUnknown);
  CHECK(ev.decisions.size() == 2);
}

}  // namespace
}  // namespace mpp
