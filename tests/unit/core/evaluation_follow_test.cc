// Evaluation of a director pair's follower (doc/director-pair.md): the
// STATEs and up/down are the published decision's, the polls give STATUS.
#include <doctest/doctest.h>

#include "core/evaluation.h"
#include "core/published_decision.h"
#include "tests/unit/core/eval_sim.h"

namespace mpp {
namespace {

// The decision of a leader that saw the healthy pool.
PublishedDecision LeaderDecision(const std::string& text) {
  Sim leader(text);
  leader.HealthyPool();
  leader.Rounds(2);
  REQUIRE(leader.St("db1") == State::kActive);
  PublishedDecision d = DecisionOf(leader.cfg, leader.ev);
  d.epoch = 7;
  d.seq = 3;
  d.leader = "dir-a";
  return d;
}

TEST_CASE("Follow: a follower cut off from the ACTIVE keeps the leader's STATEs and up/down") {
  PublishedDecision d = LeaderDecision(PoolConfigText(3));
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Follow(d);
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.St("db2") == State::kStandby);
  s.W("db1") = Sim::Failed();
  for (int i = 0; i < 6; ++i) s.Follow(d);
  // Its own polls say FAIL; the decision stays the leader's.
  CHECK(s.Stat("db1") == Status::kFail);
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.ActiveCount() == 1);
  CHECK(s.Up("writer", "db1"));
  CHECK(s.ev.transitions.empty());
  CHECK(s.ev.pools[0].note == "following");
}

TEST_CASE("Follow: a new published decision moves the STATEs at once") {
  PublishedDecision d = LeaderDecision(PoolConfigText(3));
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Follow(d);
  PublishedDecision next = d;
  next.seq = 4;
  next.pools[0].active = "db2";
  next.pools[0].nodes[0].state = State::kFail;
  next.pools[0].nodes[0].demoted = true;
  next.pools[0].nodes[1].state = State::kActive;
  next.vss[0].up = {"db2"};
  s.Follow(next);
  CHECK(s.St("db2") == State::kActive);
  CHECK(s.St("db1") == State::kFail);
  CHECK(s.N("db1").demoted);
  CHECK(s.Up("writer", "db2"));
  CHECK_FALSE(s.Up("writer", "db1"));
  REQUIRE(s.ev.transitions.size() == 2);
  CHECK(s.ev.transitions[0].cause == TransitionCause::kLeader);
}

TEST_CASE("Follow: commands are refused with the note") {
  PublishedDecision d = LeaderDecision(PoolConfigText(3));
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Follow(d, "the leader is dir-a", false, {Command{Command::kOffline, "", "db2"}});
  REQUIRE(s.results.size() == 1);
  CHECK_FALSE(s.results[0].ok);
  CHECK(s.results[0].message == "the leader is dir-a");
  CHECK(s.St("db2") == State::kStandby);
}

TEST_CASE("Follow: what the leader did not publish is UNKNOWN and down") {
  PublishedDecision d = LeaderDecision(PoolConfigText(3));
  d.pools[0].nodes.pop_back();  // db3
  d.vss.clear();
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Follow(d);
  CHECK(s.St("db3") == State::kUnknown);
  CHECK(s.St("db1") == State::kActive);
  CHECK_FALSE(s.Up("writer", "db1"));
}

TEST_CASE("Follow: a decision too old to trust leaves every server down") {
  PublishedDecision d = LeaderDecision(PoolConfigText(3));
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Follow(d);
  CHECK(s.Up("writer", "db1"));
  s.Follow(d, "frozen", true);
  CHECK(s.St("db1") == State::kActive);
  CHECK_FALSE(s.Up("writer", "db1"));
  CHECK_FALSE(s.Up("reader", "db2"));
}

TEST_CASE("Follow: a new leader decides from the published decision, not from its own memory") {
  PublishedDecision d = LeaderDecision(PoolConfigText(3));
  // This director had db2 as its writer (an old view); the pair's is db1.
  Sim s(PoolConfigText(3));
  s.W("db2") = s.Writer();
  s.W("db1") = s.Replica("db2");
  s.W("db3") = s.Replica("db2");
  s.Rounds(2);
  REQUIRE(s.St("db2") == State::kActive);
  // Leader now: it first takes the published decision over, then decides.
  s.W("db1") = s.Writer();
  s.W("db2") = s.Replica("db1");
  s.W("db3") = s.Replica("db1");
  s.Follow(d);
  s.Round();
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.St("db2") == State::kStandby);
  // And fails over from it when its polls say so.
  s.W("db1") = Sim::Failed();
  s.Rounds(2);
  CHECK(s.St("db1") != State::kActive);
  CHECK(s.ActiveCount() == 1);
}

TEST_CASE("Follow: a follower keeps the standbys' lag from before the trouble, for when it leads") {
  PublishedDecision d = LeaderDecision(PoolConfigText(3));
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Follow(d);
  s.W("db1") = Sim::Failed();
  s.W("db2") = Sim::SourceLost(s.W("db2"));
  s.W("db3") = Sim::SourceLost(s.W("db3"));
  s.Follow(d);
  CHECK(s.N("db2").lag_before_trouble == 0);
  s.Rounds(2);  // now the leader: the writer failed before, and fails on
  CHECK(s.St("db1") != State::kActive);
  CHECK(s.ActiveCount() == 1);
}

TEST_CASE("PublishedDecision: a follower's decision is the leader's") {
  PublishedDecision d = LeaderDecision(PoolConfigText(3));
  Sim s(PoolConfigText(3));
  s.HealthyPool();
  s.Follow(d);
  PublishedDecision mine = DecisionOf(s.cfg, s.ev);
  CHECK(SameDecision(mine, d));
  CHECK(PublishedActive(mine, "main") == "db1");
  mine.vss[0].up.clear();
  CHECK_FALSE(SameDecision(mine, d));
}

}  // namespace
}  // namespace mpp
