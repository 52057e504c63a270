// GTID lists and the divergence check (core/gtid_divergence.h).
#include "core/gtid_divergence.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace mpp {
namespace {

std::vector<Gtid> Parse(const std::string& text) {
  std::vector<Gtid> out;
  bool ok = ParseGtidList(text, &out);
  INFO("text: '" << text << "'");
  REQUIRE(ok);
  return out;
}

bool Malformed(const std::string& text) {
  std::vector<Gtid> out;
  return !ParseGtidList(text, &out);
}

TEST_CASE("GTID: an empty list parses to nothing") {
  CHECK(Parse("").empty());
  CHECK(Parse("   ").empty());
  CHECK(Parse("\n").empty());
}

TEST_CASE("GTID: one GTID parses to its three numbers") {
  std::vector<Gtid> l = Parse("0-1-100");
  REQUIRE(l.size() == 1);
  CHECK(l[0].domain == 0);
  CHECK(l[0].server_id == 1);
  CHECK(l[0].seq == 100);
}

TEST_CASE("GTID: several GTIDs parse in the order given") {
  std::vector<Gtid> l = Parse("0-1-100,1-2-7,5-3-0");
  REQUIRE(l.size() == 3);
  CHECK(GtidText(l[0]) == "0-1-100");
  CHECK(GtidText(l[1]) == "1-2-7");
  CHECK(GtidText(l[2]) == "5-3-0");
}

TEST_CASE("GTID: blanks and newlines around the commas are allowed, as the server prints them") {
  CHECK(GtidListText(Parse("0-1-100,\n1-2-7")) == "0-1-100,1-2-7");
  CHECK(GtidListText(Parse(" 0-1-100 , 1-2-7 ")) == "0-1-100,1-2-7");
  CHECK(GtidListText(Parse("0-1-100,\r\n\t1-2-7\n")) == "0-1-100,1-2-7");
}

TEST_CASE("GTID: malformed pieces are refused") {
  for (const char* text : {"0-1", "0", "0-1-", "-1-2", "0--2", "0-1-2-3", "a-1-2", "0-b-2", "0-1-c", "0-1-2x",
                           "0-1-+2", "0-1--2", "0 -1-2", "0-1- 2", "0-1-2,,1-2-3", ",0-1-2", "0-1-2,", ",", "0-1-2;1-2-3",
                           "0.1.2"}) {
    INFO("text: '" << text << "'");
    CHECK(Malformed(text));
  }
}

TEST_CASE("GTID: domain and server_id are 32-bit, the sequence number 64-bit") {
  std::vector<Gtid> l = Parse("4294967295-4294967295-18446744073709551615");
  REQUIRE(l.size() == 1);
  CHECK(l[0].domain == 4294967295u);
  CHECK(l[0].server_id == 4294967295u);
  CHECK(l[0].seq == 18446744073709551615ull);
  CHECK(GtidText(l[0]) == "4294967295-4294967295-18446744073709551615");
  CHECK(Malformed("4294967296-1-1"));
  CHECK(Malformed("0-4294967296-1"));
  CHECK(Malformed("0-1-18446744073709551616"));
  CHECK(Malformed("0-1-99999999999999999999"));
}

TEST_CASE("GTID: the texts of a GTID and of a list") {
  CHECK(GtidText(Gtid{0, 1, 57}) == "0-1-57");
  CHECK(GtidListText({}) == "");
  CHECK(GtidListText({Gtid{0, 1, 57}}) == "0-1-57");
  CHECK(GtidListText({Gtid{0, 1, 57}, Gtid{2, 3, 4}}) == "0-1-57,2-3-4");
}

TEST_CASE("GTID: the last GTID per domain takes the higher sequence of binlog and slave pos") {
  // An ex-writer: its binlog has what it wrote; a replica: its slave pos
  // has what it applied; per domain the later one counts.
  std::vector<Gtid> last = LastGtidPerDomain(Parse("0-1-57,1-1-3"), Parse("0-2-60,1-2-2,2-2-9"));
  CHECK(GtidListText(last) == "0-2-60,1-1-3,2-2-9");
  CHECK(GtidListText(LastGtidPerDomain(Parse("0-1-57"), {})) == "0-1-57");
  CHECK(GtidListText(LastGtidPerDomain({}, Parse("0-2-57"))) == "0-2-57");
  CHECK(LastGtidPerDomain({}, {}).empty());
}

TEST_CASE("GTID: on a tie of sequence numbers the binlog's GTID is the last") {
  CHECK(GtidListText(LastGtidPerDomain(Parse("0-1-57"), Parse("0-2-57"))) == "0-1-57");
}

TEST_CASE("Divergence: a node behind the ACTIVE has not diverged") {
  CHECK(WhyDiverged(Parse("0-1-40"), Parse("0-1-50"), "db2") == "");
  // The ACTIVE took over at 50 and wrote on with its own server_id.
  CHECK(WhyDiverged(Parse("0-1-50"), Parse("0-1-50,0-2-57"), "db2") == "");
  CHECK(WhyDiverged(Parse("0-1-40"), Parse("0-1-50,0-2-57"), "db2") == "");
}

TEST_CASE("Divergence: a node equal to the ACTIVE has not diverged") {
  CHECK(WhyDiverged(Parse("0-1-50"), Parse("0-1-50"), "db2") == "");
  CHECK(WhyDiverged(Parse("0-2-57,1-1-3"), Parse("0-1-50,0-2-57,1-1-3"), "db2") == "");
}

TEST_CASE("Divergence: a node with a transaction the ACTIVE lacks has diverged") {
  // The old writer committed 51..57 that never reached the new one.
  CHECK(WhyDiverged(Parse("0-1-57"), Parse("0-1-50"), "db2") == "0-1-57 is not in db2's binlog");
  CHECK(WhyDiverged(Parse("0-1-57"), Parse("0-1-50,0-2-60"), "db2") == "0-1-57 is not in db2's binlog");
}

TEST_CASE("Divergence: the same sequence number from another server_id has diverged") {
  // A per-domain sequence comparison sees 57 == 57 and misses this.
  CHECK(WhyDiverged(Parse("0-1-57"), Parse("0-1-50,0-2-57"), "db2") == "0-1-57 is not in db2's binlog");
  CHECK(WhyDiverged(Parse("0-3-57"), Parse("0-2-57"), "db2") == "0-3-57 is not in db2's binlog");
}

TEST_CASE("Divergence: a domain the ACTIVE lacks has diverged") {
  CHECK(WhyDiverged(Parse("0-1-50,7-1-1"), Parse("0-1-50"), "db2") == "7-1-1 is not in db2's binlog");
  CHECK(WhyDiverged(Parse("0-1-1"), {}, "db2") == "0-1-1 is not in db2's binlog");
}

TEST_CASE("Divergence: domains the node lacks are fine") {
  CHECK(WhyDiverged(Parse("0-1-50"), Parse("0-1-50,1-2-9,2-3-4"), "db2") == "");
  CHECK(WhyDiverged({}, Parse("0-1-50"), "db2") == "");
  CHECK(WhyDiverged({}, {}, "db2") == "");
}

TEST_CASE("Divergence: a GTID with sequence 0 is nothing written") {
  CHECK(WhyDiverged(Parse("0-1-0"), {}, "db2") == "");
  CHECK(WhyDiverged(Parse("0-9-0,1-1-5"), Parse("1-1-5"), "db2") == "");
}

TEST_CASE("Divergence: the message names the first GTID missing and the ACTIVE") {
  CHECK(WhyDiverged(Parse("0-1-57,1-1-9"), Parse("0-1-50,0-2-57,1-1-3"), "db2") == "0-1-57 is not in db2's binlog");
  CHECK(WhyDiverged(Parse("0-1-50,1-1-9"), Parse("0-1-50,0-2-57,1-1-3"), "db3") == "1-1-9 is not in db3's binlog");
}

TEST_CASE("Divergence: from the servers' variables to the verdict") {
  // db1, the old writer, wrote up to 0-1-57; db2 had received up to 50
  // and, promoted, wrote 51..57 itself.
  std::vector<Gtid> db1 = LastGtidPerDomain(Parse("0-1-57"), Parse(""));
  CHECK(WhyDiverged(db1, Parse("0-1-50,0-2-57"), "db2") == "0-1-57 is not in db2's binlog");
  // db3, a replica of db1 that had applied up to 50, has not diverged.
  std::vector<Gtid> db3 = LastGtidPerDomain(Parse("0-1-50"), Parse("0-1-50"));
  CHECK(WhyDiverged(db3, Parse("0-1-50,0-2-57"), "db2") == "");
}

TEST_CASE("Errant: a GTID of another server that the ACTIVE lacks, hidden behind a later one of its domain") {
  // db3 wrote 0-3-9 itself, then applied db1's 0-1-10 and 0-1-11: its
  // gtid_binlog_pos says only 0-1-11; its gtid_binlog_state keeps 0-3-9.
  CHECK(WhyErrant(Parse("0-3-9,0-1-11"), GtidHistory{Parse("0-1-11"), {}, 1}, "db1") ==
        "0-3-9 is not in db1's binlog");
  // The last-GTID check alone misses it.
  CHECK(WhyDiverged(LastGtidPerDomain(Parse("0-1-11"), Parse("0-1-11")), Parse("0-1-11"), "db1") == "");
}

TEST_CASE("Errant: the ACTIVE's own GTIDs are left out, a poll apart") {
  // db2 received 0-1-12 after db1's poll read 0-1-11.
  CHECK(WhyErrant(Parse("0-1-12"), GtidHistory{Parse("0-1-11"), {}, 1}, "db1") == "");
  // What came from an earlier writer must be in the ACTIVE's binlog too.
  CHECK(WhyErrant(Parse("0-2-40,0-1-12"), GtidHistory{Parse("0-2-40,0-1-11"), {}, 1}, "db1") == "");
  CHECK(WhyErrant(Parse("0-2-41,0-1-12"), GtidHistory{Parse("0-2-40,0-1-11"), {}, 1}, "db1") ==
        "0-2-41 is not in db1's binlog");
}

TEST_CASE("Errant: what the ACTIVE applied as a replica without logging it is no errant transaction") {
  // db2, promoted with log_slave_updates = OFF, applied db1's writes up to
  // 0-1-12 without logging them, then wrote 0-2-13; db3 logged db1's.
  GtidHistory db2{Parse("0-2-13"), Parse("0-1-12"), 2};
  CHECK(WhyErrant(Parse("0-1-12,0-2-13"), db2, "db2") == "");
  // A GTID of db1 past what db2 applied is still one.
  CHECK(WhyErrant(Parse("0-1-14,0-2-13"), db2, "db2") ==
        "0-1-14 is not in db2's binlog, nor among what it applied as a replica (0-1-12)");
}

GtidHistory History(const std::string& binlog_state, const std::string& slave_pos, uint32_t server_id) {
  GtidHistory h;
  h.binlog_state = Parse(binlog_state);
  h.slave_pos = Parse(slave_pos);
  h.server_id = server_id;
  return h;
}

TEST_CASE("Unlogged: what a writer applied as a replica and never logged") {
  CHECK(GtidListText(UnloggedSlavePos(History("0-1-9", "0-1-12", 2))) == "0-1-12");
  CHECK(UnloggedSlavePos(History("0-1-12", "0-1-12", 2)).empty());
  CHECK(UnloggedSlavePos(History("0-1-12,0-2-20", "0-1-12", 2)).empty());
  CHECK(GtidListText(UnloggedSlavePos(History("", "0-1-12,1-1-3", 2))) == "0-1-12,1-1-3");
  CHECK(UnloggedSlavePos(History("0-1-9", "", 2)).empty());
}

TEST_CASE("Divergence: a GTID a filter skipped on the new writer is held, though not in its binlog") {
  // replicate-ignore-db: both replicas at 0-1-12, both binlogs at 0-1-9.
  GtidHistory db2 = History("0-1-9", "0-1-12", 2);
  CHECK(WhyDivergedFrom(Parse("0-1-9,0-1-12,0-1-12"), db2, "db2") == "");
  CHECK(WhyDivergedFrom(Parse("0-1-11"), db2, "db2") == "");
  // The binlog-only rule still calls it diverged.
  CHECK(WhyDiverged(Parse("0-1-12"), db2.binlog_state, "db2") == "0-1-12 is not in db2's binlog");
}

TEST_CASE("Divergence: with log_slave_updates OFF the new writer's binlog may hold nothing of the old writer") {
  GtidHistory db2 = History("", "0-1-12", 2);
  CHECK(WhyDivergedFrom(Parse("0-1-12"), db2, "db2") == "");
  // Its own writes since then are in its binlog.
  CHECK(WhyDivergedFrom(Parse("0-1-12,0-2-14"), History("0-2-14", "0-1-12", 2), "db2") == "");
}

TEST_CASE("Divergence: what the new writer applied covers only its own source's GTIDs up to its last") {
  GtidHistory db2 = History("0-1-9", "0-1-12", 2);
  CHECK(WhyDivergedFrom(Parse("0-1-13"), db2, "db2") ==
        "0-1-13 is not in db2's binlog, nor among what it applied as a replica (0-1-12)");
  CHECK(WhyDivergedFrom(Parse("0-3-10"), db2, "db2") ==
        "0-3-10 is not in db2's binlog, nor among what it applied as a replica (0-1-12)");
  // Another domain: nothing applied there.
  CHECK(WhyDivergedFrom(Parse("1-1-2"), db2, "db2") == "1-1-2 is not in db2's binlog");
}

TEST_CASE("Divergence: another server's GTID past the last applied one proves nothing") {
  // The binlog of the domain does not run through 0-1-12.
  GtidHistory odd = History("0-1-9,0-3-15", "0-1-12", 2);
  CHECK(WhyDivergedFrom(Parse("0-1-11"), odd, "db2") ==
        "0-1-11 is not in db2's binlog, nor among what it applied as a replica (0-1-12)");
  // Its own writes after it, or another server's before it, are fine.
  CHECK(WhyDivergedFrom(Parse("0-1-11"), History("0-1-9,0-3-5,0-2-20", "0-1-12", 2), "db2") == "");
}

TEST_CASE("Follow: a node at the writer's last unlogged GTID, or past it, can follow it") {
  GtidHistory db2 = History("0-1-9", "0-1-12", 2);
  CHECK(WhyCannotFollow(Parse("0-1-12"), db2, "db3", "db2") == "");
  CHECK(WhyCannotFollow(Parse("0-2-14"), History("0-1-9,0-2-14", "0-1-12", 2), "db3", "db2") == "");
  // Nothing unlogged: the binlog sends all.
  CHECK(WhyCannotFollow(Parse("0-1-5"), History("0-1-12", "0-1-12", 2), "db3", "db2") == "");
}

TEST_CASE("Follow: a node behind the writer's unlogged GTIDs cannot get them from it") {
  GtidHistory db2 = History("0-1-9", "0-1-12", 2);
  CHECK(WhyCannotFollow(Parse("0-1-11"), db2, "db3", "db2") ==
        "db3 is at 0-1-11 in domain 0, but db2 applied up to 0-1-12 as a replica without logging it: db2 cannot "
        "send what db3 lacks");
  // In the writer's binlog, but before the gap: MariaDB would send nothing of it.
  CHECK(!WhyCannotFollow(Parse("0-1-9"), db2, "db3", "db2").empty());
  CHECK(WhyCannotFollow(Parse("1-1-4"), db2, "db3", "db2").find("db3 is at nothing in domain 0") == 0);
}

TEST_CASE("GTID: the same GTIDs in another order are the same state") {
  CHECK(SameGtids(Parse("0-1-8743,0-2-8058,0-3-9765"), Parse("0-3-9765,0-2-8058,0-1-8743")));
  CHECK(SameGtids(Parse(""), Parse("")));
  CHECK_FALSE(SameGtids(Parse("0-1-5"), Parse("0-1-6")));
  CHECK_FALSE(SameGtids(Parse("0-1-5"), Parse("0-1-5,1-1-1")));
}

}  // namespace
}  // namespace mpp
