// The state file and track file writer (mppstate/state_writer.h): what it
// writes, the reader reads back, it replaces files atomically, it writes
// track files downs first, and it takes down and removes the track files the
// config no longer owns. The reader's own cases are in
// tests/unit/common/state_reader_test.cc.
#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/paths.h"
#include "common/state_reader.h"
#include "mppstate/state_writer.h"
#include "tests/unit/core/eval_sim.h"
#include "tests/unit/test_util.h"

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


// ----- track files: order, faults, files nobody owns -----

const std::string kDown = "-2147483648\n";

std::string WithStateDir(std::string text, const std::string& dir) {
  text.replace(text.find("interval = 1s"), 13, "interval = 1s\nstate_dir = " + dir);
  return text;
}

// The whole file, or "<missing>".
std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "<missing>";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// The real atomic write, recorded; a write to a path ending in fail_suffix
// fails instead (the injected fault).
struct RecordingWriter {
  std::vector<std::pair<std::string, std::string>> calls;  // (path relative to the track dir, content)
  std::string root;
  std::string fail_suffix;

  TrackFileWriter Fn() {
    return [this](const std::string& path, const std::string& content, std::string* err) {
      calls.emplace_back(path.substr(root.size() + 1), content);
      if (!fail_suffix.empty() && path.size() >= fail_suffix.size() &&
          path.compare(path.size() - fail_suffix.size(), fail_suffix.size(), fail_suffix) == 0) {
        *err = path + ": injected fault";
        return false;
      }
      return WriteFileAtomic(path, content, 0644, err);
    };
  }
  std::vector<std::string> Paths() const {
    std::vector<std::string> out;
    for (const auto& c : calls) out.push_back(c.first);
    return out;
  }
};

// db1 fails over to db2, is rebuilt as db2's replica, recovered, and with
// failback = yes becomes ACTIVE again: the writer moves to an earlier node.
void FailoverThenFailback(Sim* s, const std::string& dir) {
  std::string err;
  s->HealthyPool();
  s->Rounds(2);
  REQUIRE(WriteTrackFiles(s->cfg, s->ev, &err));
  REQUIRE(ReadAll(TrackFilePath(dir, "writer", "db1")) == "1\n");
  s->W("db1") = Sim::Failed();
  s->W("db2") = Sim::SourceLost(s->W("db2"));
  s->Rounds(2);
  REQUIRE(s->St("db2") == State::kActive);
  s->W("db2") = s->Writer();
  s->W("db1") = s->Replica("db2", 100, 5);  // behind: no failback yet
  s->Round({Command{Command::kRecover, "", "db1"}});
  s->Rounds(3);
  REQUIRE(s->St("db2") == State::kActive);
  REQUIRE(WriteTrackFiles(s->cfg, s->ev, &err));
  REQUIRE(ReadAll(TrackFilePath(dir, "writer", "db1")) == kDown);
  REQUIRE(ReadAll(TrackFilePath(dir, "writer", "db2")) == "1\n");
  s->W("db1").repl.lag_s = 0;
  s->Round();
  REQUIRE(s->St("db1") == State::kActive);
  REQUIRE(s->Up("writer", "db1"));
  REQUIRE_FALSE(s->Up("writer", "db2"));
}

TEST_CASE("TrackFiles: on a failback the old writer's down is written before the new writer's up") {
  testing::TempDir d;
  Sim s(WithStateDir(PoolConfigText(2, "failback = yes\n"), d.path()));
  FailoverThenFailback(&s, d.path());
  RecordingWriter w;
  w.root = TrackDirPath(d.path());
  std::string err;
  REQUIRE(WriteTrackFiles(s.cfg, s.ev, &err, w.Fn()));
  std::vector<std::string> paths = w.Paths();
  auto at = [&](const std::string& p) { return std::find(paths.begin(), paths.end(), p) - paths.begin(); };
  REQUIRE(at("writer/db2") < static_cast<long>(paths.size()));
  REQUIRE(at("writer/db1") < static_cast<long>(paths.size()));
  CHECK(at("writer/db2") < at("writer/db1"));
  // Not only the writer: no down anywhere after the first up.
  bool seen_up = false;
  for (const auto& c : w.calls) {
    if (c.second != kDown) seen_up = true;
    CHECK_MESSAGE(!(seen_up && c.second == kDown), "down after an up: " << c.first);
  }
  CHECK(ReadAll(TrackFilePath(d.path(), "writer", "db1")) == "1\n");
  CHECK(ReadAll(TrackFilePath(d.path(), "writer", "db2")) == kDown);
}

TEST_CASE("TrackFiles: a failed down write leaves the new writer down, and the next round finishes") {
  testing::TempDir d;
  Sim s(WithStateDir(PoolConfigText(2, "failback = yes\n"), d.path()));
  FailoverThenFailback(&s, d.path());
  RecordingWriter w;
  w.root = TrackDirPath(d.path());
  w.fail_suffix = "/writer/db2";  // the old writer's down
  std::string err;
  CHECK_FALSE(WriteTrackFiles(s.cfg, s.ev, &err, w.Fn()));
  CHECK(err.find("injected fault") != std::string::npos);
  // Never two writers up: the old one still is, the new one is not yet.
  CHECK(ReadAll(TrackFilePath(d.path(), "writer", "db2")) == "1\n");
  CHECK(ReadAll(TrackFilePath(d.path(), "writer", "db1")) == kDown);
  for (const auto& c : w.calls) CHECK_MESSAGE(c.second == kDown, "an up was written: " << c.first);
  REQUIRE(WriteTrackFiles(s.cfg, s.ev, &err));
  CHECK(ReadAll(TrackFilePath(d.path(), "writer", "db1")) == "1\n");
  CHECK(ReadAll(TrackFilePath(d.path(), "writer", "db2")) == kDown);
}

TEST_CASE("TrackFiles: a lower weight is written before a higher one") {
  testing::TempDir d;
  Sim s(WithStateDir(PoolConfigText(2), d.path()));
  s.HealthyPool();
  s.Rounds(2);
  int reader = s.cfg.FindVs("reader");
  Evaluation ev = s.ev;
  ev.decisions[static_cast<size_t>(reader)] = {Decision{true, 10}, Decision{true, 100}};
  std::string err;
  REQUIRE(WriteTrackFiles(s.cfg, ev, &err));
  ev.decisions[static_cast<size_t>(reader)] = {Decision{true, 100}, Decision{true, 10}};
  RecordingWriter w;
  w.root = TrackDirPath(d.path());
  REQUIRE(WriteTrackFiles(s.cfg, ev, &err, w.Fn()));
  CHECK(w.Paths() == std::vector<std::string>{"reader/db2", "reader/db1"});
  // Written only when the disk differs, whatever is in it (keepalived's
  // init_file writes 0): 0 and garbage read as weight 0, so 10 is an up.
  REQUIRE(WriteFileAtomic(TrackFilePath(d.path(), "reader", "db1"), "garbage", 0644, &err));
  w.calls.clear();
  REQUIRE(WriteTrackFiles(s.cfg, ev, &err, w.Fn()));
  CHECK(w.Paths() == std::vector<std::string>{"reader/db1"});
}

// Two pools; writer and reader on main (db1..db3); db4 in another pool.
std::string TwoPoolConfig(const std::string& dir) {
  return "[global]\ninterval = 1s\nstate_dir = " + dir +
         "\n[pool main]\nnodes = db1, db2, db3\n[pool other]\nnodes = db4\n"
         "[node db1]\naddress = 127.0.0.1:3301\n[node db2]\naddress = 127.0.0.1:3302\n"
         "[node db3]\naddress = 127.0.0.1:3303\n[node db4]\naddress = 127.0.0.1:3304\n"
         "[vs writer]\naddress = 192.0.2.10:3306\npool = main\nrole = rw\n"
         "[vs reader]\naddress = 192.0.2.10:3307\npool = main\nrole = ro\n";
}

TEST_CASE("TrackFiles: the sweep takes unowned files down, then removes them, and leaves owned ones alone") {
  testing::TempDir d;
  Config cfg = ParseOrDie(TwoPoolConfig(d.path()));
  std::string track = d.Mkdir("track", 0755);
  for (const char* dir : {"writer", "reader", "gone", "empty-gone"}) d.Mkdir(std::string("track/") + dir, 0755);
  d.Write("track/writer/db1", "1\n", 0644);             // owned
  d.Write("track/reader/db2", "1\n", 0644);             // owned
  d.Write("track/writer/db9", "1\n", 0644);             // a node no longer in the config
  d.Write("track/writer/db4", "1\n", 0644);             // a node of another pool
  d.Write("track/gone/db1", "1\n", 0644);               // a vs no longer in the config
  d.Write("track/gone/db2", kDown, 0644);                // already down: only removed
  d.Write("track/writer/.db1.Ab12Cd", "1", 0644);        // an interrupted write's temporary
  d.Write("track/gone/.db3.Ef34Gh", "", 0644);
  RecordingWriter w;
  w.root = track;
  std::vector<std::string> seen_down;  // files that read down when written
  TrackFileWriter check = [&](const std::string& path, const std::string& content, std::string* err) {
    bool ok = w.Fn()(path, content, err);
    if (ok && ReadAll(path) == kDown) seen_down.push_back(path.substr(track.size() + 1));
    return ok;
  };
  std::string err;
  bool downs = false;
  REQUIRE_MESSAGE(SweepTrackFiles(cfg, &err, check, &downs), err);
  CHECK(downs);
  std::sort(seen_down.begin(), seen_down.end());
  CHECK(seen_down == std::vector<std::string>{"gone/db1", "writer/db4", "writer/db9"});
  for (const auto& c : w.calls) CHECK(c.second == kDown);
  for (const char* gone : {"writer/db9", "writer/db4", "gone/db1", "gone/db2", "writer/.db1.Ab12Cd",
                           "gone/.db3.Ef34Gh", "gone", "empty-gone"})
    CHECK_MESSAGE(!Exists(track + "/" + gone), gone << " still there");
  CHECK(ReadAll(track + "/writer/db1") == "1\n");
  CHECK(ReadAll(track + "/reader/db2") == "1\n");
  CHECK(Exists(track + "/reader"));
  // Nothing left to do: no write, no error.
  w.calls.clear();
  REQUIRE(SweepTrackFiles(cfg, &err, w.Fn()));
  CHECK(w.calls.empty());
  // No track directory at all is not an error.
  testing::TempDir empty;
  Config none = ParseOrDie(TwoPoolConfig(empty.path()));
  CHECK(SweepTrackFiles(none, &err));
}

TEST_CASE("TrackFiles: after a reload that renamed the rw vs, the old file goes down before the new one goes up") {
  testing::TempDir d;
  Sim before(WithStateDir(PoolConfigText(2), d.path()));
  before.HealthyPool();
  before.Rounds(2);
  std::string err;
  REQUIRE(WriteTrackFiles(before.cfg, before.ev, &err));
  REQUIRE(ReadAll(TrackFilePath(d.path(), "writer", "db1")) == "1\n");
  std::string text = WithStateDir(PoolConfigText(2), d.path());
  text.replace(text.find("[vs writer]"), 11, "[vs master]");
  Sim after(text);
  after.HealthyPool();
  after.Rounds(2);
  RecordingWriter w;
  w.root = TrackDirPath(d.path());
  SUBCASE("in order") {
    REQUIRE_MESSAGE(WriteTrackFiles(after.cfg, after.ev, &err, w.Fn()), err);
    std::vector<std::string> paths = w.Paths();
    auto old_down = std::find(paths.begin(), paths.end(), "writer/db1");
    auto new_up = std::find(paths.begin(), paths.end(), "master/db1");
    REQUIRE(old_down != paths.end());
    REQUIRE(new_up != paths.end());
    CHECK(old_down < new_up);
    CHECK_FALSE(Exists(TrackDirPath(d.path()) + "/writer"));
    CHECK(ReadAll(TrackFilePath(d.path(), "master", "db1")) == "1\n");
  }
  SUBCASE("a failed down of the old file writes no up") {
    w.fail_suffix = "/writer/db1";
    CHECK_FALSE(WriteTrackFiles(after.cfg, after.ev, &err, w.Fn()));
    CHECK(err.find("injected fault") != std::string::npos);
    CHECK(ReadAll(TrackFilePath(d.path(), "master", "db1")) == "<missing>");
    CHECK(ReadAll(TrackFilePath(d.path(), "writer", "db1")) == "1\n");  // kept: retried next round
  }
}

TEST_CASE("TrackFiles: quiesce sets the files the config does not own to 0 as well") {
  testing::TempDir d;
  Config cfg = ParseOrDie(TwoPoolConfig(d.path()));
  std::string track = d.Mkdir("track", 0755);
  for (const char* dir : {"writer", "gone"}) d.Mkdir(std::string("track/") + dir, 0755);
  d.Write("track/writer/db1", "1\n", 0644);
  d.Write("track/writer/db9", "1\n", 0644);
  d.Write("track/gone/db1", "1\n", 0644);
  d.Write("track/gone/db2", kDown, 0644);
  d.Write("track/writer/.db1.Ab12Cd", "1", 0644);
  std::string err;
  REQUIRE_MESSAGE(QuiesceTrackFiles(cfg, &err), err);
  for (const char* f : {"writer/db1", "writer/db9", "gone/db1", "gone/db2"})
    CHECK_MESSAGE(ReadAll(track + "/" + f) == "0\n", f);
  CHECK(ReadAll(track + "/writer/.db1.Ab12Cd") == "1");  // not a track file
  CHECK_FALSE(Exists(track + "/writer/db2"));             // never written: not created
  testing::TempDir empty;
  CHECK(QuiesceTrackFiles(ParseOrDie(TwoPoolConfig(empty.path())), &err));
}

// fsync itself cannot be observed from a test (only a power loss would show
// it); this checks the rest of the contract.
TEST_CASE("StateFile: the durable writer replaces the file with its content and mode, and leaves no temporary") {
  testing::TempDir d;
  std::string path = d.Path("pool-memory");
  std::string err;
  REQUIRE(WriteFileDurable(path, "one\n", 0600, &err));
  REQUIRE(WriteFileDurable(path, "two\n", 0600, &err));
  CHECK(ReadAll(path) == "two\n");
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK_FALSE(WriteFileDurable(d.Path("missing/pool-memory"), "x", 0600, &err));
  CHECK(err.find("cannot create") != std::string::npos);
  REQUIRE(unlink(path.c_str()) == 0);
  CHECK(rmdir(d.path().c_str()) == 0);  // empty: no temporary left behind
  mkdir(d.path().c_str(), 0700);        // for TempDir's own cleanup
}

}  // namespace
}  // namespace mpp
