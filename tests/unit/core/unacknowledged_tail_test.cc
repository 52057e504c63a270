// Whether semi-sync proves an ex-writer's tail unacknowledged
// (core/unacknowledged_tail.h): the counters compared, and a fence's seal.
#include "core/unacknowledged_tail.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace mpp {
namespace {

WriterSemiSyncSeen Seen() {
  WriterSemiSyncSeen s;
  s.known = true;
  s.off_times = 2;
  s.unacked = 10;
  s.started_at_s = 1700000000;
  s.flushed_after_s = 0;
  s.acks_cut = 1;
  s.binlog_file = "binlog.000004";
  return s;
}

std::vector<Gtid> Parse(const std::string& text) {
  std::vector<Gtid> out;
  REQUIRE(ParseGtidList(text, &out));
  return out;
}

TEST_CASE("the same run, no fallback, and only cut-off waits unacknowledged prove the tail") {
  WriterSemiSyncSeen now = Seen();
  now.unacked = 12;
  now.started_at_s += 1;  // Uptime read a second later
  CHECK(WhyMaybeAcknowledged(Seen(), now, 3) == "");
  CHECK(WhyMaybeAcknowledged(Seen(), Seen(), 1) == "");
}

TEST_CASE("an unacknowledged wait no fence cut off may have been a KILL QUERY") {
  WriterSemiSyncSeen now = Seen();
  now.unacked = 12;
  CHECK(WhyMaybeAcknowledged(Seen(), now, 2).find("2 of its commits ended their wait") == 0);
  now.unacked = 9;  // counters that went back: not the same counting
  CHECK(WhyMaybeAcknowledged(Seen(), now, 5) != "");
}

TEST_CASE("a fallback, a flush, or a restart leaves it unknown") {
  WriterSemiSyncSeen now = Seen();
  now.off_times = 3;
  CHECK(WhyMaybeAcknowledged(Seen(), now, 1).find("fell back to asynchronous") != std::string::npos);
  now = Seen();
  now.flushed_after_s = 30;
  CHECK(WhyMaybeAcknowledged(Seen(), now, 1).find("flushed") != std::string::npos);
  now = Seen();
  now.started_at_s += 60;
  now.off_times = 0;
  now.unacked = 0;
  CHECK(WhyMaybeAcknowledged(Seen(), now, 1).find("it restarted since it was the writer") == 0);
}

TEST_CASE("a restart within seconds of the last start is told by its new binlog file") {
  // Fresh counters of a new run, a start time within the clocks' slack:
  // only the binlog file differs.
  WriterSemiSyncSeen now = Seen();
  now.off_times = 0;
  now.unacked = 0;
  now.started_at_s += 2;
  now.binlog_file = "binlog.000005";
  std::string why = WhyMaybeAcknowledged(Seen(), now, 1);
  CHECK(why.find("its binlog moved on from binlog.000004 to binlog.000005") == 0);
}

TEST_CASE("a seal proves a binlog that gained nothing since, against the same sighting") {
  TailSeal seal;
  seal.proven = true;
  seal.against = Seen();
  seal.binlog_state = Parse("0-1-12,0-2-7");
  CHECK(SealProves(seal, Seen(), Parse("0-1-12,0-2-7")));
  CHECK(SealProves(seal, Seen(), Parse("0-1-11,0-2-7")));  // less: a commit the crash lost
  CHECK_FALSE(SealProves(seal, Seen(), Parse("0-1-13,0-2-7")));  // a commit after the seal
  CHECK_FALSE(SealProves(seal, Seen(), Parse("0-1-12,0-2-7,0-3-1")));
  WriterSemiSyncSeen later = Seen();
  later.unacked = 11;  // the node was the writer again since
  CHECK_FALSE(SealProves(seal, later, Parse("0-1-12,0-2-7")));
  seal.proven = false;
  CHECK_FALSE(SealProves(seal, Seen(), Parse("0-1-12,0-2-7")));
}

}  // namespace
}  // namespace mpp
