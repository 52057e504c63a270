// Evaluations between rounds (RoundInput::between_rounds): a confirmation
// poll after a watch connection dropped, a command, a report of the worker.
// Only the nodes polled then change; every count that is about rounds stays.
#include "core/evaluation.h"

#include <doctest/doctest.h>

#include "tests/unit/core/eval_sim.h"

namespace mpp {
namespace {

TEST_CASE("Evaluation between rounds: two confirmed failures of the ACTIVE fail over at once") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);
  REQUIRE(s.St("db1") == State::kActive);
  int64_t seq = s.ev.seq;
  s.Between({{"db1", Sim::Failed()}});
  CHECK(s.Stat("db1") == Status::kInfo);
  CHECK(s.St("db1") == State::kActive);
  s.Between({{"db1", Sim::Failed()}});
  CHECK(s.ev.seq == seq + 2);
  CHECK(s.St("db1") == State::kFail);
  CHECK(s.St("db2") == State::kActive);
  CHECK(s.ActiveCount() == 1);
  CHECK(s.Up("writer", "db2"));
  // The standbys were not polled: their last polls (healthy replicas of db1)
  // made the choice, and none of their counters moved.
  CHECK(s.N("db3").failed_polls == 0);
  CHECK(s.N("db3").clean_polls == 2);
}

TEST_CASE("Evaluation between rounds: nodes without a confirmation poll keep their counters") {
  Sim s(PoolConfigText(3, "recover_after = 3\n"));
  s.HealthyPool();
  s.Rounds(2);
  s.W("db3") = Sim::Failed();
  s.Rounds(2);
  REQUIRE(s.St("db3") == State::kFail);
  s.W("db3") = s.Replica("db1");
  s.Round();
  REQUIRE(s.N("db3").healthy_rounds == 1);
  int db2_rounds = s.N("db2").healthy_rounds;
  // Many evaluations between rounds: none counts as a good round.
  for (int i = 0; i < 10; ++i) s.Between({});
  CHECK(s.N("db3").healthy_rounds == 1);
  CHECK(s.N("db2").healthy_rounds == db2_rounds);
  CHECK(s.St("db3") == State::kFail);
  s.Rounds(2);
  CHECK(s.St("db3") == State::kStandby);
}

TEST_CASE("Evaluation between rounds: a node the monitor could not poll stays unpolled") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);
  s.W("db2") = Sim::MonitorError();
  s.Round();
  REQUIRE(s.N("db2").monitor_error != "");
  s.Between({{"db1", Sim::Failed()}});
  // No news of db2 since: still no decision rests on it.
  CHECK(s.N("db2").monitor_error != "");
  s.Between({{"db1", Sim::Failed()}});
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.ev.pools[0].note.find("failover postponed: the monitor could not poll db2") == 0);
}

TEST_CASE("Evaluation between rounds: a successful poll result is taken like a round's") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);
  s.Between({{"db1", Sim::Failed()}});
  REQUIRE(s.N("db1").failed_polls == 1);
  s.Between({{"db1", s.Writer()}});
  CHECK(s.N("db1").failed_polls == 1);  // recover_after clean polls cancel it
  CHECK(s.N("db1").clean_polls == 1);
  CHECK(s.St("db1") == State::kActive);
}

TEST_CASE("Evaluation between rounds: a command applies at once") {
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);
  s.Between({}, {Command{Command::kOffline, "", "db3"}});
  REQUIRE(s.results.size() == 1);
  CHECK(s.results[0].ok);
  CHECK(s.St("db3") == State::kOffline);
  CHECK_FALSE(s.Up("reader", "db3"));
}

TEST_CASE("Evaluation between rounds: a switchover commit trusts the worker's catch-up over an older poll") {
  // Reproduced: under a steady writer, the target's last poll had not
  // applied its relay log yet; the worker then fenced the writer and saw
  // the target catch up, but the commit, evaluated at once, refused on the
  // older poll ("relay log not applied yet").
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Rounds(2);
  s.W("db2").repl.relay_applied = false;
  s.Round();
  REQUIRE(s.St("db2") == State::kStandby);
  Command commit{Command::kSwitchover, "main", "db2"};
  commit.caught_up = true;
  s.Between({}, {commit});
  REQUIRE(s.results.size() == 1);
  CHECK(s.results[0].ok);
  CHECK(s.St("db2") == State::kActive);
  CHECK(s.ActiveCount() == 1);
  // Without the worker's word, the poll's is all there is.
  Sim t(PoolConfigText(3));
  t.HealthyPool();
  t.Rounds(2);
  t.W("db2").repl.relay_applied = false;
  t.Round();
  t.Between({}, {Command{Command::kSwitchover, "main", "db2"}});
  REQUIRE(t.results.size() == 1);
  CHECK_FALSE(t.results[0].ok);
  CHECK(t.results[0].message == "cannot switch over to db2: relay log not applied yet");
}

}  // namespace
}  // namespace mpp
