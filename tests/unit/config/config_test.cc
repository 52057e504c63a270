// Config: the parser reports every error as "file:line: message".
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "config/config.h"
#include "config/credentials.h"
#include "tests/unit/test_util.h"

namespace mpp {
namespace {

const char kGood[] =
    "[global]\n"
    "interval = 200ms\n"
    "connect_timeout = 1s ; comment\n"
    "stale_after = 1m\n"
    "state_dir = /tmp/mpp\n"
    "\n"
    "[pool main]\n"
    "nodes = db1, db2, db3\n"
    "failover_at = CRITICAL\n"
    "\n"
    "[node db1]\n"
    "address = 127.0.0.1:3306\n"
    "[node db2]\n"
    "address = 127.0.0.1:3307\n"
    "weight = 50\n"
    "[node db3]\n"
    "address = [::1]:3308\n"
    "\n"
    "[vs writer]\n"
    "address = 192.0.2.10:3306\n"
    "pool = main\n"
    "role = rw\n"
    "[vs reader]\n"
    "address = fwmark:7\n"
    "pool = main\n"
    "role = ro\n";

std::vector<std::string> Errors(const std::string& text) {
  Config cfg;
  std::vector<std::string> errors;
  CHECK_FALSE(ParseConfig(text, "bad.ini", &cfg, &errors));
  return errors;
}

std::string WithGood(const std::string& extra) { return std::string(kGood) + extra; }

// 40 nodes, listed ten per line.
std::string PoolText() {
  std::string text = "[pool big]\n";
  for (int line = 0; line < 4; ++line) {
    text += "nodes = ";
    for (int i = 1; i <= 10; ++i) text += (i > 1 ? ", n" : "n") + std::to_string(line * 10 + i);
    text += "\n";
  }
  for (int i = 1; i <= 40; ++i)
    text += "[node n" + std::to_string(i) + "]\naddress = 127.0.0.1:" + std::to_string(4000 + i) + "\n";
  return text;
}

TEST_CASE("Config: a good file parses with its values and defaults") {
  Config cfg;
  std::vector<std::string> errors;
  REQUIRE(ParseConfig(kGood, "good.ini", &cfg, &errors));
  CHECK(errors.empty());
  CHECK(cfg.interval_ms == 200);
  CHECK(cfg.connect_timeout_ms == 1000);
  CHECK(cfg.stale_after_ms == 60000);
  CHECK(cfg.state_dir == "/tmp/mpp");
  CHECK(cfg.credentials == "/etc/mpp/client.cnf");
  REQUIRE(cfg.pools.size() == 1);
  CHECK(cfg.pools[0].failover_at == Status::kCritical);
  CHECK(cfg.pools[0].recover_after == 3);
  CHECK(cfg.pools[0].nodes == std::vector<int>{0, 1, 2});
  CHECK(cfg.nodes[1].weight == 50);
  CHECK(cfg.nodes[0].weight == 1);
  CHECK(cfg.nodes[2].address.kind == Address::kInet6);
  REQUIRE(cfg.vss.size() == 2);
  CHECK(cfg.vss[1].address.kind == Address::kFwmark);
  CHECK(cfg.vss[1].address.fwmark == 7);
  CHECK(cfg.vss[1].role == VsRole::kReadOnly);
  CHECK_FALSE(cfg.ipvs.enabled);
}

TEST_CASE("Config: an unknown section is an error with its line") {
  CHECK(Errors(WithGood("[nodes x]\naddress = 1.2.3.4:5\n")) ==
        std::vector<std::string>{"bad.ini:27: unknown section [nodes x]"});
}

TEST_CASE("Config: an unknown key is an error with its line") {
  CHECK(Errors(WithGood("[ipvs]\nondown = remove\n")) ==
        std::vector<std::string>{"bad.ini:28: unknown key 'ondown' in [ipvs]"});
}

TEST_CASE("Config: a bad duration is an error") {
  std::string text = kGood;
  text.replace(text.find("interval = 200ms"), 16, "interval = 30");
  CHECK(Errors(text) ==
        std::vector<std::string>{"bad.ini:2: interval: bad duration '30' (a whole number with ms, s or m)"});
  text = kGood;
  text.replace(text.find("interval = 200ms"), 16, "interval = 30sec");
  CHECK(Errors(text) ==
        std::vector<std::string>{"bad.ini:2: interval: bad duration '30sec' (a whole number with ms, s or m)"});
}

TEST_CASE("Config: a bad address is an error") {
  std::string text = kGood;
  text.replace(text.find("127.0.0.1:3307"), 14, "db2.example:3307");
  CHECK(Errors(text) ==
        std::vector<std::string>{
            "bad.ini:14: address: bad address 'db2.example:3307': not an IPv4 address (host names are not "
            "accepted)"});
  text = kGood;
  text.replace(text.find("127.0.0.1:3307"), 14, "127.0.0.1:70000");
  CHECK(Errors(text) == std::vector<std::string>{
                            "bad.ini:14: address: bad address '127.0.0.1:70000': port must be a number from 1 to 65535"});
  text = kGood;
  text.replace(text.find("[::1]:3308"), 10, "::1:3308");
  CHECK(Errors(text) == std::vector<std::string>{
                            "bad.ini:17: address: bad address '::1:3308': an IPv6 address needs brackets: [IPv6]:port"});
}

TEST_CASE("Config: a node in two pools is an error") {
  CHECK(Errors(WithGood("[pool other]\nnodes = db2\n")) ==
        std::vector<std::string>{"bad.ini:28: node 'db2' is already in pool 'main' (line 8)",
                                 "bad.ini:27: pool 'other' has no valid nodes"});
}

TEST_CASE("Config: a pool without nodes is an error") {
  CHECK(Errors(WithGood("[pool empty]\nfailback = yes\n")) ==
        std::vector<std::string>{"bad.ini:27: pool 'empty' has no nodes"});
}

TEST_CASE("Config: a vs naming an unknown pool is an error") {
  CHECK(Errors(WithGood("[vs x]\naddress = 192.0.2.1:1\npool = nope\nrole = ro\n")) ==
        std::vector<std::string>{"bad.ini:29: pool: unknown pool 'nope'"});
}

TEST_CASE("Config: two nodes with one address is an error") {
  std::string text = kGood;
  text.replace(text.find("127.0.0.1:3307"), 14, "127.0.0.1:3306");
  CHECK(Errors(text) == std::vector<std::string>{
                            "bad.ini:13: node 'db2' has the same address as node 'db1' (127.0.0.1:3306)"});
}

TEST_CASE("Config: every error is reported, not just the first") {
  std::string text =
      "[global]\n"
      "interval = soon\n"
      "colour = blue\n"
      "[pool p]\n"
      "nodes = a\n"
      "[node a]\n"
      "address = 10.0.0.1\n";
  CHECK(Errors(text) == std::vector<std::string>{
                            "bad.ini:2: interval: bad duration 'soon' (a whole number with ms, s or m)",
                            "bad.ini:3: unknown key 'colour' in [global]",
                            "bad.ini:7: address: bad address '10.0.0.1': expected IPv4:port, [IPv6]:port or fwmark:N",
                        });
}

TEST_CASE("Config: syntax errors name their line") {
  CHECK(Errors(WithGood("just words\n[vs\n")) ==
        std::vector<std::string>{"bad.ini:27: expected 'key = value' or '[section]'",
                                 "bad.ini:28: malformed section header (expected [section])"});
  CHECK(Errors(WithGood("[pool main]\nnodes = db1\n")) ==
        std::vector<std::string>{"bad.ini:27: duplicate section [pool main] (first at line 7)"});
  CHECK(Errors(WithGood("[ipvs]\non_down = remove\non_down = quiesce\n")) ==
        std::vector<std::string>{"bad.ini:29: duplicate key 'on_down' (first at line 28)"});
}

TEST_CASE("Config: values are parsed strictly") {
  CHECK(Errors(WithGood("[pool q]\nnodes = \nrecover_after = 3x\n")) ==
        std::vector<std::string>{"bad.ini:29: recover_after: '3x' is not a whole number from 1 to 1000",
                                 "bad.ini:27: pool 'q' has no valid nodes"});
  std::string text = kGood;
  text.replace(text.find("failover_at = CRITICAL"), 22, "failover_at = warn");
  CHECK(Errors(text) ==
        std::vector<std::string>{"bad.ini:9: failover_at: 'warn' is not one of INFO, WARN, CRITICAL, FAIL"});
}

TEST_CASE("Config: a long nodes list may go on over several nodes lines") {
  std::string text = PoolText();
  Config cfg;
  std::vector<std::string> errors;
  REQUIRE(ParseConfig(text, "big.ini", &cfg, &errors));
  CHECK(cfg.pools[0].nodes.size() == 40);
  CHECK(cfg.nodes[static_cast<size_t>(cfg.pools[0].nodes[39])].name == "n40");
}

TEST_CASE("Config: a node that is in no pool is an error") {
  CHECK(Errors(WithGood("[node lost]\naddress = 127.0.0.1:4000\n")) ==
        std::vector<std::string>{"bad.ini:27: node 'lost' is in no pool"});
}

TEST_CASE("Credentials: a password in a group- or world-readable file is refused") {
  std::vector<std::string> errors;
  CheckCredentialsText("[client]\nuser = mpp\npassword = s3cret\n", "client.cnf", 0644, &errors);
  CHECK(errors == std::vector<std::string>{
                      "client.cnf:3: password in a file readable by group or others (mode 0644): chmod 600 client.cnf"});
  errors.clear();
  CheckCredentialsText("[client]\npassword=x\n", "client.cnf", 0640, &errors);
  CHECK(errors.size() == 1);
  errors.clear();
  CheckCredentialsText("[client]\nuser = mpp\npassword = s3cret\n", "client.cnf", 0600, &errors);
  CHECK(errors.empty());
  CheckCredentialsText("[client]\nuser = mpp\n", "client.cnf", 0644, &errors);
  CHECK(errors.empty());
}

TEST_CASE("Credentials: LoadConfig refuses a readable password file") {
  char dir[] = "/tmp/mpp-config-test.XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  std::string cnf = std::string(dir) + "/client.cnf";
  std::string ini = std::string(dir) + "/mppstate.ini";
  std::ofstream(cnf) << "[client]\nuser=mpp\npassword=secret\n";
  chmod(cnf.c_str(), 0644);
  std::ofstream(ini) << "[global]\ncredentials = " << cnf
                     << "\n[pool p]\nnodes = a\n[node a]\naddress = 127.0.0.1:3306\n";
  Config cfg;
  std::vector<std::string> errors;
  CHECK_FALSE(LoadConfig(ini, &cfg, &errors));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == cnf + ":3: password in a file readable by group or others (mode 0644): chmod 600 " + cnf);
  chmod(cnf.c_str(), 0600);
  errors.clear();
  CHECK(LoadConfig(ini, &cfg, &errors));
  CHECK(errors.empty());
  unlink(cnf.c_str());
  unlink(ini.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace mpp
