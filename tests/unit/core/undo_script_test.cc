// The undo of a rewind as one logged transaction, and what a crash left of
// it (core/undo_script.h), on mariadb-binlog 10.11's --flashback layout.
#include "core/undo_script.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace mpp {
namespace {

// Two undone transactions as mariadb-binlog --flashback prints them (the
// base64 shortened), with the COMMIT it adds after the last.
const char kFlashback[] =
    "/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=1*/;\n"
    "DELIMITER /*!*/;\n"
    "BINLOG '\nUmQXaw8BAAAA\n'/*!*/;\n"
    "START TRANSACTION/*!*/;\n"
    "\n"
    "BINLOG '\nUmQXaxMBAAAA\nUmQXaxgBAAAA\n'/*!*/;\n"
    "COMMIT\n"
    "/*!*/;\n"
    "START TRANSACTION/*!*/;\n"
    "\n"
    "BINLOG '\nUmQXaxMBAAAB\nUmQXaxkBAAAB\n'/*!*/;\n"
    "COMMIT\n"
    "/*!*/;\n"
    "COMMIT\n"
    "/*!*/;\n"
    "DELIMITER ;\n"
    "ROLLBACK /* added by mysqlbinlog */;\n";

std::vector<Gtid> Parse(const std::string& text) {
  std::vector<Gtid> out;
  REQUIRE(ParseGtidList(text, &out));
  return out;
}

TEST_CASE("Undo script: the undone transactions become one, logged in the undo's domain") {
  std::vector<std::string> out;
  std::string why;
  REQUIRE(UndoStatements(kFlashback, kUndoDomain, &out, &why));
  CHECK(out == std::vector<std::string>{
                   "/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=1*/",
                   "BINLOG '\nUmQXaw8BAAAA\n'",
                   "SET SESSION gtid_domain_id = 4294967295",
                   "START TRANSACTION",
                   "BINLOG '\nUmQXaxMBAAAA\nUmQXaxgBAAAA\n'",
                   "BINLOG '\nUmQXaxMBAAAB\nUmQXaxkBAAAB\n'",
                   "COMMIT",
               });
}

TEST_CASE("Undo script: the events' header comments are not statements") {
  std::string text = kFlashback;
  text.insert(text.find("START TRANSACTION"), "#261208  1:58:37 server id 1  end_log_pos 794 CRC32 0x02342be4 \n");
  std::vector<std::string> out;
  std::string why;
  REQUIRE(UndoStatements(text, kUndoDomain, &out, &why));
  CHECK(out.size() == 7);
}

TEST_CASE("Undo script: a layout it does not know is refused, never half converted") {
  std::vector<std::string> out;
  std::string why;
  CHECK_FALSE(UndoStatements("DELIMITER /*!*/;\nDELIMITER ;\n", kUndoDomain, &out, &why));
  CHECK(why.find("0 START TRANSACTION") != std::string::npos);
  std::string no_end = kFlashback;
  no_end.erase(no_end.find("DELIMITER ;\n"), 12);
  CHECK_FALSE(UndoStatements(no_end, kUndoDomain, &out, &why));
  std::string no_commit = kFlashback;
  for (size_t at; (at = no_commit.find("COMMIT\n/*!*/;\n")) != std::string::npos;) no_commit.erase(at, 14);
  CHECK_FALSE(UndoStatements(no_commit, kUndoDomain, &out, &why));
  std::string cut = kFlashback;
  cut.erase(cut.rfind("/*!*/;\nDELIMITER ;"), 7);  // a statement that never ends
  CHECK_FALSE(UndoStatements(cut, kUndoDomain, &out, &why));
  CHECK(out.empty());
}

TEST_CASE("Undo script: the binlog tells whether the undo committed") {
  std::vector<Gtid> at = Parse("0-2-7,0-1-12");
  CHECK(WhatUndoLeft(Parse("0-2-7,0-1-12"), at, kUndoDomain) == UndoLeft::kNone);
  CHECK(WhatUndoLeft(Parse("0-1-12,0-2-7,4294967295-1-1"), at, kUndoDomain) == UndoLeft::kAll);
  // Something else committed since: neither can be told.
  CHECK(WhatUndoLeft(Parse("0-2-7,0-1-13"), at, kUndoDomain) == UndoLeft::kUnknown);
  CHECK(WhatUndoLeft(Parse("0-2-7,0-1-13,4294967295-1-1"), at, kUndoDomain) == UndoLeft::kUnknown);
  CHECK(WhatUndoLeft(Parse("0-2-7,0-1-12,4294967295-1-2"), at, kUndoDomain) == UndoLeft::kUnknown);
  CHECK(WhatUndoLeft(Parse("0-2-7"), at, kUndoDomain) == UndoLeft::kUnknown);
  // The domain in use before: nothing is proven by it.
  CHECK(WhatUndoLeft(Parse("0-1-12,4294967295-1-1"), Parse("0-1-12,4294967295-1-1"), kUndoDomain) ==
        UndoLeft::kUnknown);
}

}  // namespace
}  // namespace mpp
