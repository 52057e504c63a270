// mpp-check's logic on in-memory state files (checkers/checker.h), and the
// reader's fast paths it relies on (common/state_reader.h, common/address.h).
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <stdio.h>
#include <string.h>

#include <string>

#include "checkers/checker.h"
#include "checkers/message.h"
#include "common/address.h"
#include "common/state_reader.h"

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

TEST_CASE("mpp-check: a state file older than stale_after is down") {
  CHECK(Check({"--vs", "writer", "--node", "db1"}, State(kNow - 30001)).code == 1);
  CHECK(Check({"--vs", "writer", "--node", "db1"}, State(kNow - 30000)).code == 0);
}

TEST_CASE("mpp-check: a state file from the future beyond stale_after is down") {
  CHECK(Check({"--vs", "writer", "--node", "db1"}, State(kNow + 30001)).code == 1);
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

TEST_CASE("Message: numbers, seconds and untrusted text") {
  char buf[64];
  Message m(buf, sizeof buf);
  m.Add(int64_t{-12}).Add(" ").AddSeconds(1005).Add(" ").AddUntrusted("a\tb\x7f" "cdef", 6, 4);
  CHECK(std::string(m.data()) == "-12 1.005 a?b?...");
  Message small(buf, 4);
  small.Add("abcdef");
  CHECK(std::string(small.data()) == "abc");
}

TEST_CASE("ParseAddress: IPv4 is accepted exactly as inet_pton accepts it") {
  const char* samples[] = {"0.0.0.0",  "1.2.3.4",   "255.255.255.255", "256.1.1.1", "01.2.3.4",
                           "1.2.3",    "1.2.3.4.5", "1..3.4",          "1.2.3.",    " 1.2.3.4",
                           "1.2.3.04", "10.0.3.231", "1.2.3.4a",       "",          "00.0.0.0"};
  for (const char* ip : samples) {
    unsigned char want[4];
    bool ok = inet_pton(AF_INET, ip, want) == 1;
    std::string text = std::string(ip) + ":80";
    Address a;
    const char* why;
    CAPTURE(ip);
    CHECK(ParseAddress(text.data(), text.size(), &a, &why) == ok);
    if (ok) CHECK(memcmp(a.ip, want, 4) == 0);
  }
}

TEST_CASE("ParseAddress: a NUL inside an IPv6 address is refused") {
  const char text[] = "[::1\0x]:80";
  Address a;
  const char* why;
  CHECK_FALSE(ParseAddress(text, sizeof text - 1, &a, &why));
}

TEST_CASE("StateFile: checking only header and end accepts what the full check accepts") {
  std::string f = State();
  StateFile all, quick;
  const char* why;
  REQUIRE(ParseStateFile(f.data(), f.size(), &all, &why) == StateError::kOk);
  REQUIRE(ParseStateFile(f.data(), f.size(), &quick, &why, StateCheck::kHeaderAndEnd) == StateError::kOk);
  CHECK(all.body_end == quick.body_end);
}

TEST_CASE("StateFile: after a header-only check, a lookup still refuses a garbage line it passes") {
  std::string f = State();
  f.insert(f.find("vs writer"), "garbage\n");
  StateFile sf;
  const char* why;
  REQUIRE(ParseStateFile(f.data(), f.size(), &sf, &why, StateCheck::kHeaderAndEnd) == StateError::kOk);
  DestRecord d;
  CHECK_FALSE(FindDestByName(sf, "writer", "db1", &d, &why));
  CHECK(std::string(why) == "state file is corrupt (bad syntax)");
}

TEST_CASE("StateFile: a lookup by address finds the node in its other IPv6 spelling") {
  std::string f = State();
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

}  // namespace
}  // namespace mpp
