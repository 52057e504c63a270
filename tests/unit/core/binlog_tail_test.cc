// The rewindable tail of an ex-writer's binlog (core/binlog_tail.h), on
// SHOW BINLOG EVENTS rows as MariaDB 10.11 lists them.
#include "core/binlog_tail.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace mpp {
namespace {

const char* const kFile1 = "binlog.000001";
const char* const kFile2 = "binlog.000002";
const char* const kFile3 = "binlog.000003";

std::vector<Gtid> Parse(const std::string& text) {
  std::vector<Gtid> out;
  bool ok = ParseGtidList(text, &out);
  INFO("text: '" << text << "'");
  REQUIRE(ok);
  return out;
}

RewindTail Find(const std::vector<BinlogEvent>& events, const std::string& writer_state) {
  return FindRewindTail(events, Parse(writer_state), "db2");
}

// What the server writes at the start of every file.
std::vector<BinlogEvent> FileStart(const std::string& file, const std::string& gtid_list) {
  return {{file, 4, "Format_desc", "Server ver: 10.11.19-MariaDB-0+deb12u1-log, Binlog ver: 4"},
          {file, 256, "Gtid_list", gtid_list},
          {file, 285, "Binlog_checkpoint", file}};
}

std::vector<BinlogEvent> Join(std::vector<std::vector<BinlogEvent>> parts) {
  std::vector<BinlogEvent> out;
  for (const std::vector<BinlogEvent>& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// An InnoDB insert in row format, its Gtid event at pos.
std::vector<BinlogEvent> Insert(const std::string& file, uint64_t pos, const std::string& gtid) {
  return {{file, pos, "Gtid", "BEGIN GTID " + gtid},
          {file, pos + 42, "Annotate_rows", "INSERT INTO mpptest.t (v) VALUES ('a')"},
          {file, pos + 103, "Table_map", "table_id: 18 (mpptest.t)"},
          {file, pos + 153, "Write_rows_v1", "table_id: 18 flags: STMT_END_F"},
          {file, pos + 193, "Xid", "COMMIT /* xid=10 */"}};
}

TEST_CASE("Binlog tail: a clean tail of inserts, updates and deletes can be rewound from its first Gtid event") {
  // db2 had received up to 0-1-5 when db1 failed; db1 had committed 6 and 7.
  std::vector<BinlogEvent> log = Join({
      FileStart(kFile1, "[0-2-3,0-1-4]"),
      Insert(kFile1, 325, "0-1-5"),
      {{kFile1, 549, "Gtid", "BEGIN GTID 0-1-6"},
       {kFile1, 591, "Annotate_rows", "UPDATE mpptest.t SET v = 'b' WHERE id = 1"},
       {kFile1, 656, "Table_map", "table_id: 18 (mpptest.t)"},
       {kFile1, 706, "Update_rows_v1", "table_id: 18 flags: STMT_END_F"},
       {kFile1, 752, "Xid", "COMMIT /* xid=14 */"},
       {kFile1, 783, "Gtid", "BEGIN GTID 0-1-7"},
       {kFile1, 825, "Annotate_rows", "DELETE FROM mpptest.t WHERE id = 1"},
       {kFile1, 880, "Table_map", "table_id: 18 (mpptest.t)"},
       {kFile1, 930, "Delete_rows_v1", "table_id: 18 flags: STMT_END_F"},
       {kFile1, 970, "Xid", "COMMIT /* xid=15 */"}},
  });
  RewindTail t = Find(log, "0-1-5,0-2-9");
  CHECK(t.refused == "");
  CHECK(GtidListText(t.extra) == "0-1-6,0-1-7");
  CHECK(t.start_file == kFile1);
  CHECK(t.start_pos == 549);
  CHECK(GtidListText(t.state_at_fork) == "0-2-3,0-1-5");
  CHECK(GtidListText(t.pos_at_fork) == "0-1-5");
}

TEST_CASE("Binlog tail: the tables the extra transactions change are listed once, in order") {
  // Their foreign keys decide whether undoing their rows is enough.
  std::vector<BinlogEvent> log = Join({
      FileStart(kFile1, "[0-1-4]"),
      Insert(kFile1, 325, "0-1-5"),
      {{kFile1, 549, "Gtid", "BEGIN GTID 0-1-6"},
       {kFile1, 591, "Annotate_rows", "DELETE FROM shop.parent WHERE id = 1"},
       {kFile1, 656, "Table_map", "table_id: 21 (shop.parent)"},
       {kFile1, 706, "Delete_rows_v1", "table_id: 21 flags: STMT_END_F"},
       {kFile1, 752, "Xid", "COMMIT /* xid=14 */"}},
      Insert(kFile1, 783, "0-1-7"),
  });
  RewindTail t = Find(log, "0-1-5");
  CHECK(t.refused == "");
  CHECK(t.tables == std::vector<std::string>{"shop.parent", "mpptest.t"});
}

TEST_CASE("Binlog tail: a tail is the node's own only if every extra transaction carries its server_id") {
  std::vector<BinlogEvent> log = Join({
      FileStart(kFile1, "[0-1-4]"),
      Insert(kFile1, 325, "0-1-5"),
      Insert(kFile1, 549, "0-1-6"),
  });
  RewindTail t = Find(log, "0-1-4");
  CHECK(WhyNotOwnTail(t, 1, "db1") == "");
  CHECK(WhyNotOwnTail(t, 3, "db3") == "0-1-5 came from server 1: db3 received it as a replica, and may have "
                                      "acknowledged it");
}

TEST_CASE("Binlog tail: InnoDB's names of tables decode to the binlog's") {
  std::string out;
  CHECK(DecodeInnodbName("mpptest/parent", &out));
  CHECK(out == "mpptest.parent");
  // Found in review: a dot in a table's name is encoded; the foreign key
  // of `p.q` was never matched to the tail's mpptest.p.q.
  CHECK(DecodeInnodbName("mpptest/p@002eq", &out));
  CHECK(out == "mpptest.p.q");
  CHECK(DecodeInnodbName("my@002ddb/t@0020x", &out));
  CHECK(out == "my-db.t x");
  // Beyond ASCII, or malformed: not decoded (the caller takes it to match).
  CHECK_FALSE(DecodeInnodbName("mpptest/caf@00e9", &out));
  CHECK_FALSE(DecodeInnodbName("mpptest/p@002", &out));
  CHECK_FALSE(DecodeInnodbName("mpptest/p@zz2e", &out));
}

TEST_CASE("Binlog tail: a fork in a later file starts there, and file marks between extra transactions are skipped") {
  // A restart closed binlog.000001 (Stop); binlog.000002 rotated to 3.
  std::vector<BinlogEvent> log = Join({
      FileStart(kFile1, "[]"),
      {{kFile1, 325, "Gtid", "GTID 0-1-1"},
       {kFile1, 367, "Query", "use `mpptest`; CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(20))"}},
      Insert(kFile1, 489, "0-1-2"),
      {{kFile1, 713, "Stop", ""}},
      FileStart(kFile2, "[0-1-2]"),
      Insert(kFile2, 325, "0-1-3"),
      {{kFile2, 549, "Gtid", "BEGIN GTID 0-1-4"},
       {kFile2, 591, "Annotate_rows", "INSERT INTO mpptest.t (v) VALUES (REPEAT('x', 2000))"},
       {kFile2, 664, "Table_map", "table_id: 18 (mpptest.t)"},
       {kFile2, 714, "Write_rows_compressed_v1", "table_id: 18 flags: STMT_END_F"},
       {kFile2, 790, "Xid", "COMMIT /* xid=31 */"},
       {kFile2, 821, "Rotate", "binlog.000003;pos=4"}},
      FileStart(kFile3, "[0-1-4]"),
      {{kFile3, 325, "Gtid", "BEGIN GTID 0-1-5"},
       {kFile3, 367, "Annotate_rows", "UPDATE mpptest.t SET v = 'y'"},
       {kFile3, 417, "Table_map", "table_id: 18 (mpptest.t)"},
       {kFile3, 467, "Update_rows_compressed_v1", "table_id: 18 flags: STMT_END_F"},
       {kFile3, 541, "Xid", "COMMIT /* xid=40 */"},
       {kFile3, 572, "Gtid", "BEGIN GTID 0-1-6"},
       {kFile3, 614, "Annotate_rows", "DELETE FROM mpptest.t"},
       {kFile3, 657, "Table_map", "table_id: 18 (mpptest.t)"},
       {kFile3, 707, "Delete_rows_compressed_v1", "table_id: 18 flags: STMT_END_F"},
       {kFile3, 781, "Xid", "COMMIT /* xid=41 */"}},
  });
  RewindTail t = Find(log, "0-1-3");
  CHECK(t.refused == "");
  CHECK(GtidListText(t.extra) == "0-1-4,0-1-5,0-1-6");
  CHECK(t.start_file == kFile2);
  CHECK(t.start_pos == 549);
  // The state comes from the first file's Gtid_list and the transactions
  // since, the DDL the writer has among them.
  CHECK(GtidListText(t.state_at_fork) == "0-1-3");
  CHECK(GtidListText(t.pos_at_fork) == "0-1-3");
}

TEST_CASE("Binlog tail: a transaction of the same sequence number from another server is extra") {
  // db2, promoted at 0-1-5, wrote 0-2-6 itself; db1's 0-1-6 is not it.
  std::vector<BinlogEvent> log =
      Join({FileStart(kFile1, "[0-1-4]"), Insert(kFile1, 325, "0-1-5"), Insert(kFile1, 549, "0-1-6")});
  RewindTail t = Find(log, "0-1-5,0-2-6");
  CHECK(t.refused == "");
  CHECK(GtidListText(t.extra) == "0-1-6");
  CHECK(t.start_pos == 549);
}

TEST_CASE("Binlog tail: DDL among the extra transactions is refused, quoting the statement") {
  std::vector<BinlogEvent> log = Join({
      FileStart(kFile1, "[0-1-5]"),
      Insert(kFile1, 325, "0-1-6"),
      {{kFile1, 549, "Gtid", "GTID 0-1-7"},
       {kFile1, 591, "Query",
        "use `mpptest`; CREATE TABLE u (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(200) NOT NULL, w INT)"}},
      Insert(kFile1, 720, "0-1-8"),
  });
  RewindTail t = Find(log, "0-1-5");
  CHECK(t.refused ==
        "0-1-7 is DDL or another statement outside a transaction "
        "(CREATE TABLE u (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR...)");
  CHECK(GtidListText(t.extra) == "0-1-6,0-1-7,0-1-8");

  // The same DDL before the fork is the writer's too, and no concern.
  t = Find(log, "0-1-7");
  CHECK(t.refused == "");
  CHECK(GtidListText(t.extra) == "0-1-8");
}

TEST_CASE("Binlog tail: a DDL as the first extra transaction is refused") {
  std::vector<BinlogEvent> log = Join({
      FileStart(kFile1, "[0-1-5]"),
      {{kFile1, 325, "Gtid", "GTID 0-1-6"}, {kFile1, 367, "Query", "use `mpptest`; DROP TABLE t"}},
  });
  CHECK(Find(log, "0-1-5").refused == "0-1-6 is DDL or another statement outside a transaction (DROP TABLE t)");
}

TEST_CASE("Binlog tail: a statement-format Query in an extra transaction is refused") {
  std::vector<BinlogEvent> log = Join({
      FileStart(kFile1, "[0-1-9]"),
      {{kFile1, 325, "Gtid", "BEGIN GTID 0-1-10"},
       {kFile1, 367, "Query", "use `mpptest`; UPDATE t SET v = 'x' WHERE id = 2"},
       {kFile1, 468, "Xid", "COMMIT /* xid=17 */"}},
  });
  CHECK(Find(log, "0-1-9").refused == "0-1-10 is in statement format (UPDATE t SET v = 'x' WHERE id = 2)");
}

TEST_CASE("Binlog tail: Intvar, Rand and User_var events are statement format, named by their statement") {
  for (const char* type : {"Intvar", "Rand", "User_var"}) {
    INFO("type: " << type);
    std::vector<BinlogEvent> log = Join({
        FileStart(kFile1, "[0-1-9]"),
        {{kFile1, 325, "Gtid", "BEGIN GTID 0-1-10"},
         {kFile1, 367, type, "INSERT_ID=2"},
         {kFile1, 399, "Query", "use `mpptest`; INSERT INTO mpptest.t (v) VALUES ('s')"},
         {kFile1, 500, "Xid", "COMMIT /* xid=17 */"}},
    });
    CHECK(Find(log, "0-1-9").refused == "0-1-10 is in statement format (INSERT INTO mpptest.t (v) VALUES ('s'))");
  }
}

TEST_CASE("Binlog tail: any other event inside or between extra transactions is refused") {
  std::vector<BinlogEvent> inside = Join({
      FileStart(kFile1, "[0-1-5]"),
      {{kFile1, 325, "Gtid", "BEGIN GTID 0-1-6"},
       {kFile1, 367, "Begin_load_query", ";file_id=1;block_len=6"},
       {kFile1, 420, "Execute_load_query", "use `mpptest`; LOAD DATA INFILE '/tmp/t.txt' INTO TABLE t"},
       {kFile1, 560, "Xid", "COMMIT /* xid=20 */"}},
  });
  CHECK(Find(inside, "0-1-5").refused == "0-1-6 holds a Begin_load_query event");

  std::vector<BinlogEvent> between = Join({
      FileStart(kFile1, "[0-1-5]"),
      Insert(kFile1, 325, "0-1-6"),
      {{kFile1, 549, "Incident", "#1 (LOST_EVENTS)"}},
      Insert(kFile1, 590, "0-1-7"),
  });
  CHECK(Find(between, "0-1-5").refused ==
        "an Incident event at binlog.000001:549 follows 0-1-6 outside any transaction");
}

TEST_CASE("Binlog tail: a transaction the writer has after one it lacks is refused, naming both") {
  // db1 wrote 0-1-9 in domain 0, then 1-1-4 in domain 1; db2's parallel
  // replication had applied 1-1-4 but not 0-1-9.
  std::vector<BinlogEvent> log = Join({
      FileStart(kFile1, "[0-1-7,1-1-3]"),
      Insert(kFile1, 325, "0-1-8"),
      Insert(kFile1, 549, "0-1-9"),
      Insert(kFile1, 773, "1-1-4"),
  });
  RewindTail t = Find(log, "0-1-8,1-1-4");
  CHECK(t.refused == "not a tail: 1-1-4 comes after 0-1-9, which db2 lacks, and db2 has it");
  // It is named before what is wrong with the extra transaction itself.
  log[8].info = "GTID 0-1-9";
  CHECK(Find(log, "0-1-8,1-1-4").refused == "not a tail: 1-1-4 comes after 0-1-9, which db2 lacks, and db2 has it");
}

TEST_CASE("Binlog tail: with nothing the writer lacks there is nothing to rewind and no refusal") {
  std::vector<BinlogEvent> log = Join({
      FileStart(kFile1, "[0-1-4]"),
      Insert(kFile1, 325, "0-1-5"),
      Insert(kFile1, 549, "0-1-6"),
  });
  for (const char* writer : {"0-1-6", "0-1-6,0-2-12", "0-1-9"}) {
    INFO("writer: " << writer);
    RewindTail t = Find(log, writer);
    CHECK(t.refused == "");
    CHECK(t.extra.empty());
    CHECK(t.start_file == "");
    CHECK(t.start_pos == 0);
  }
  // A file with no transaction yet.
  RewindTail t = Find(FileStart(kFile2, "[0-1-6]"), "0-1-6");
  CHECK(t.refused == "");
  CHECK(t.extra.empty());
}

TEST_CASE("Binlog tail: a transaction the log ends in the middle of is refused") {
  std::vector<BinlogEvent> log =
      Join({FileStart(kFile1, "[0-1-5]"), Insert(kFile1, 325, "0-1-6"), Insert(kFile1, 549, "0-1-7")});
  log.pop_back();  // its Xid
  RewindTail t = Find(log, "0-1-5");
  CHECK(t.refused == "0-1-7 has no end: the binlog ends before its commit");
  CHECK(GtidListText(t.extra) == "0-1-6,0-1-7");

  // A Gtid event where the commit should be.
  log = Join({FileStart(kFile1, "[0-1-5]"), Insert(kFile1, 325, "0-1-6"), Insert(kFile1, 549, "0-1-7")});
  log.erase(log.begin() + 7);  // 0-1-6's Xid
  CHECK(Find(log, "0-1-5").refused ==
        "0-1-6 has no end: another transaction starts at binlog.000001:549 before its commit");
}

TEST_CASE("Binlog tail: a non-transactional table's transaction, ending with Query COMMIT, is refused") {
  // MyISAM in row format: each statement is logged, and stays, on its own;
  // its undo could be left half done.
  std::vector<BinlogEvent> log = Join({
      FileStart(kFile1, "[0-1-8]"),
      {{kFile1, 325, "Gtid", "BEGIN GTID 0-1-9"},
       {kFile1, 367, "Annotate_rows", "INSERT INTO mpptest.m (v) VALUES ('a')"},
       {kFile1, 422, "Table_map", "table_id: 19 (mpptest.m)"},
       {kFile1, 469, "Write_rows_v1", "table_id: 19 flags: STMT_END_F"},
       {kFile1, 507, "Query", "COMMIT"}},
  });
  RewindTail t = Find(log, "0-1-8");
  CHECK(t.refused ==
        "0-1-9 changes a non-transactional table (it ends with COMMIT, not Xid): a crash could leave its undo half "
        "done");
  CHECK(GtidListText(t.extra) == "0-1-9");

  // Anything but a bare COMMIT is a statement.
  log.back().info = "ROLLBACK";
  CHECK(Find(log, "0-1-8").refused == "0-1-9 is in statement format (ROLLBACK)");
}

TEST_CASE("Binlog tail: with several domains the state at the fork keeps every domain, its last GTID last") {
  // Domain 0: db2 wrote up to 3 before db1 took over; domain 1: db2 wrote
  // last; domain 2: a third server, then db1.
  std::vector<BinlogEvent> log = Join({
      FileStart(kFile1, "[0-2-3,0-1-7,1-1-4,1-2-6,2-3-5]"),
      Insert(kFile1, 325, "0-1-8"),
      Insert(kFile1, 549, "2-1-6"),
      Insert(kFile1, 773, "0-1-9"),
      Insert(kFile1, 997, "1-1-7"),
  });
  RewindTail t = Find(log, "0-1-8,0-2-12,1-1-4,1-2-6,2-3-5,2-1-6");
  CHECK(t.refused == "");
  CHECK(GtidListText(t.extra) == "0-1-9,1-1-7");
  CHECK(t.start_pos == 773);
  CHECK(GtidListText(t.state_at_fork) == "0-2-3,0-1-8,1-1-4,1-2-6,2-3-5,2-1-6");
  CHECK(GtidListText(t.pos_at_fork) == "0-1-8,1-2-6,2-1-6");
}

TEST_CASE("Binlog tail: the state at the fork follows every server's transactions since the Gtid_list") {
  // db1 replicated db2's 0-2-5 (log_slave_updates), then a switchover made
  // db1 the writer again.
  std::vector<BinlogEvent> log = Join({
      FileStart(kFile1, "[0-2-3,0-1-4]"),
      Insert(kFile1, 325, "0-2-5"),
      Insert(kFile1, 549, "0-1-6"),
      Insert(kFile1, 773, "0-1-7"),
  });
  RewindTail t = Find(log, "0-2-5,0-1-6");
  CHECK(t.refused == "");
  CHECK(GtidListText(t.extra) == "0-1-7");
  CHECK(GtidListText(t.state_at_fork) == "0-2-5,0-1-6");
  CHECK(GtidListText(t.pos_at_fork) == "0-1-6");
}

TEST_CASE("Binlog tail: from the Gtid_list alone a domain is at its highest GTID, the later listed on a tie") {
  std::vector<BinlogEvent> log = Join({FileStart(kFile1, "[0-2-9,0-1-4,1-1-5,1-2-5]"), Insert(kFile1, 325, "0-1-10")});
  RewindTail t = Find(log, "0-1-4,0-2-9,1-1-5,1-2-5");
  CHECK(t.refused == "");
  CHECK(GtidListText(t.pos_at_fork) == "0-2-9,1-2-5");
  CHECK(GtidListText(t.state_at_fork) == "0-1-4,0-2-9,1-1-5,1-2-5");
}

TEST_CASE("Binlog tail: a group commit id after the GTID is not part of it") {
  std::vector<BinlogEvent> log =
      Join({FileStart(kFile1, "[0-1-6]"), Insert(kFile1, 325, "0-1-7"), Insert(kFile1, 549, "0-1-8")});
  log[3].info = "BEGIN GTID 0-1-7 cid=123";
  log[8].info = "BEGIN GTID 0-1-8 cid=123";
  RewindTail t = Find(log, "0-1-7");
  CHECK(t.refused == "");
  CHECK(GtidListText(t.extra) == "0-1-8");
  CHECK(GtidListText(t.pos_at_fork) == "0-1-7");
}

TEST_CASE("Binlog tail: without a Gtid_list before the first transaction the state at the fork is unknown") {
  std::vector<BinlogEvent> log = Join({
      {{kFile3, 4, "Format_desc", "Server ver: 10.11.19-MariaDB-0+deb12u1-log, Binlog ver: 4"}},
      Insert(kFile3, 256, "0-1-7"),
      {{kFile3, 480, "Gtid_list", "[0-1-7]"}},
  });
  CHECK(Find(log, "0-1-5").refused == "no Gtid_list at the start of binlog.000003");
  CHECK(Find({}, "0-1-5").refused != "");
}

TEST_CASE("Binlog tail: an unparsable GTID or Gtid_list is refused with its text") {
  std::vector<BinlogEvent> log = Join({FileStart(kFile1, "[0-1-6]"), Insert(kFile1, 325, "0-1-7")});
  log[3].info = "BEGIN GTID 0-1-x";
  CHECK(Find(log, "0-1-9").refused == "unparsable GTID at binlog.000001:325: BEGIN GTID 0-1-x");
  log[3].info = "BEGIN";
  CHECK(Find(log, "0-1-9").refused == "unparsable GTID at binlog.000001:325: BEGIN");
  log[3].info = "BEGIN GTID 0-1-7";
  log[1].info = "[0-1]";
  CHECK(Find(log, "0-1-9").refused == "unparsable Gtid_list at binlog.000001:256: [0-1]");
  log[1].info = "0-1-6";
  CHECK(Find(log, "0-1-9").refused == "unparsable Gtid_list at binlog.000001:256: 0-1-6");
}

}  // namespace
}  // namespace mpp
