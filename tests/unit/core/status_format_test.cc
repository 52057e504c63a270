// What `mppctl status` shows (core/status_format.h): the table and the JSON
// of a small evaluation, exactly.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "core/status_format.h"
#include "tests/unit/core/eval_sim.h"

namespace mpp {
namespace {

constexpr int64_t kNow = 1700000100000;

// db1 ACTIVE writer, db2 STANDBY replica 3 s behind and with a reason full
// of what a server's error message may hold.
struct Small {
  Sim s{PoolConfigText(2)};
  Small() {
    s.HealthyPool();
    s.Rounds(2);
    REQUIRE(s.St("db1") == State::kActive);
    REQUIRE(s.St("db2") == State::kStandby);
    REQUIRE(s.Up("writer", "db1"));
    REQUIRE_FALSE(s.Up("writer", "db2"));
    REQUIRE_FALSE(s.Up("reader", "db1"));
    REQUIRE(s.Up("reader", "db2"));
    Evaluation& ev = s.ev;
    ev.seq = 42;
    ev.time_ms = kNow - 250;
    NodeEval& db1 = ev.nodes[static_cast<size_t>(s.Node("db1"))];
    db1.reason = "";
    db1.since_ms = kNow - 90000;
    NodeEval& db2 = ev.nodes[static_cast<size_t>(s.Node("db2"))];
    db2.reason = "say \"hi\"\\ now\n\x01(1045)";
    db2.since_ms = kNow - 3 * 3600000;
    db2.last.repl.lag_s = 3;
  }
  NodeEval& N(const char* name) { return s.ev.nodes[static_cast<size_t>(s.Node(name))]; }
  std::string Table(int64_t now_ms = kNow) { return StatusTable(s.cfg, s.ev, now_ms); }
};

// The whitespace-separated fields of the row of node `name`.
std::vector<std::string> Row(const std::string& table, const std::string& name) {
  std::istringstream in(table);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::vector<std::string> out;
    std::string f;
    while (fields >> f) out.push_back(f);
    if (!out.empty() && out[0] == name) return out;
  }
  FAIL("no row for " << name);
  return {};
}

TEST_CASE("StatusTable: one row per node, then what each virtual server sends traffic to") {
  Small t;
  CHECK(t.Table() ==
        "pool main\n"
        "  NODE         TYPE      STATE    STATUS   ADDRESS                  LAG  SINCE  REASON\n"
        "  db1          PRIMARY   ACTIVE   OK       127.0.0.1:3301             -    90s  -\n"
        "  db2          SECONDARY STANDBY  OK       127.0.0.1:3302            3s     3h  say \"hi\"\\ now  (1045)\n"
        "vs writer (rw 192.0.2.10:3306): db1(w1)\n"
        "vs reader (ro 192.0.2.10:3307): db2(w1)\n");
}

TEST_CASE("StatusTable: isolation, the pool's note and a virtual server with nothing up") {
  Small t;
  t.s.ev.isolated = true;
  t.s.ev.pools[0].note = "no checkpoint\nanswered";
  for (Decision& d : t.s.ev.decisions[static_cast<size_t>(t.s.cfg.FindVs("reader"))]) d.up = false;
  std::string table = t.Table();
  CHECK(table.rfind("pool main  [ISOLATED]  (no checkpoint answered)\n", 0) == 0);
  CHECK(table.find("vs reader (ro 192.0.2.10:3307): nothing up\n") != std::string::npos);
}

TEST_CASE("StatusTable: a long reason ends its own row") {
  Small t;
  t.N("db2").reason = std::string(1000, 'e');
  std::string table = t.Table();
  CHECK(table.find(std::string(1000, 'e') + "\nvs writer") != std::string::npos);
  CHECK(Row(table, "db2").size() == 8);
}

TEST_CASE("StatusTable: LAG is the replica's last lag, '-' when unknown or not a replica") {
  Small t;
  CHECK(Row(t.Table(), "db1")[5] == "-");
  CHECK(Row(t.Table(), "db2")[5] == "3s");
  t.N("db2").last.repl.lag_s = -1;
  CHECK(Row(t.Table(), "db2")[5] == "-");
  t.N("db2").last.repl.lag_s = 0;
  CHECK(Row(t.Table(), "db2")[5] == "0s");
  t.N("db2").last.repl.configured = false;
  t.N("db2").last.repl.lag_s = 5;
  CHECK(Row(t.Table(), "db2")[5] == "-");
}

TEST_CASE("Status: a node that may never be the writer says why; a delayed replica's lag is beyond its delay") {
  Small t;
  t.N("db2").last.repl.delay_s = 3600;
  t.N("db2").last.repl.lag_s = 0;
  t.N("db2").reason.clear();
  std::vector<std::string> row = Row(t.Table(), "db2");
  CHECK(row[5] == "0s");
  CHECK(t.Table().find("never promoted: delayed replica (SQL_Delay 3600s)\n") != std::string::npos);
  CHECK(StatusJson(t.s.cfg, t.s.ev).find("\"lag\":0,\"delay\":3600,\"never_promoted\":\"delayed replica (SQL_Delay "
                                         "3600s)\"") != std::string::npos);
  t.N("db2").last.repl.delay_s = 0;
  t.s.cfg.nodes[static_cast<size_t>(t.s.Node("db2"))].promote = false;
  t.N("db2").reason = "lag 12s > max_lag 10s";
  CHECK(t.Table().find("lag 12s > max_lag 10s; never promoted: promote = no\n") != std::string::npos);
}

TEST_CASE("StatusTable: SINCE counts from now_ms in seconds, minutes, then hours") {
  Small t;
  struct Case {
    int64_t ago_ms;
    const char* shown;
  };
  const Case cases[] = {{0, "0s"},           {999, "0s"},           {1000, "1s"},
                        {119999, "119s"},    {120000, "2m"},        {7199999, "119m"},
                        {7200000, "2h"},     {50 * 3600000, "50h"}, {-1000, "-"}};
  for (const Case& c : cases) {
    CAPTURE(c.ago_ms);
    t.N("db1").since_ms = kNow - c.ago_ms;
    CHECK(Row(t.Table(), "db1")[6] == c.shown);
  }
  t.N("db1").since_ms = 0;  // never changed since the daemon started
  CHECK(Row(t.Table(), "db1")[6] == "-");
  t.N("db1").since_ms = kNow - 90000;
  CHECK(Row(t.Table(kNow + 60000), "db1")[6] == "2m");
}

TEST_CASE("StatusJson: the same facts for scripts, reasons escaped") {
  Small t;
  CHECK(StatusJson(t.s.cfg, t.s.ev) ==
        "{\"seq\":42,\"time_ms\":1700000099750,\"isolated\":false,\"pools\":["
        "{\"name\":\"main\",\"note\":\"\",\"nodes\":["
        "{\"name\":\"db1\",\"type\":\"PRIMARY\",\"state\":\"ACTIVE\",\"status\":\"OK\","
        "\"address\":\"127.0.0.1:3301\",\"lag\":null,\"delay\":0,\"never_promoted\":\"\",\"since_ms\":1700000010000,\"reason\":\"\","
        "\"read_only\":false,\"poll\":\"ok\",\"wanted\":\"\",\"seen\":\"writable, replicates from nobody\","
        "\"topology_error\":\"\"},"
        "{\"name\":\"db2\",\"type\":\"SECONDARY\",\"state\":\"STANDBY\",\"status\":\"OK\","
        "\"address\":\"127.0.0.1:3302\",\"lag\":3,\"delay\":0,\"never_promoted\":\"\",\"since_ms\":1699989300000,\"reason\":"
        "\"say \\\"hi\\\"\\\\ now\\u000a\\u0001(1045)\",\"read_only\":true,\"poll\":\"ok\",\"wanted\":\"\","
        "\"seen\":\"read_only, replica of db1 (IO yes, SQL yes)\",\"topology_error\":\"\"}]}],"
        "\"vs\":["
        "{\"name\":\"writer\",\"role\":\"rw\",\"address\":\"192.0.2.10:3306\",\"pool\":\"main\",\"dests\":["
        "{\"node\":\"db1\",\"address\":\"127.0.0.1:3301\",\"up\":true,\"weight\":1},"
        "{\"node\":\"db2\",\"address\":\"127.0.0.1:3302\",\"up\":false,\"weight\":0}]},"
        "{\"name\":\"reader\",\"role\":\"ro\",\"address\":\"192.0.2.10:3307\",\"pool\":\"main\",\"dests\":["
        "{\"node\":\"db1\",\"address\":\"127.0.0.1:3301\",\"up\":false,\"weight\":0},"
        "{\"node\":\"db2\",\"address\":\"127.0.0.1:3302\",\"up\":true,\"weight\":1}]}]}\n");
}

TEST_CASE("StatusJson: a node not polled has no lag and no read_only, and isolation shows") {
  Small t;
  t.s.ev.isolated = true;
  t.N("db2").last = PollResult();
  std::string json = StatusJson(t.s.cfg, t.s.ev);
  CHECK(json.find("\"isolated\":true") != std::string::npos);
  CHECK(json.find("\"lag\":null,\"delay\":0,\"never_promoted\":\"\",\"since_ms\":1699989300000") != std::string::npos);
  CHECK(json.find("\"read_only\":null,\"poll\":\"not polled yet\"") != std::string::npos);
}

TEST_CASE("JsonString: quotes, backslashes and every control character are escaped") {
  CHECK(JsonString("") == "\"\"");
  CHECK(JsonString("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(JsonString("\n\t\r\b\f") == "\"\\u000a\\u0009\\u000d\\u0008\\u000c\"");
  CHECK(JsonString(std::string("\0\x1f", 2)) == "\"\\u0000\\u001f\"");
  // Printable ASCII, DEL and UTF-8 need no escape in JSON.
  CHECK(JsonString(" ~\x7f\xc3\xa9") == "\" ~\x7f\xc3\xa9\"");
  std::string all;
  for (int c = 0; c < 0x20; ++c) all += static_cast<char>(c);
  std::string out = JsonString(all);
  CHECK(out.size() == 2 + 6 * 0x20);
  for (char c : out) CHECK(static_cast<unsigned char>(c) >= 0x20);
}

TEST_CASE("StatusFormat: a director pair's status names the leader, the role and the decision") {
  Small small;
  ClusterRole& c = small.s.ev.cluster;
  c.enabled = true;
  c.self = "dir-b";
  c.leader = "dir-a";
  c.epoch = 41;
  c.seq = 7;
  std::string table = StatusTable(small.s.cfg, small.s.ev, kNow);
  CHECK(table.rfind("cluster: leader dir-a (this director dir-b follows), epoch 41, decision 7\n", 0) == 0);
  CHECK(StatusJson(small.s.cfg, small.s.ev).find(
            "\"cluster\":{\"self\":\"dir-b\",\"leader\":\"dir-a\",\"role\":\"follower\",\"deciding\":false,"
            "\"frozen\":false,\"epoch\":41,\"decision\":7}") != std::string::npos);
  c.self = "dir-a";
  c.deciding = true;
  CHECK(StatusTable(small.s.cfg, small.s.ev, kNow).rfind("cluster: leader dir-a (this director, deciding)", 0) == 0);
  c.self = "dir-b";
  c.deciding = false;
  c.frozen = true;
  CHECK(StatusTable(small.s.cfg, small.s.ev, kNow).find(", FROZEN: etcd out of reach,") != std::string::npos);
  c.enabled = false;
  CHECK(StatusTable(small.s.cfg, small.s.ev, kNow).rfind("pool main", 0) == 0);
  CHECK(StatusJson(small.s.cfg, small.s.ev).find("cluster") == std::string::npos);
}

}  // namespace
}  // namespace mpp
