// The state file and track file writer (mppstate/state_writer.h): what it
// writes, the reader reads back, and it replaces files atomically. The
// reader's own cases are in tests/unit/common/state_reader_test.cc.
#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/paths.h"
#include "common/state_reader.h"
#include "mppstate/state_writer.h"
#include "tests/unit/core/eval_sim.h"

namespace mpp {
namespace {

std::string HealthyStateText(Sim* s) {
  s->HealthyPool();
  s->W("db2").repl.lag_s = 3;
  s->Rounds(2);
  return FormatStateFile(s->cfg, s->ev, 4242);
}

std::string T(const Text& t) { return std::string(t.data, t.len); }

TEST_CASE("StateFile: the reader reads back what the writer wrote") {
  Sim s(PoolConfigText(3));
  std::string text = HealthyStateText(&s);
  StateFile f;
  const char* why = nullptr;
  REQUIRE(ParseStateFile(text.data(), text.size(), &f, &why) == StateError::kOk);
  CHECK(f.header.version == 1);
  CHECK(f.header.pid == 4242);
  CHECK(f.header.seq == s.ev.seq);
  CHECK(f.header.time_ms == s.ev.time_ms);
  CHECK(f.header.interval_ms == 1000);
  CHECK(f.header.stale_after_ms == 30000);

  StateCursor c = BeginRecords(f);
  NodeRecord n;
  std::vector<std::string> nodes;
  while (NextNode(&c, &n)) {
    const NodeEval& ne = s.N(T(n.name));
    CHECK(T(n.pool) == "main");
    CHECK(T(n.state) == StateName(ne.state));
    CHECK(T(n.status) == StatusName(ne.status));
    CHECK(n.address == s.cfg.nodes[static_cast<size_t>(s.Node(T(n.name)))].address);
    CHECK(n.since_ms == ne.since_ms);
    nodes.push_back(T(n.name) + " " + T(n.type) + " " + std::to_string(n.lag_s));
  }
  CHECK_FALSE(c.error);
  CHECK(nodes == std::vector<std::string>{"db1 PRIMARY -1", "db2 SECONDARY 3", "db3 SECONDARY 0"});

  DestRecord d;
  REQUIRE(FindDestByName(f, "writer", "db1", &d, &why));
  CHECK(d.up);
  CHECK(d.weight == 1);
  CHECK(T(d.role) == "rw");
  REQUIRE(FindDestByName(f, "reader", "db1", &d, &why));
  CHECK_FALSE(d.up);
  Address vip, rip;
  REQUIRE(ParseAddressPair("192.0.2.10", "3307", &vip, &why));
  REQUIRE(ParseAddressPair("127.0.0.1", "3302", &rip, &why));
  REQUIRE(FindDestByAddress(f, vip, rip, &d, &why));
  CHECK(T(d.vs) == "reader");
  CHECK(T(d.node) == "db2");
  CHECK(d.up);
  CHECK_FALSE(FindDestByName(f, "writer", "db9", &d, &why));
  CHECK(std::string(why) == "node is not in this virtual server");
  CHECK_FALSE(FindDestByName(f, "nope", "db1", &d, &why));
  CHECK(std::string(why) == "no such virtual server in the state file");
}

TEST_CASE("StateFile: reasons with control characters stay on one line") {
  Sim s(PoolConfigText(2));
  s.HealthyPool();
  s.Round();
  s.W("db2") = Sim::Failed();
  s.W("db2").error = "evil\nend\n";
  s.Round();
  std::string text = FormatStateFile(s.cfg, s.ev, 1);
  StateFile f;
  const char* why;
  REQUIRE(ParseStateFile(text.data(), text.size(), &f, &why) == StateError::kOk);
  NodeRecord n;
  Text name{"db2", 3};
  REQUIRE(FindNode(f, name, &n, &why));
  CHECK(T(n.reason).find("evil end") != std::string::npos);
}

TEST_CASE("StateFile: the atomic writer replaces the file and leaves no temporary") {
  char dir[] = "/tmp/mpp-state-test.XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  std::string path = std::string(dir) + "/state";
  std::string err;
  REQUIRE(WriteFileAtomic(path, "one\n", 0644, &err));
  REQUIRE(WriteFileAtomic(path, "two\n", 0644, &err));
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  CHECK(ss.str() == "two\n");
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  CHECK_FALSE(WriteFileAtomic(std::string(dir) + "/missing/state", "x", 0644, &err));
  CHECK(err.find("cannot create") != std::string::npos);
  unlink(path.c_str());
  CHECK(rmdir(dir) == 0);  // empty: no temporary left behind
}

TEST_CASE("StateFile: track files hold the weight when up and remove the server when down") {
  CHECK(TrackFileContent(Decision{true, 100}) == "100\n");
  CHECK(TrackFileContent(Decision{false, 100}) == "-2147483648\n");
  char dir[] = "/tmp/mpp-track-test.XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  std::string text = PoolConfigText(2);
  text.replace(text.find("interval = 1s"), 13, std::string("interval = 1s\nstate_dir = ") + dir);
  Sim s(text);
  s.HealthyPool();
  s.Rounds(2);
  std::string err;
  REQUIRE(WriteTrackFiles(s.cfg, s.ev, &err));
  std::vector<std::string> written;
  for (const char* vs : {"writer", "reader"})
    for (const char* node : {"db1", "db2"}) written.push_back(TrackFilePath(dir, vs, node));
  for (const std::string& path : written) CHECK(access(path.c_str(), F_OK) == 0);
  std::ifstream in(std::string(dir) + "/track/writer/db1");
  std::string line;
  std::getline(in, line);
  CHECK(line == "1");
  std::ifstream in2(std::string(dir) + "/track/writer/db2");
  std::getline(in2, line);
  CHECK(line == "-2147483648");
  // keepalived's init_file resets a track file when it starts: the next
  // round must put the decision back.
  REQUIRE(WriteFileAtomic(std::string(dir) + "/track/writer/db1", "0\n", 0644, &err));
  REQUIRE(WriteTrackFiles(s.cfg, s.ev, &err));
  std::ifstream in3(std::string(dir) + "/track/writer/db1");
  std::getline(in3, line);
  CHECK(line == "1");
  // When mppstate stops, the track files quiesce rather than keep steering.
  REQUIRE(QuiesceTrackFiles(s.cfg, &err));
  for (const std::string& path : written) {
    std::ifstream f(path);
    std::getline(f, line);
    CHECK(line == "0");
  }
  for (const std::string& path : written) unlink(path.c_str());
  rmdir((std::string(dir) + "/track/writer").c_str());
  rmdir((std::string(dir) + "/track/reader").c_str());
  rmdir((std::string(dir) + "/track").c_str());
  CHECK(rmdir(dir) == 0);
}

}  // namespace
}  // namespace mpp
