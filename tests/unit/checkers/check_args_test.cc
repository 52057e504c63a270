// The command line of mpp-check (checkers/check_args.h), as checkers/README.md
// and mpp-check(8) describe it: the four-argument form of ldirectord and
// keepalived, the named form, the state path, and one exact line per error.
#include <doctest/doctest.h>
#include <string.h>

#include <initializer_list>
#include <string>

#include "checkers/check_args.h"
#include "common/address.h"

namespace mpp {
namespace {

struct Parsed {
  bool ok;
  CheckArgs args;
  std::string err;
};

Parsed Parse(std::initializer_list<const char*> list, const char* env_state = nullptr) {
  const char* argv[16] = {"mpp-check"};
  int argc = 1;
  for (const char* a : list) argv[argc++] = a;
  Parsed p;
  char err[512] = "";
  p.ok = ParseCheckArgs(argc, argv, env_state, &p.args, err, sizeof err);
  p.err = err;
  return p;
}

// The canonical text of an address, to compare two spellings.
std::string Text(const Address& a) {
  char buf[kAddressTextMax];
  return FormatAddress(a, buf);
}

std::string Error(std::initializer_list<const char*> list) {
  Parsed p = Parse(list);
  CHECK_FALSE(p.ok);
  return p.err;
}

TEST_CASE("CheckArgs: the four-argument form gives both addresses and the default state file") {
  Parsed p = Parse({"192.0.2.10", "3306", "127.0.0.1", "3307"});
  REQUIRE(p.ok);
  CHECK_FALSE(p.args.by_name);
  CHECK(Text(p.args.vs_address) == "192.0.2.10:3306");
  CHECK(Text(p.args.node_address) == "127.0.0.1:3307");
  CHECK(std::string(p.args.state_path) == "/run/mpp/state");
  CHECK_FALSE(p.args.dynamic);
  CHECK_FALSE(p.args.nagios);
}

TEST_CASE("CheckArgs: the named form, with a space or an equals sign") {
  for (Parsed p : {Parse({"--vs", "writer", "--node", "db1"}), Parse({"--node=db1", "--vs=writer"})}) {
    REQUIRE(p.ok);
    CHECK(p.args.by_name);
    CHECK(std::string(p.args.vs_name) == "writer");
    CHECK(std::string(p.args.node_name) == "db1");
  }
}

TEST_CASE("CheckArgs: --state wins over $MPP_STATE, which wins over the default") {
  Parsed p = Parse({"--vs", "w", "--node", "n"}, "/env/state");
  REQUIRE(p.ok);
  CHECK(std::string(p.args.state_path) == "/env/state");
  p = Parse({"--state", "/opt/state", "--vs", "w", "--node", "n"}, "/env/state");
  REQUIRE(p.ok);
  CHECK(std::string(p.args.state_path) == "/opt/state");
  p = Parse({"--state=/opt/s2", "--vs", "w", "--node", "n"});
  REQUIRE(p.ok);
  CHECK(std::string(p.args.state_path) == "/opt/s2");
  p = Parse({"--vs", "w", "--node", "n"}, "");  // set but empty: the default
  REQUIRE(p.ok);
  CHECK(std::string(p.args.state_path) == "/run/mpp/state");
}

TEST_CASE("CheckArgs: a firewall mark with port 0 is the virtual server, never the real server") {
  Parsed p = Parse({"7", "0", "127.0.0.1", "3306"});
  REQUIRE(p.ok);
  CHECK(p.args.vs_address.kind == Address::kFwmark);
  CHECK(p.args.vs_address.fwmark == 7);
  CHECK(Text(p.args.vs_address) == "fwmark:7");
  CHECK(Error({"7", "3306", "127.0.0.1", "3306"}) == "virtual server '7 3306': a firewall mark goes with port 0");
  CHECK(Error({"7", "0", "9", "0"}) == "real server '9 0': not an IP address");
}

TEST_CASE("CheckArgs: IPv6 with and without brackets, in any spelling, is the same address") {
  Parsed bare = Parse({"2001:db8::10", "3306", "2001:DB8:0::1", "3306"});
  Parsed brackets = Parse({"[2001:db8::10]", "3306", "[2001:db8::0:1]", "3306"});
  REQUIRE(bare.ok);
  REQUIRE(brackets.ok);
  CHECK(Text(bare.args.vs_address) == "[2001:db8::10]:3306");
  CHECK(Text(bare.args.node_address) == "[2001:db8::1]:3306");
  CHECK(bare.args.vs_address == brackets.args.vs_address);
  CHECK(bare.args.node_address == brackets.args.node_address);
  CHECK(Error({"[2001:db8::10", "3306", "127.0.0.1", "3306"}) ==
        "virtual server '[2001:db8::10 3306': not an IP address or firewall mark");
}

TEST_CASE("CheckArgs: --dynamic and --nagios are flags of either form") {
  Parsed p = Parse({"--dynamic", "192.0.2.10", "3306", "127.0.0.1", "3306"});
  REQUIRE(p.ok);
  CHECK(p.args.dynamic);
  CHECK_FALSE(p.args.nagios);
  p = Parse({"--vs", "w", "--nagios", "--node", "n"});
  REQUIRE(p.ok);
  CHECK(p.args.nagios);
  CHECK_FALSE(p.args.dynamic);
}

TEST_CASE("CheckArgs: --help and --version win over anything else on the line") {
  Parsed p = Parse({"--help", "1.2.3.4"});
  REQUIRE(p.ok);
  CHECK(p.args.help);
  p = Parse({"--vs", "w", "-V"});
  REQUIRE(p.ok);
  CHECK(p.args.version);
  CHECK(Error({"--bogus", "--help"}) == "unknown option '--bogus'");
  CHECK(strncmp(kCheckUsage, "Usage: mpp-check ", 17) == 0);
}

TEST_CASE("CheckArgs: bad command lines give one exact line each") {
  CHECK(Error({}) == "expected VIP VPORT RIP RPORT or --vs NAME --node NAME (see --help)");
  CHECK(Error({"192.0.2.10", "3306", "127.0.0.1"}) ==
        "expected VIP VPORT RIP RPORT or --vs NAME --node NAME (see --help)");
  CHECK(Error({"192.0.2.10", "3306", "127.0.0.1", "3306", "5"}) == "too many arguments: unexpected '5'");
  CHECK(Error({"--bogus"}) == "unknown option '--bogus'");
  CHECK(Error({"-x"}) == "unknown option '-x'");
  CHECK(Error({"--vsx", "w"}) == "unknown option '--vsx'");
  CHECK(Error({"--vs"}) == "option needs a value: '--vs'");
  CHECK(Error({"--vs="}) == "option needs a value: '--vs'");
  CHECK(Error({"--node", "db1", "--state"}) == "option needs a value: '--state'");
  CHECK(Error({"--vs", "w"}) == "--vs and --node go together");
  CHECK(Error({"--node", "n"}) == "--vs and --node go together");
  CHECK(Error({"--vs", "w", "--node", "n", "1.2.3.4"}) ==
        "give either VIP VPORT RIP RPORT or --vs NAME --node NAME");
  CHECK(Error({"db.example", "3306", "127.0.0.1", "3306"}) ==
        "virtual server 'db.example 3306': not an IP address or firewall mark");
  CHECK(Error({"192.0.2.10", "70000", "127.0.0.1", "3306"}) ==
        "virtual server '192.0.2.10 70000': port must be a number from 1 to 65535");
  CHECK(Error({"192.0.2.10", "3306", "127.0.0.1", "0"}) ==
        "real server '127.0.0.1 0': port must be a number from 1 to 65535");
  CHECK(Error({"192.0.2.10", "3306", "127.0.0.1", "+3306"}) ==
        "real server '127.0.0.1 +3306': port must be a number from 1 to 65535");
}

TEST_CASE("CheckArgs: an argument in an error is quoted on one line and cut at 64 bytes") {
  CHECK(Error({"--bo\ngus"}) == "unknown option '--bo?gus'");
  std::string long_arg = "--" + std::string(100, 'a');
  CHECK(Error({long_arg.c_str()}) == "unknown option '--" + std::string(62, 'a') + "...'");
}

TEST_CASE("CheckArgs: after --, a dash starts an argument, not an option") {
  Parsed p = Parse({"--", "192.0.2.10", "3306", "127.0.0.1", "3306"});
  REQUIRE(p.ok);
  CHECK(Error({"--", "-1", "3306", "127.0.0.1", "3306"}) ==
        "virtual server '-1 3306': not an IP address or firewall mark");
}

TEST_CASE("CheckArgs: on an error, --nagios given before it is known") {
  Parsed p = Parse({"--nagios", "--bogus"});
  CHECK_FALSE(p.ok);
  CHECK(p.args.nagios);
}

}  // namespace
}  // namespace mpp
