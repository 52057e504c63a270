// Config: the parser reports every error as "file:line: message".
#include <doctest/doctest.h>

#include "common/paths.h"
#include "config/config.h"
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

TEST_CASE("Config: the watch connections are on unless switched off") {
  Config cfg;
  std::vector<std::string> errors;
  REQUIRE(ParseConfig(kGood, "good.ini", &cfg, &errors));
  CHECK(cfg.watch);
  std::string text = kGood;
  text.replace(text.find("interval = 200ms"), 16, "watch = no");
  REQUIRE(ParseConfig(text, "good.ini", &cfg, &errors));
  CHECK_FALSE(cfg.watch);
  text.replace(text.find("watch = no"), 10, "watch = 2");
  CHECK(Errors(text).size() == 1);
  CHECK(Errors(text)[0].rfind("bad.ini:2: watch: ", 0) == 0);
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
        std::vector<std::string>{"bad.ini:2: interval: bad duration '30' (a whole number with ms, s, m or h)"});
  text = kGood;
  text.replace(text.find("interval = 200ms"), 16, "interval = 30sec");
  CHECK(Errors(text) ==
        std::vector<std::string>{"bad.ini:2: interval: bad duration '30sec' (a whole number with ms, s, m or h)"});
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
                            "bad.ini:2: interval: bad duration 'soon' (a whole number with ms, s, m or h)",
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

TEST_CASE("Config: tls takes off, preferred, required or verify_identity") {
  Config cfg;
  std::vector<std::string> errors;
  REQUIRE(ParseConfig(kGood, "good.ini", &cfg, &errors));
  CHECK(cfg.tls == TlsMode::kPreferred);
  const std::pair<const char*, TlsMode> modes[] = {{"off", TlsMode::kOff},
                                                   {"preferred", TlsMode::kPreferred},
                                                   {"required", TlsMode::kRequired},
                                                   {"verify_identity", TlsMode::kVerifyIdentity}};
  for (const auto& m : modes) {
    std::string text = kGood;
    text.replace(text.find("[global]\n"), 9, std::string("[global]\ntls = ") + m.first + "\n");
    REQUIRE(ParseConfig(text, "good.ini", &cfg, &errors));
    CHECK(cfg.tls == m.second);
  }
  std::string text = kGood;
  text.replace(text.find("[global]\n"), 9, "[global]\ntls = yes\n");
  CHECK(Errors(text) == std::vector<std::string>{
                            "bad.ini:2: tls: 'yes' is not off, preferred, required or verify_identity"});
}

TEST_CASE("Config: names '.', '..' and '.x' are refused") {
  CHECK(Errors(WithGood("[pool .]\nnodes = db1\n")) ==
        std::vector<std::string>{
            "bad.ini:27: [pool .]: a pool name must not begin with '.' (names become file names in state_dir)"});
  CHECK(Errors(WithGood("[node ..]\naddress = 127.0.0.1:4000\n")) ==
        std::vector<std::string>{
            "bad.ini:27: [node ..]: a node name must not begin with '.' (names become file names in state_dir)"});
  CHECK(Errors(WithGood("[vs .hidden]\naddress = 192.0.2.1:1\npool = main\nrole = ro\n")) ==
        std::vector<std::string>{
            "bad.ini:27: [vs .hidden]: a vs name must not begin with '.' (names become file names in state_dir)"});
  // A dot inside a name is fine.
  Config cfg;
  std::vector<std::string> errors;
  CHECK(ParseConfig(WithGood("[vs a.b..c.]\naddress = 192.0.2.1:1\npool = main\nrole = ro\n"), "good.ini", &cfg,
                    &errors));
  CHECK(errors.empty());
}

TEST_CASE("Config: [vs ..] with [node state] is refused (its track file would be the state file)") {
  // STATE_DIR/track/../state is STATE_DIR/state.
  const char text[] =
      "[global]\n"
      "state_dir = /run/mpp\n"
      "[pool main]\n"
      "nodes = state\n"
      "[node state]\n"
      "address = 127.0.0.1:3306\n"
      "[vs ..]\n"
      "address = 192.0.2.10:3306\n"
      "pool = main\n"
      "role = rw\n";
  CHECK(Errors(text) == std::vector<std::string>{
                            "bad.ini:7: [vs ..]: a vs name must not begin with '.' (names become file names in "
                            "state_dir)"});
}

// A small file with every section, and "KEY = VALUE" added to section (e.g.
// "[global]\n").
std::string WithKey(const std::string& section, const std::string& key_value) {
  std::string text =
      "[global]\n"
      "[pool main]\n"
      "nodes = db1\n"
      "[node db1]\n"
      "address = 127.0.0.1:3306\n"
      "[vs writer]\n"
      "address = 192.0.2.10:3306\n"
      "pool = main\n"
      "role = rw\n"
      "[ipvs]\n";
  size_t at = text.find(section);
  REQUIRE(at != std::string::npos);
  text.insert(at + section.size(), key_value + "\n");
  return text;
}

TEST_CASE("Config: data_dir is /var/lib/mpp unless set") {
  Config cfg;
  std::vector<std::string> errors;
  REQUIRE(ParseConfig(kGood, "good.ini", &cfg, &errors));
  CHECK(cfg.data_dir == "/var/lib/mpp");
  CHECK(cfg.data_dir == kDefaultDataDir);
  REQUIRE(ParseConfig(WithKey("[global]\n", "data_dir = /srv/mpp/main"), "good.ini", &cfg, &errors));
  CHECK(errors.empty());
  CHECK(cfg.data_dir == "/srv/mpp/main");
  CHECK(PoolMemoryPath(cfg.data_dir) == "/srv/mpp/main/pool-memory");
  CHECK(cfg.state_dir == "/run/mpp");
}

TEST_CASE("Config: a data_dir that is not an absolute path is refused with its line") {
  CHECK(Errors(WithKey("[global]\n", "data_dir = var/lib/mpp")) ==
        std::vector<std::string>{"bad.ini:2: data_dir: needs an absolute path"});
  CHECK(Errors(WithKey("[global]\n", "data_dir = ./mpp")) ==
        std::vector<std::string>{"bad.ini:2: data_dir: needs an absolute path"});
  CHECK(Errors(WithKey("[global]\n", "data_dir =")) ==
        std::vector<std::string>{"bad.ini:2: data_dir: needs an absolute path"});
  CHECK(Errors(WithKey("[global]\n", "data_dir = /var/lib/mpp\ndata_dir = /srv/mpp")) ==
        std::vector<std::string>{"bad.ini:3: duplicate key 'data_dir' (first at line 2)"});
  CHECK(Errors(WithKey("[pool main]\n", "data_dir = /var/lib/mpp")) ==
        std::vector<std::string>{"bad.ini:3: unknown key 'data_dir' in [pool main]"});
}

TEST_CASE("Config: data_dir may be state_dir: the pool memory has a name of its own there") {
  Config cfg;
  std::vector<std::string> errors;
  REQUIRE(ParseConfig(WithKey("[global]\n", "state_dir = /srv/mpp\ndata_dir = /srv/mpp"), "good.ini", &cfg,
                      &errors));
  CHECK(errors.empty());
  CHECK(cfg.data_dir == cfg.state_dir);
  const std::string memory = PoolMemoryPath(cfg.data_dir);
  CHECK(memory != StateFilePath(cfg.state_dir));
  CHECK(memory != ControlSocketPath(cfg.state_dir));
  CHECK(memory != LockFilePath(cfg.state_dir));
  // Track files are TRACK_DIR/VS/NODE: never a file directly in state_dir.
  CHECK(memory != TrackDirPath(cfg.state_dir));
}

TEST_CASE("Config: a duration of any length is refused above its bound, never overflows") {
  CHECK(Errors(WithKey("[global]\n", "interval = 40000m")) ==
        std::vector<std::string>{"bad.ini:2: interval: must be at most 1h"});
  CHECK(Errors(WithKey("[global]\n", "interval = 99999999999999999999s")) ==
        std::vector<std::string>{"bad.ini:2: interval: must be at most 1h"});
  CHECK(Errors(WithKey("[global]\n", "interval = 999999999999999999999999999999999999999999h")) ==
        std::vector<std::string>{"bad.ini:2: interval: must be at most 1h"});
  CHECK(Errors(WithKey("[global]\n", "interval = -1s")) ==
        std::vector<std::string>{"bad.ini:2: interval: bad duration '-1s' (a whole number with ms, s, m or h)"});
}

TEST_CASE("Config: every duration has a lower and an upper bound") {
  struct Bound {
    const char* section;
    const char* key;
    const char* min;       // the smallest value accepted
    const char* below;     // the next smaller one, or nullptr when min is 0
    const char* max;       // the largest value accepted
    const char* above;     // the next larger one
    const char* min_text;  // as messages write the bounds
    const char* max_text;
  };
  const Bound bounds[] = {
      {"[global]\n", "interval", "50ms", "49ms", "60m", "3600001ms", "50ms", "1h"},
      {"[global]\n", "connect_timeout", "10ms", "9ms", "60s", "60001ms", "10ms", "1m"},
      {"[global]\n", "query_timeout", "10ms", "9ms", "1m", "60001ms", "10ms", "1m"},
      {"[global]\n", "stale_after", "100ms", "99ms", "24h", "1441m", "100ms", "24h"},
      {"[global]\n", "switchover_timeout", "100ms", "99ms", "10m", "601s", "100ms", "10m"},
      {"[global]\n", "notify_timeout", "100ms", "99ms", "10m", "601s", "100ms", "10m"},
      {"[pool main]\n", "max_lag", "0s", nullptr, "24h", "25h", "", "24h"},
      {"[pool main]\n", "max_promote_lag", "0s", nullptr, "24h", "86400001ms", "", "24h"},
      {"[pool main]\n", "promote_wait", "0s", nullptr, "10m", "11m", "", "10m"},
      {"[pool main]\n", "election_timeout", "0ms", nullptr, "600s", "600001ms", "", "10m"},
      {"[ipvs]\n", "reconcile_interval", "100ms", "99ms", "1h", "61m", "100ms", "1h"},
  };
  for (const Bound& b : bounds) {
    std::string key = b.key;
    CAPTURE(key);
    Config cfg;
    std::vector<std::string> errors;
    // stale_after must stay above interval (1s by default, at least 50ms).
    std::string min_text = WithKey(b.section, key + " = " + b.min);
    if (key == "stale_after") min_text = WithKey("[global]\n", "stale_after = 100ms\ninterval = 50ms");
    CHECK(ParseConfig(min_text, "good.ini", &cfg, &errors));
    std::string max_text = WithKey(b.section, key + " = " + b.max);
    if (key == "interval") max_text = WithKey("[global]\n", "interval = 60m\nstale_after = 24h");
    CHECK(ParseConfig(max_text, "good.ini", &cfg, &errors));
    CHECK(errors.empty());
    std::vector<std::string> above = Errors(WithKey(b.section, key + " = " + b.above));
    REQUIRE(above.size() >= 1);
    CHECK(above[0].substr(above[0].find(": ") + 2) == key + ": must be at most " + b.max_text);
    if (b.below != nullptr) {
      std::vector<std::string> below = Errors(WithKey(b.section, key + " = " + b.below));
      REQUIRE(below.size() >= 1);
      CHECK(below[0].substr(below[0].find(": ") + 2) == key + ": must be at least " + b.min_text);
    }
  }
}

TEST_CASE("Config: whole numbers are parsed strictly at their bounds") {
  CHECK(Errors(WithKey("[node db1]\n", "weight = 65536")) ==
        std::vector<std::string>{"bad.ini:5: weight: '65536' is not a whole number from 0 to 65535"});
  CHECK(Errors(WithKey("[node db1]\n", "weight = +5")) ==
        std::vector<std::string>{"bad.ini:5: weight: '+5' is not a whole number from 0 to 65535"});
  CHECK(Errors(WithKey("[node db1]\n", "weight = -0")) ==
        std::vector<std::string>{"bad.ini:5: weight: '-0' is not a whole number from 0 to 65535"});
  CHECK(Errors(WithKey("[vs writer]\n", "upper_threshold = 99999999999999999999")) ==
        std::vector<std::string>{
            "bad.ini:7: upper_threshold: '99999999999999999999' is not a whole number from 0 to 4294967295"});
  Config cfg;
  std::vector<std::string> errors;
  REQUIRE(ParseConfig(WithKey("[vs writer]\n", "upper_threshold = 4294967295"), "good.ini", &cfg, &errors));
  CHECK(cfg.vss[0].upper_threshold == 4294967295u);
}

// The WithKey file with global_lines in [global] and pool_lines in
// [pool main]: [global] is line 1, then global_lines, then [pool main].
std::string ReplicationText(const std::string& global_lines, const std::string& pool_lines) {
  std::string text = WithKey("[pool main]\n", pool_lines);
  if (!global_lines.empty()) text.insert(std::string("[global]\n").size(), global_lines + "\n");
  return text;
}

const char kReplicationCredentials[] = "replication_credentials = /etc/mpp/replication.cnf";

TEST_CASE("Config: manage_replication, rejoin and replication_credentials are off unless set") {
  Config cfg;
  std::vector<std::string> errors;
  REQUIRE(ParseConfig(kGood, "good.ini", &cfg, &errors));
  CHECK(cfg.replication_credentials.empty());
  CHECK_FALSE(cfg.pools[0].manage_replication);
  CHECK(cfg.pools[0].rejoin == RejoinMode::kManual);
  CHECK_FALSE(cfg.pools[0].manage_read_only);
  // Without manage_replication, replication_credentials is allowed and unused.
  REQUIRE(ParseConfig(ReplicationText(kReplicationCredentials, "manage_read_only = yes\nrejoin = manual"),
                      "good.ini", &cfg, &errors));
  CHECK(errors.empty());
  CHECK(cfg.replication_credentials == "/etc/mpp/replication.cnf");
  CHECK_FALSE(cfg.pools[0].manage_replication);
  CHECK(cfg.pools[0].manage_read_only);
  CHECK(cfg.pools[0].rejoin == RejoinMode::kManual);
}

TEST_CASE("Config: manage_replication = yes implies manage_read_only = yes") {
  Config cfg;
  std::vector<std::string> errors;
  REQUIRE(ParseConfig(ReplicationText(kReplicationCredentials, "manage_replication = yes"), "good.ini", &cfg,
                      &errors));
  CHECK(errors.empty());
  CHECK(cfg.pools[0].manage_replication);
  CHECK(cfg.pools[0].manage_read_only);
  CHECK(cfg.pools[0].rejoin == RejoinMode::kManual);
  CHECK(cfg.replication_credentials == "/etc/mpp/replication.cnf");
  // Saying it too is no contradiction.
  REQUIRE(ParseConfig(ReplicationText(kReplicationCredentials,
                                      "manage_read_only = on\nmanage_replication = true\nrejoin = auto"),
                      "good.ini", &cfg, &errors));
  CHECK(errors.empty());
  CHECK(cfg.pools[0].manage_read_only);
  CHECK(cfg.pools[0].rejoin == RejoinMode::kAuto);
  // manage_replication = no leaves manage_read_only as it is.
  REQUIRE(ParseConfig(ReplicationText("", "manage_replication = no"), "good.ini", &cfg, &errors));
  CHECK_FALSE(cfg.pools[0].manage_replication);
  CHECK_FALSE(cfg.pools[0].manage_read_only);
}

TEST_CASE("Config: manage_read_only = no with manage_replication = yes is refused at the manage_read_only line") {
  const std::string why = "manage_read_only = no contradicts manage_replication = yes, which needs fencing";
  CHECK(Errors(ReplicationText(kReplicationCredentials, "manage_read_only = no\nmanage_replication = yes")) ==
        std::vector<std::string>{"bad.ini:4: " + why});
  // Whatever the order of the two keys.
  CHECK(Errors(ReplicationText(kReplicationCredentials, "manage_replication = yes\nfailback = no\n"
                                                        "manage_read_only = off")) ==
        std::vector<std::string>{"bad.ini:6: " + why});
}

TEST_CASE("Config: rejoin takes auto or manual, and auto needs manage_replication") {
  CHECK(Errors(ReplicationText(kReplicationCredentials, "manage_replication = yes\nrejoin = always")) ==
        std::vector<std::string>{"bad.ini:5: rejoin: 'always' is not auto or manual"});
  CHECK(Errors(ReplicationText(kReplicationCredentials, "rejoin = Auto")) ==
        std::vector<std::string>{"bad.ini:4: rejoin: 'Auto' is not auto or manual"});
  CHECK(Errors(ReplicationText(kReplicationCredentials, "rejoin = auto")) ==
        std::vector<std::string>{"bad.ini:4: rejoin = auto needs manage_replication = yes"});
  CHECK(Errors(ReplicationText("", "manage_read_only = yes\nrejoin = auto\nmanage_replication = no")) ==
        std::vector<std::string>{"bad.ini:4: rejoin = auto needs manage_replication = yes"});
  // A bad manage_replication is reported once, not again through rejoin.
  CHECK(Errors(ReplicationText(kReplicationCredentials, "manage_replication = maybe\nrejoin = auto")) ==
        std::vector<std::string>{"bad.ini:4: manage_replication: 'maybe' is not yes or no"});
}

TEST_CASE("Config: manage_replication needs replication_credentials, reported at each pool's key") {
  const std::string why = "manage_replication = yes needs [global] replication_credentials (the login replicas use)";
  CHECK(Errors(ReplicationText("", "manage_replication = yes")) == std::vector<std::string>{"bad.ini:3: " + why});
  CHECK(Errors(ReplicationText("admin_credentials = /etc/mpp/admin.cnf",
                               "failback = no\nmanage_replication = yes\nrejoin = auto") +
               "[pool other]\nnodes = db2\nmanage_replication = on\n[node db2]\naddress = 127.0.0.1:3307\n") ==
        std::vector<std::string>{"bad.ini:5: " + why, "bad.ini:17: " + why});
  // A replication_credentials that is set but wrong is reported at its own line only.
  CHECK(Errors(ReplicationText("replication_credentials = replication.cnf", "manage_replication = yes")) ==
        std::vector<std::string>{"bad.ini:2: replication_credentials: needs an absolute path"});
  CHECK(Errors(ReplicationText("", "replication_credentials = /etc/mpp/replication.cnf")) ==
        std::vector<std::string>{"bad.ini:3: unknown key 'replication_credentials' in [pool main]"});
}

TEST_CASE("Config: semi_sync is off unless set, and needs manage_replication") {
  Config cfg;
  std::vector<std::string> errors;
  REQUIRE(ParseConfig(kGood, "good.ini", &cfg, &errors));
  CHECK_FALSE(cfg.pools[0].semi_sync);
  REQUIRE(ParseConfig(ReplicationText(kReplicationCredentials, "manage_replication = yes\nsemi_sync = yes"),
                      "good.ini", &cfg, &errors));
  CHECK(errors.empty());
  CHECK(cfg.pools[0].semi_sync);
  REQUIRE(ParseConfig(ReplicationText("", "semi_sync = no"), "good.ini", &cfg, &errors));
  CHECK_FALSE(cfg.pools[0].semi_sync);
  CHECK(Errors(ReplicationText(kReplicationCredentials, "semi_sync = yes")) ==
        std::vector<std::string>{"bad.ini:4: semi_sync = yes needs manage_replication = yes"});
  CHECK(Errors(ReplicationText(kReplicationCredentials, "manage_replication = yes\nsemi_sync = always")) ==
        std::vector<std::string>{"bad.ini:5: semi_sync: 'always' is not yes or no"});
  // A bad manage_replication is reported once, not again through semi_sync.
  CHECK(Errors(ReplicationText(kReplicationCredentials, "manage_replication = maybe\nsemi_sync = yes")) ==
        std::vector<std::string>{"bad.ini:4: manage_replication: 'maybe' is not yes or no"});
}

// A pool of three nodes with the given [pool] keys and [node] keys of each.
std::string PromotionText(const std::string& pool, const std::string& db1, const std::string& db2,
                          const std::string& db3) {
  return "[pool main]\nnodes = db1, db2, db3\n" + pool + "[node db1]\naddress = 127.0.0.1:3306\n" + db1 +
         "[node db2]\naddress = 127.0.0.1:3307\n" + db2 + "[node db3]\naddress = 127.0.0.1:3308\n" + db3;
}

TEST_CASE("Config: promote is yes unless set; zones and failover_zones") {
  Config cfg;
  std::vector<std::string> errors;
  REQUIRE(ParseConfig(PromotionText("failover_zones = same\n", "zone = east\n", "zone = east\npromote = no\n",
                                    "zone = west\n"),
                      "good.ini", &cfg, &errors));
  CHECK(cfg.nodes[0].promote);
  CHECK_FALSE(cfg.nodes[1].promote);
  CHECK(cfg.nodes[1].zone == "east");
  CHECK(cfg.nodes[2].zone == "west");
  CHECK(cfg.pools[0].failover_same_zone);
  REQUIRE(ParseConfig(PromotionText("", "", "", ""), "good.ini", &cfg, &errors));
  CHECK_FALSE(cfg.pools[0].failover_same_zone);
  CHECK(cfg.nodes[2].zone.empty());
  REQUIRE(ParseConfig(PromotionText("failover_zones = any\n", "", "", ""), "good.ini", &cfg, &errors));
  CHECK_FALSE(cfg.pools[0].failover_same_zone);
}

TEST_CASE("Config: bad promotion rules are errors with their lines") {
  CHECK(Errors(PromotionText("", "promote = never\n", "", "")) ==
        std::vector<std::string>{"bad.ini:5: promote: 'never' is not yes or no"});
  CHECK(Errors(PromotionText("", "zone = east side\n", "", "")) ==
        std::vector<std::string>{"bad.ini:5: zone: 'east side' is not letters, digits, '_', '-' or '.'"});
  CHECK(Errors(PromotionText("failover_zones = near\n", "", "", "")) ==
        std::vector<std::string>{"bad.ini:3: failover_zones: 'near' is not same or any"});
  // No node may become the writer.
  CHECK(Errors(PromotionText("", "promote = no\n", "promote = no\n", "promote = no\n")) ==
        std::vector<std::string>{"bad.ini:1: pool 'main': no node may be promoted (every node has promote = no)"});
  // failback returns to a PRIMARY that may not be the writer.
  CHECK(Errors(PromotionText("failback = yes\n", "promote = no\n", "", "")) ==
        std::vector<std::string>{"bad.ini:3: failback = yes returns to the PRIMARY db1, which has promote = no"});
  // A failover that stays in the failed writer's zone needs every zone.
  CHECK(Errors(PromotionText("failover_zones = same\n", "zone = east\n", "", "")) ==
        std::vector<std::string>{"bad.ini:3: failover_zones = same needs a zone on every node; without one: db2, db3"});
}

TEST_CASE("Config: rewind is off unless set, and needs semi_sync") {
  Config cfg;
  std::vector<std::string> errors;
  REQUIRE(ParseConfig(ReplicationText(kReplicationCredentials, "manage_replication = yes\nsemi_sync = yes"),
                      "good.ini", &cfg, &errors));
  CHECK_FALSE(cfg.pools[0].rewind);
  REQUIRE(ParseConfig(
      ReplicationText(kReplicationCredentials, "manage_replication = yes\nsemi_sync = yes\nrewind = yes"),
      "good.ini", &cfg, &errors));
  CHECK(cfg.pools[0].rewind);
  CHECK(Errors(ReplicationText(kReplicationCredentials, "manage_replication = yes\nrewind = yes")) ==
        std::vector<std::string>{"bad.ini:5: rewind = yes needs semi_sync = yes: only then was a commit no "
                                 "survivor has never acknowledged"});
  CHECK(Errors(ReplicationText(kReplicationCredentials, "manage_replication = yes\nsemi_sync = no\nrewind = yes")) ==
        std::vector<std::string>{"bad.ini:6: rewind = yes needs semi_sync = yes: only then was a commit no "
                                 "survivor has never acknowledged"});
  // A bad semi_sync is reported once, not again through rewind.
  CHECK(Errors(ReplicationText(kReplicationCredentials,
                               "manage_replication = yes\nsemi_sync = maybe\nrewind = yes")) ==
        std::vector<std::string>{"bad.ini:5: semi_sync: 'maybe' is not yes or no"});
}

TEST_CASE("Config: every replication error is reported together") {
  CHECK(Errors(ReplicationText("", "manage_read_only = no\nmanage_replication = yes\nrejoin = sometimes")) ==
        std::vector<std::string>{
            "bad.ini:5: rejoin: 'sometimes' is not auto or manual",
            "bad.ini:3: manage_read_only = no contradicts manage_replication = yes, which needs fencing",
            "bad.ini:4: manage_replication = yes needs [global] replication_credentials (the login replicas use)"});
}

// kGood (26 lines) with a [cluster] section from line 27.
std::string ClusterText(const std::string& body) { return std::string(kGood) + "[cluster]\n" + body + "\n"; }

TEST_CASE("Config: metrics is off unless set, and takes an IP address and a port in [global] and [ipvs]") {
  Config cfg;
  std::vector<std::string> errors;
  REQUIRE(ParseConfig(kGood, "good.ini", &cfg, &errors));
  CHECK(cfg.metrics.kind == Address::kNone);
  CHECK(cfg.ipvs.metrics.kind == Address::kNone);
  std::string text = kGood;
  text.replace(text.find("[global]\n"), 9, "[global]\nmetrics = 127.0.0.1:9104\n");
  REQUIRE(ParseConfig(text + "[ipvs]\nmetrics = [::1]:9105\n", "good.ini", &cfg, &errors));
  CHECK(cfg.metrics.kind == Address::kInet4);
  CHECK(cfg.metrics.port == 9104);
  CHECK(cfg.ipvs.metrics.kind == Address::kInet6);
  CHECK(cfg.ipvs.metrics.port == 9105);
}

TEST_CASE("Config: a metrics address without a port, with a host name or a fwmark is refused with its line") {
  std::vector<std::string> errors = Errors(WithGood("[ipvs]\nmetrics = 127.0.0.1\n"));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].rfind("bad.ini:28: metrics: bad address '127.0.0.1'", 0) == 0);
  errors = Errors(WithGood("[ipvs]\nmetrics = localhost:9105\n"));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].rfind("bad.ini:28: metrics: bad address 'localhost:9105'", 0) == 0);
  CHECK(Errors(WithGood("[ipvs]\nmetrics = fwmark:3\n")) ==
        std::vector<std::string>{"bad.ini:28: metrics: needs an IP address and a port"});
}

TEST_CASE("Config: without [cluster] mppstate works alone") {
  Config cfg;
  std::vector<std::string> errors;
  REQUIRE(ParseConfig(kGood, "good.ini", &cfg, &errors));
  CHECK_FALSE(cfg.cluster.enabled);
}

TEST_CASE("Config: [cluster] takes etcd members, a name, a prefix, a lease and TLS") {
  Config cfg;
  std::vector<std::string> errors;
  REQUIRE(ParseConfig(ClusterText("etcd = http://192.0.2.1:2379, http://[2001:db8::1]:2379/\nname = dir-a\n"
                                  "prefix = /lvs/mpp/\nlease = 3s"),
                      "good.ini", &cfg, &errors));
  CHECK(cfg.cluster.enabled);
  CHECK(cfg.cluster.etcd == std::vector<std::string>{"http://192.0.2.1:2379", "http://[2001:db8::1]:2379"});
  CHECK(cfg.cluster.name == "dir-a");
  CHECK(cfg.cluster.prefix == "/lvs/mpp/");
  CHECK(cfg.cluster.lease_ms == 3000);
  REQUIRE(ParseConfig(ClusterText("etcd = https://192.0.2.1:2379\ncacert = /etc/mpp/ca.pem\ncert = /etc/mpp/c.pem\n"
                                  "key = /etc/mpp/c.key\ncredentials = /etc/mpp/etcd.cnf"),
                      "good.ini", &cfg, &errors));
  CHECK(cfg.cluster.name.empty());  // the host name, found at start
  CHECK(cfg.cluster.prefix == "/mpp/");
  CHECK(cfg.cluster.lease_ms == 5000);
  CHECK(cfg.cluster.cacert == "/etc/mpp/ca.pem");
  CHECK(cfg.cluster.credentials == "/etc/mpp/etcd.cnf");
}

TEST_CASE("Config: every [cluster] error is reported with its line") {
  CHECK(Errors(ClusterText("name = a")) ==
        std::vector<std::string>{"bad.ini:27: [cluster]: etcd = URL, URL, ... is required"});
  CHECK(Errors(ClusterText("etcd = etcd1:2379, http://192.0.2.1, ftp://192.0.2.1:21\nlease = 1500ms\n"
                           "prefix = mpp\nname = a b\nkey = k.pem")) ==
        std::vector<std::string>{
            "bad.ini:28: etcd: bad URL 'etcd1:2379': needs http:// or https://",
            "bad.ini:28: etcd: bad URL 'http://192.0.2.1': needs IP:port after the scheme",
            "bad.ini:28: etcd: bad URL 'ftp://192.0.2.1:21': needs http:// or https://",
            "bad.ini:29: lease: must be at least 2s",
            "bad.ini:30: prefix: 'mpp' must begin and end with '/'",
            "bad.ini:31: name: 'a b' is not letters, digits, '_', '-' or '.'",
            "bad.ini:32: key: needs an absolute path",
        });
  CHECK(Errors(ClusterText("etcd = http://192.0.2.1:2379\nlease = 2500ms\ncacert = /ca.pem\ncert = /c.pem")) ==
        std::vector<std::string>{"bad.ini:29: lease: must be whole seconds",
                                 "bad.ini:27: [cluster]: cert and key go together",
                                 "bad.ini:27: [cluster]: cacert, cert and key need https:// endpoints"});
  CHECK(Errors(ClusterText("etcd = http://192.0.2.1:2379\n[cluster]\netcd = http://192.0.2.2:2379"))[0] ==
        "bad.ini:29: duplicate section [cluster] (first at line 27)");
}

}  // namespace
}  // namespace mpp
