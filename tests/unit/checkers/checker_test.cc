// mpp-check's logic on in-memory state files (checkers/checker.h).
#include <doctest/doctest.h>

#include <string>

#include "checkers/checker.h"

namespace mpp {
namespace {

constexpr int64_t kNow = 1764172800000;

std::string State(int64_t time_ms = kNow) {
  return "mpp-state 1\npid 1\nseq 1\ntime_ms " + std::to_string(time_ms) +
         "\ninterval_ms 1000\nstale_after_ms 30000\n"
         "pool main ok -\n"
         "node main db1 PRIMARY ACTIVE OK 127.0.0.1:3306 - 0 -\n"
         "node main db2 SECONDARY STANDBY OK 127.0.0.1:3307 0 0 -\n"
         "vs writer rw main 192.0.2.10:3306\n"
         "dest writer db1 127.0.0.1:3306 up 7\n"
         "dest writer db2 127.0.0.1:3307 down 0\n"
         "end\n";
}

struct Run {
  int code;
  std::string text;
};

Run Check(std::initializer_list<const char*> args, const std::string& file) {
  const char* argv[16] = {"mpp-check"};
  int argc = 1;
  for (const char* a : args) argv[argc++] = a;
  StateInput in;
  in.data = file.data();
  in.len = file.size();
  static CheckOutput out;
  RunChecker(argc, argv, nullptr, kNow, in, &out);
  return {out.exit_code, std::string(out.text, out.len)};
}

TEST_CASE("mpp-check: an up real server exits 0 and prints nothing") {
  Run r = Check({"192.0.2.10", "3306", "127.0.0.1", "3306"}, State());
  CHECK(r.code == 0);
  CHECK(r.text.empty());
}

TEST_CASE("mpp-check: a down real server exits 1 with one line naming it") {
  Run r = Check({"--vs", "writer", "--node", "db2"}, State());
  CHECK(r.code == 1);
  CHECK(r.text == "mpp-check: writer/db2 is down\n");
}

TEST_CASE("mpp-check: --dynamic exits 2 plus the weight") {
  CHECK(Check({"--dynamic", "--vs", "writer", "--node", "db1"}, State()).code == 9);
}

TEST_CASE("mpp-check: --dynamic clamps the weight to 253, so the exit status stays one byte") {
  std::string heavy = State();
  heavy.replace(heavy.find(" up 7\n"), 6, " up 300\n");
  CHECK(Check({"--dynamic", "--vs", "writer", "--node", "db1"}, heavy).code == 255);
  heavy.replace(heavy.find(" up 300\n"), 8, " up 252\n");
  CHECK(Check({"--dynamic", "--vs", "writer", "--node", "db1"}, heavy).code == 254);
  CHECK(Check({"--vs", "writer", "--node", "db1"}, heavy).code == 0);
}

TEST_CASE("mpp-check: a state file older than stale_after is down") {
  CHECK(Check({"--vs", "writer", "--node", "db1"}, State(kNow - 30001)).code == 1);
  CHECK(Check({"--vs", "writer", "--node", "db1"}, State(kNow - 30000)).code == 0);
}

TEST_CASE("mpp-check: a state file from the future beyond stale_after is down") {
  CHECK(Check({"--vs", "writer", "--node", "db1"}, State(kNow + 30001)).code == 1);
}

TEST_CASE("mpp-check: a stale state file and one from the future say which they are") {
  Run r = Check({"--vs", "writer", "--node", "db1"}, State(kNow - 30001));
  CHECK(r.text == "mpp-check: /run/mpp/state: state file is stale (written 30001 ms ago, stale_after_ms 30000)\n");
  r = Check({"--vs", "writer", "--node", "db1"}, State(kNow + 30001));
  CHECK(r.text ==
        "mpp-check: /run/mpp/state: state file is from the future (30001 ms ahead, stale_after_ms 30000)\n");
  r = Check({"--nagios", "--vs", "writer", "--node", "db1"}, State(kNow - 30001));
  CHECK(r.code == 2);
  CHECK(r.text ==
        "MPP CRITICAL - /run/mpp/state: state file is stale (written 30001 ms ago, stale_after_ms 30000)\n");
  CHECK(Check({"--vs", "writer", "--node", "db1"}, State(kNow + 30000)).code == 0);
}

TEST_CASE("mpp-check: a time_ms at either end of the range is down, without overflow") {
  // Under UBSan an overflowing age would stop the test.
  for (const char* t : {"-9223372036854775808", "9223372036854775807"}) {
    std::string f = State();
    f.replace(f.find(std::to_string(kNow)), std::to_string(kNow).size(), t);
    CAPTURE(t);
    CHECK(Check({"--vs", "writer", "--node", "db1"}, f).code == 1);
    CHECK(Check({"--nagios", "--vs", "writer", "--node", "db1"}, f).code == 2);
  }
}

TEST_CASE("mpp-check: every proper prefix of a valid file is down") {
  std::string full = State();
  for (size_t n = 0; n < full.size(); ++n)
    CHECK(Check({"--vs", "writer", "--node", "db1"}, full.substr(0, n)).code == 1);
}

TEST_CASE("mpp-check: a newline in an argument does not split the message") {
  Run r = Check({"--vs", "wri\nter", "--node", "db1"}, State());
  CHECK(r.code == 1);
  CHECK(r.text == "mpp-check: wri?ter/db1: no such virtual server in the state file\n");
}

TEST_CASE("mpp-check: --nagios on an up writer is OK with perfdata") {
  Run r = Check({"--nagios", "--vs", "writer", "--node", "db1"}, State(kNow - 1500));
  CHECK(r.code == 0);
  CHECK(r.text ==
        "MPP OK - writer/db1 up, weight 7: ACTIVE/OK, lag - | up=1 weight=7 state=1;;;0;4 "
        "status=0;;;0;4 lag=U age=1.500s;;30.000;0\n");
}

}  // namespace
}  // namespace mpp
