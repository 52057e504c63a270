// The state file reader (common/state_reader.h) on the format's own example
// (doc/state-file.md): what it accepts, what it calls corrupt, its lookups,
// and when a file is too old to count. Round trips from the writer are in
// tests/unit/mppstate/state_writer_test.cc.
#include <doctest/doctest.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <string>

#include "common/address.h"
#include "common/state_reader.h"

namespace mpp {
namespace {

// The example of doc/state-file.md.
std::string Example() {
  return "mpp-state 1\n"
         "pid 4242\n"
         "seq 17\n"
         "time_ms 1764172800250\n"
         "interval_ms 1000\n"
         "stale_after_ms 30000\n"
         "pool main ok -\n"
         "node main db1 PRIMARY ACTIVE OK 127.0.0.1:3306 - 1764172790000 elected: replication source\n"
         "node main db2 SECONDARY STANDBY OK 127.0.0.1:3307 0 1764172790000 -\n"
         "node main db3 SECONDARY FAIL WARN 127.0.0.1:3308 45 1764172799000 lag 45s > max_lag 10s\n"
         "vs writer rw main 192.0.2.10:3306\n"
         "dest writer db1 127.0.0.1:3306 up 1\n"
         "dest writer db2 127.0.0.1:3307 down 0\n"
         "dest writer db3 127.0.0.1:3308 down 0\n"
         "vs reader ro main 192.0.2.10:3307\n"
         "dest reader db1 127.0.0.1:3306 down 0\n"
         "dest reader db2 127.0.0.1:3307 up 1\n"
         "dest reader db3 127.0.0.1:3308 down 0\n"
         "end\n";
}

TEST_CASE("StateFile: checking only header and end accepts what the full check accepts") {
  std::string f = Example();
  StateFile all, quick;
  const char* why;
  REQUIRE(ParseStateFile(f.data(), f.size(), &all, &why) == StateError::kOk);
  REQUIRE(ParseStateFile(f.data(), f.size(), &quick, &why, StateCheck::kHeaderAndEnd) == StateError::kOk);
  CHECK(all.body_end == quick.body_end);
}

TEST_CASE("StateFile: after a header-only check, a lookup still refuses a garbage line it passes") {
  std::string f = Example();
  f.insert(f.find("vs writer"), "garbage\n");
  StateFile sf;
  const char* why;
  REQUIRE(ParseStateFile(f.data(), f.size(), &sf, &why, StateCheck::kHeaderAndEnd) == StateError::kOk);
  DestRecord d;
  CHECK_FALSE(FindDestByName(sf, "writer", "db1", &d, &why));
  CHECK(std::string(why) == "state file is corrupt (bad syntax)");
}

TEST_CASE("StateFile: a lookup by address finds the node in its other IPv6 spelling") {
  std::string f = Example();
  size_t at = f.find("end\n");
  f.insert(at, "vs six rw main [2001:db8::10]:3306\ndest six db1 [2001:db8::1]:3306 up 1\n");
  StateFile sf;
  const char* why;
  REQUIRE(ParseStateFile(f.data(), f.size(), &sf, &why, StateCheck::kHeaderAndEnd) == StateError::kOk);
  Address vs, node;
  REQUIRE(ParseAddressPair("2001:db8:0::10", "3306", &vs, &why));
  REQUIRE(ParseAddressPair("[2001:DB8::0:1]", "3306", &node, &why));
  DestRecord d;
  CHECK(FindDestByAddress(sf, vs, node, &d, &why));
}

TEST_CASE("StateFile: truncation at every byte offset is corrupt") {
  std::string text = Example();
  for (size_t len = 0; len < text.size(); ++len) {
    StateFile f;
    const char* why = nullptr;
    std::string cut = text.substr(0, len);  // its own allocation: ASan sees overreads
    INFO("length " << len);
    CHECK(ParseStateFile(cut.data(), cut.size(), &f, &why) != StateError::kOk);
    CHECK(why != nullptr);
  }
}

TEST_CASE("StateFile: an unknown version is corrupt") {
  std::string text = Example();
  for (const char* v : {"mpp-state 2\n", "mpp-state 0\n", "mpp-state 1x\n"}) {
    std::string other = v + text.substr(text.find('\n') + 1);
    StateFile f;
    const char* why;
    CHECK(ParseStateFile(other.data(), other.size(), &f, &why) != StateError::kOk);
  }
  std::string v2 = "mpp-state 2\n" + text.substr(text.find('\n') + 1);
  StateFile f;
  const char* why;
  CHECK(ParseStateFile(v2.data(), v2.size(), &f, &why) == StateError::kUnknownVersion);
}

TEST_CASE("StateFile: no final newline is corrupt") {
  std::string text = Example();
  text.pop_back();
  StateFile f;
  const char* why;
  CHECK(ParseStateFile(text.data(), text.size(), &f, &why) == StateError::kCorrupt);
  CHECK(std::string(why).find("no final newline") != std::string::npos);
}

TEST_CASE("StateFile: lines after end, unknown records and bad fields are corrupt") {
  std::string text = Example();
  StateFile f;
  const char* why;
  std::string extra = text + "node x\n";
  CHECK(ParseStateFile(extra.data(), extra.size(), &f, &why) == StateError::kCorrupt);
  std::string unknown = text;
  unknown.insert(unknown.find("vs "), "weird line\n");
  CHECK(ParseStateFile(unknown.data(), unknown.size(), &f, &why) == StateError::kCorrupt);
  std::string bad = text;
  bad.replace(bad.find(" up 1\n"), 6, " up x\n");
  REQUIRE(ParseStateFile(bad.data(), bad.size(), &f, &why) == StateError::kOk);
  DestRecord d;
  CHECK_FALSE(FindDestByName(f, "writer", "db1", &d, &why));
  CHECK(std::string(why) == "state file is corrupt (bad dest line)");
}

TEST_CASE("StateFile: a STATE, STATUS, TYPE or ROLE outside the vocabulary is corrupt") {
  struct Case {
    const char* from;
    const char* to;
    const char* why;
  };
  const Case cases[] = {
      {"db1 PRIMARY ACTIVE OK", "db1 PRIMARY ACTIVATED OK", "state file is corrupt (bad node line)"},
      {"db1 PRIMARY ACTIVE OK", "db1 PRIMARY ACTIVE ok", "state file is corrupt (bad node line)"},
      {"db1 PRIMARY ACTIVE OK", "db1 PRIMARY ACTIVE OKAY", "state file is corrupt (bad node line)"},
      {"db1 PRIMARY ACTIVE OK", "db1 PRIMAR ACTIVE OK", "state file is corrupt (bad node line)"},
      {"vs writer rw main", "vs writer rwx main", "state file is corrupt (bad vs line)"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.to);
    std::string text = Example();
    text.replace(text.find(c.from), strlen(c.from), c.to);
    StateFile f;
    const char* why;
    REQUIRE(ParseStateFile(text.data(), text.size(), &f, &why) == StateError::kOk);
    NodeRecord n;
    DestRecord d;
    bool found = strncmp(c.to, "vs ", 3) == 0 ? FindDestByName(f, "writer", "db1", &d, &why)
                                              : FindNode(f, Text{"db1", 3}, &n, &why);
    CHECK_FALSE(found);
    CHECK(std::string(why) == c.why);
  }
  // Every word of the vocabulary is accepted.
  for (const char* state : {"UNKNOWN", "ACTIVE", "STANDBY", "FAIL", "OFFLINE"}) {
    for (const char* status : {"OK", "INFO", "WARN", "CRITICAL", "FAIL"}) {
      std::string text = Example();
      std::string to = std::string("db1 SECONDARY ") + state + " " + status;
      text.replace(text.find("db1 PRIMARY ACTIVE OK"), 21, to);
      StateFile f;
      const char* why;
      REQUIRE(ParseStateFile(text.data(), text.size(), &f, &why) == StateError::kOk);
      NodeRecord n;
      CAPTURE(to);
      REQUIRE(FindNode(f, Text{"db1", 3}, &n, &why));
      CHECK(n.state.Equals(state));
      CHECK(n.status.Equals(status));
    }
  }
}

TEST_CASE("StateFile: the loader refuses what is not a complete regular file") {
  char buf[64];
  StateFile f;
  const char* why;
  CHECK(LoadStateFile("/nonexistent/state", buf, sizeof buf, &f, &why) == StateError::kMissing);
  CHECK(LoadStateFile("/tmp", buf, sizeof buf, &f, &why) == StateError::kNotRegularFile);
  char dir[] = "/tmp/mpp-state-test.XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  std::string path = std::string(dir) + "/state";
  FILE* out = fopen(path.c_str(), "w");
  REQUIRE(out != nullptr);
  REQUIRE(fwrite(std::string(100, 'x').data(), 1, 100, out) == 100);
  REQUIRE(fclose(out) == 0);
  CHECK(LoadStateFile(path.c_str(), buf, sizeof buf, &f, &why) == StateError::kTooLarge);
  unlink(path.c_str());
  rmdir(dir);
}

StateHeader Header(int64_t time_ms, int64_t stale_after_ms) {
  StateHeader h;
  h.version = 1;
  h.time_ms = time_ms;
  h.interval_ms = 1000;
  h.stale_after_ms = stale_after_ms;
  return h;
}

TEST_CASE("StateFreshness: exactly stale_after old is fresh, one ms more is stale") {
  const int64_t now = 1764172800250;
  int64_t age = 0;
  CHECK(StateFreshness(Header(now, 30000), now, &age) == Freshness::kFresh);
  CHECK(age == 0);
  CHECK(StateFreshness(Header(now - 30000, 30000), now, &age) == Freshness::kFresh);
  CHECK(age == 30000);
  CHECK(StateFreshness(Header(now - 30001, 30000), now, &age) == Freshness::kStale);
  CHECK(age == 30001);
}

TEST_CASE("StateFreshness: ahead of the clock by stale_after is fresh, one ms more is from the future") {
  const int64_t now = 1764172800250;
  int64_t age = 0;
  CHECK(StateFreshness(Header(now + 1, 30000), now, &age) == Freshness::kFresh);
  CHECK(age == -1);
  CHECK(StateFreshness(Header(now + 30000, 30000), now, &age) == Freshness::kFresh);
  CHECK(age == -30000);
  CHECK(StateFreshness(Header(now + 30001, 30000), now, &age) == Freshness::kFromFuture);
  CHECK(age == -30001);
}

TEST_CASE("StateFreshness: a time_ms at the ends of the range is down, without overflow") {
  // Under UBSan an overflowing now - time_ms would stop the test.
  int64_t age = 0;
  CHECK(StateFreshness(Header(INT64_MIN, 30000), 1764172800250, &age) == Freshness::kStale);
  CHECK(age == INT64_MAX);
  CHECK(StateFreshness(Header(INT64_MAX, 30000), -1764172800250, &age) == Freshness::kFromFuture);
  CHECK(age == -INT64_MAX);
  CHECK(StateFreshness(Header(INT64_MAX, 30000), -1, &age) == Freshness::kFromFuture);
  CHECK(age == -INT64_MAX);
  CHECK(StateFreshness(Header(INT64_MAX, INT64_MAX), 0, &age) == Freshness::kFresh);
  CHECK(age == -INT64_MAX);
}

TEST_CASE("StateFreshness: a parsed file is judged by the stale_after_ms of its own header") {
  std::string text = Example();
  StateFile f;
  const char* why;
  REQUIRE(ParseStateFile(text.data(), text.size(), &f, &why) == StateError::kOk);
  int64_t age = 0;
  CHECK(StateFreshness(f.header, 1764172800250 + 30000, &age) == Freshness::kFresh);
  CHECK(StateFreshness(f.header, 1764172800250 + 30001, &age) == Freshness::kStale);
  CHECK(StateFreshness(f.header, 1764172800250 - 30001, &age) == Freshness::kFromFuture);
}

}  // namespace
}  // namespace mpp
