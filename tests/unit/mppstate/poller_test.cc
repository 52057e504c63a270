// The poller without a server: GTID parsing, error classes, a refused
// connection, the deadlines of EventPoller against a listener that never
// answers, no descriptor left behind, and the monitor's own fault (no
// descriptor).
// The real-server cases are in tests/integration.
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <doctest/doctest.h>

#include "mppstate/event_poller.h"
#include "mppstate/poller.h"

namespace {

using Clock = std::chrono::steady_clock;

int64_t MsSince(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
}

// A TCP socket on 127.0.0.1 with a kernel-chosen port. listening: the kernel
// completes connections but nobody ever answers them (a hung server);
// otherwise the port is closed again and refuses.
class LoopbackPort {
 public:
  explicit LoopbackPort(bool listening) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in sa = {};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    socklen_t len = sizeof sa;
    REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
    port_ = ntohs(sa.sin_port);
    if (listening) {
      REQUIRE(listen(fd_, 16) == 0);
    } else {
      close(fd_);
      fd_ = -1;
    }
  }
  ~LoopbackPort() {
    if (fd_ >= 0) close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

mpp::NodeConfig Node(const std::string& name, uint16_t port) {
  mpp::NodeConfig n;
  n.name = name;
  n.address.kind = mpp::Address::kInet4;
  n.address.ip[0] = 127;
  n.address.ip[3] = 1;
  n.address.port = port;
  return n;
}

// A credentials file for the library to read, removed at exit.
struct TempCredentials {
  std::string path;
  TempCredentials() {
    char tmpl[] = "/tmp/mpp-poller-test-XXXXXX";
    int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    const char text[] = "[client]\nuser = nobody\npassword = wrong\n";
    REQUIRE(write(fd, text, sizeof text - 1) == static_cast<ssize_t>(sizeof text - 1));
    close(fd);
    path = tmpl;
  }
  ~TempCredentials() { unlink(path.c_str()); }
};

mpp::Config TestConfig() {
  static TempCredentials credentials;
  mpp::Config cfg;
  cfg.credentials = credentials.path;
  cfg.connect_timeout_ms = 1000;
  cfg.query_timeout_ms = 1000;
  return cfg;
}

// Descriptors open in this process.
int OpenFds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  REQUIRE(d != nullptr);
  while (struct dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n - 1;  // the directory's own
}

// The number of threads of this process (/proc/self/status), or -1.
int ThreadCount() {
  FILE* f = fopen("/proc/self/status", "re");
  if (f == nullptr) return -1;
  char line[256];
  int n = -1;
  while (fgets(line, sizeof line, f) != nullptr)
    if (sscanf(line, "Threads: %d", &n) == 1) break;
  fclose(f);
  return n;
}

// Runs fn in a forked child, whose resource limits fn may lower without
// harming this process; returns what fn returned (its exit status), or -1
// if the child died otherwise. What fn writes to `out` comes back in *text.
int InChild(const std::function<int(int out)>& fn, std::string* text) {
  // Earlier tests' detached poll threads end within their deadlines. A fork
  // while one of them holds a lock (malloc's, ASan's thread registry) would
  // leave that lock held forever in the child, and its first thread hung.
  for (int i = 0; i < 150 && ThreadCount() > 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  int p[2];
  REQUIRE(pipe(p) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(p[0]);
    _exit(fn(p[1]));
  }
  close(p[1]);
  char buf[512];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) text->append(buf, static_cast<size_t>(n));
  close(p[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void Say(int out, const std::string& s) {
  if (write(out, s.data(), s.size()) < 0) _exit(99);
}

// The polls of one node set, as "name outcome: error" lines.
std::string Describe(const mpp::Config& cfg, const std::vector<mpp::PollResult>& results) {
  std::string out;
  for (size_t i = 0; i < results.size(); ++i)
    out += cfg.nodes[i].name + " " + mpp::PollOutcomeName(results[i].outcome) + ": " + results[i].error + "\n";
  return out;
}

}  // namespace

TEST_CASE("Poller: a MariaDB GTID list maps each domain to its sequence number") {
  std::map<std::string, uint64_t> m;
  CHECK(mpp::ParseMariaGtidList("0-1-100, 1-2-7,\n5-3-18446744073709551615", &m));
  CHECK(m.size() == 3);
  CHECK(m["0"] == 100);
  CHECK(m["1"] == 7);
  CHECK(m["5"] == UINT64_MAX);
  std::map<std::string, uint64_t> empty;
  CHECK(mpp::ParseMariaGtidList("", &empty));
  CHECK(empty.empty());
  std::map<std::string, uint64_t> bad;
  CHECK_FALSE(mpp::ParseMariaGtidList("0-1,0-1-x,2-2-9", &bad));
  CHECK(bad.size() == 1);
  CHECK(bad["2"] == 9);
}

TEST_CASE("Poller: a MySQL GTID set gives intervals and the highest transaction per source") {
  mpp::GtidIntervals set;
  CHECK(mpp::ParseMysqlGtidSet(
      "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:11-18,\n"
      "2174b383-5441-11e8-b90a-c80aa9429562:1-2:tag_a:1-9",
      &set));
  auto high = mpp::GtidSetHighest(set);
  CHECK(high.size() == 3);
  CHECK(high["3e11fa47-71ca-11e1-9e33-c80aa9429562"] == 18);
  CHECK(high["2174b383-5441-11e8-b90a-c80aa9429562"] == 2);
  CHECK(high["2174b383-5441-11e8-b90a-c80aa9429562:tag_a"] == 9);
  mpp::GtidIntervals bad;
  CHECK_FALSE(mpp::ParseMysqlGtidSet("uuid:5-3", &bad));
  CHECK_FALSE(mpp::ParseMysqlGtidSet("justtext", &bad));
}

TEST_CASE("Poller: a retrieved GTID set is applied only if the executed set covers it") {
  mpp::GtidIntervals executed, inside, gap, other;
  REQUIRE(mpp::ParseMysqlGtidSet("a:1-5:6-10:20-30,b:1-3", &executed));
  REQUIRE(mpp::ParseMysqlGtidSet("a:2-10:25,b:3", &inside));
  REQUIRE(mpp::ParseMysqlGtidSet("a:9-21", &gap));
  REQUIRE(mpp::ParseMysqlGtidSet("c:1", &other));
  CHECK(mpp::GtidSetContains(executed, inside));
  CHECK_FALSE(mpp::GtidSetContains(executed, gap));
  CHECK_FALSE(mpp::GtidSetContains(executed, other));
  CHECK(mpp::GtidSetContains(executed, mpp::GtidIntervals()));
}

TEST_CASE("Poller: client and server error numbers map to outcomes") {
  using mpp::PollOutcome;
  CHECK(mpp::ClassifyMysqlError(2003, 5, 1000) == PollOutcome::kRefused);
  CHECK(mpp::ClassifyMysqlError(2002, 5, 1000) == PollOutcome::kRefused);
  CHECK(mpp::ClassifyMysqlError(2005, 5, 1000) == PollOutcome::kRefused);
  // The same numbers after the whole connect timeout: the host never answered.
  CHECK(mpp::ClassifyMysqlError(2003, 1000, 1000) == PollOutcome::kTimeout);
  CHECK(mpp::ClassifyMysqlError(2002, 1999, 1500) == PollOutcome::kTimeout);
  CHECK(mpp::ClassifyMysqlError(2013, 5, 1000) == PollOutcome::kTimeout);
  CHECK(mpp::ClassifyMysqlError(2006, 5, 1000) == PollOutcome::kTimeout);
  CHECK(mpp::ClassifyMysqlError(1045, 5, 1000) == PollOutcome::kAccessDenied);
  CHECK(mpp::ClassifyMysqlError(1040, 5, 1000) == PollOutcome::kTooManyConnections);
  CHECK(mpp::ClassifyMysqlError(1203, 5, 1000) == PollOutcome::kTooManyConnections);
  CHECK(mpp::ClassifyMysqlError(1064, 5, 1000) == PollOutcome::kQueryError);
}

TEST_CASE("Poller: a closed port on 127.0.0.1 is refused at once") {
  LoopbackPort closed(false);
  auto t0 = Clock::now();
  mpp::PollResult r = mpp::PollNode(TestConfig(), Node("db1", closed.port()));
  CHECK(MsSince(t0) < 500);
  CHECK(r.outcome == mpp::PollOutcome::kRefused);
  CHECK((r.error_code == 2002 || r.error_code == 2003));
  CHECK(r.error.find("connect: ") == 0);
}

TEST_CASE("EventPoller: a silent node misses the deadline, the others do not wait") {
  LoopbackPort hung(true);
  LoopbackPort closed(false);
  mpp::Config cfg = TestConfig();
  cfg.nodes = {Node("hung", hung.port()), Node("closed", closed.port())};
  mpp::EventPoller poller;
  poller.SetWatching(false);

  auto t0 = Clock::now();
  auto results = poller.PollAll(cfg, t0 + std::chrono::milliseconds(300));
  int64_t took = MsSince(t0);
  CHECK(took >= 290);
  CHECK(took < 450);
  REQUIRE(results.size() == 2);
  CHECK(results[0].outcome == mpp::PollOutcome::kTimeout);
  CHECK(results[0].error == "poll missed its deadline");
  CHECK(results[1].outcome == mpp::PollOutcome::kRefused);
  // Nothing runs on after the deadline: the hung poll was aborted.
  CHECK(poller.InFlight() == 0);
}

TEST_CASE("EventPoller: a step has its own timeout within the round's deadline") {
  LoopbackPort hung(true);
  mpp::Config cfg = TestConfig();
  cfg.connect_timeout_ms = 150;  // the greeting never comes: the connect step runs out
  cfg.nodes = {Node("hung", hung.port())};
  mpp::EventPoller poller;
  poller.SetWatching(false);
  auto t0 = Clock::now();
  auto results = poller.PollAll(cfg, t0 + std::chrono::seconds(5));
  int64_t took = MsSince(t0);
  CHECK(took >= 145);
  CHECK(took < 400);
  REQUIRE(results.size() == 1);
  CHECK(results[0].outcome == mpp::PollOutcome::kTimeout);
  CHECK(results[0].error == "connect: no answer within 150ms");
}

TEST_CASE("EventPoller: polls finishing before the deadline return early") {
  LoopbackPort a(false), b(false), c(false);
  mpp::Config cfg = TestConfig();
  cfg.nodes = {Node("a", a.port()), Node("b", b.port()), Node("c", c.port())};
  mpp::EventPoller poller;
  auto t0 = Clock::now();
  auto results = poller.PollAll(cfg, t0 + std::chrono::seconds(5));
  CHECK(MsSince(t0) < 1000);
  REQUIRE(results.size() == 3);
  for (const auto& r : results) CHECK(r.outcome == mpp::PollOutcome::kRefused);
  CHECK(poller.InFlight() == 0);
  CHECK(poller.Watching() == 0);  // no watch after a failed poll
}

TEST_CASE("EventPoller: a deadline already past times every poll out at once") {
  LoopbackPort hung(true);
  mpp::Config cfg = TestConfig();
  cfg.nodes = {Node("hung", hung.port())};
  mpp::EventPoller poller;
  auto t0 = Clock::now();
  auto results = poller.PollAll(cfg, t0 - std::chrono::milliseconds(1));
  CHECK(MsSince(t0) < 100);
  REQUIRE(results.size() == 1);
  CHECK(results[0].outcome == mpp::PollOutcome::kTimeout);
  CHECK(poller.InFlight() == 0);
}

TEST_CASE("EventPoller: rounds of refusals and timeouts leave no descriptor behind") {
  LoopbackPort hung(true), closed(false);
  mpp::Config cfg = TestConfig();
  cfg.nodes = {Node("hung", hung.port()), Node("closed", closed.port())};
  mpp::EventPoller poller;
  poller.SetWatching(false);
  poller.PollAll(cfg, Clock::now() + std::chrono::milliseconds(5));
  int before = OpenFds();
  for (int i = 0; i < 100; ++i) {
    auto results = poller.PollAll(cfg, Clock::now() + std::chrono::milliseconds(5));
    REQUIRE(results.size() == 2);
    CHECK(results[0].outcome == mpp::PollOutcome::kTimeout);
    CHECK(results[1].outcome == mpp::PollOutcome::kRefused);
  }
  CHECK(OpenFds() == before);
  CHECK(poller.InFlight() == 0);
}

TEST_CASE("EventPoller: the event loop is driven from outside, one round at a time") {
  LoopbackPort a(false), hung(true);
  mpp::Config cfg = TestConfig();
  cfg.nodes = {Node("a", a.port()), Node("hung", hung.port())};
  mpp::EventPoller poller;
  auto now = Clock::now();
  poller.Configure(cfg, now);
  std::vector<mpp::PollResult> results;
  CHECK_FALSE(poller.TakeRound(&results));  // no round yet
  poller.StartRound(now, now + std::chrono::milliseconds(200), now + std::chrono::milliseconds(200));
  CHECK(poller.round_running());
  CHECK(poller.NextWake() <= now + std::chrono::milliseconds(200));
  poller.Process(Clock::now());
  CHECK_FALSE(poller.TakeRound(&results));  // hung has until the deadline
  while (Clock::now() < now + std::chrono::milliseconds(200)) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  poller.Process(Clock::now());
  REQUIRE(poller.TakeRound(&results));
  REQUIRE(results.size() == 2);
  CHECK(results[0].outcome == mpp::PollOutcome::kRefused);
  CHECK(results[1].outcome == mpp::PollOutcome::kTimeout);
  CHECK_FALSE(poller.round_running());
  CHECK(poller.TakeNews().empty());
}

TEST_CASE("Poller: running out of descriptors or memory is the monitor's fault") {
  using mpp::PollOutcome;
  CHECK(mpp::ClassifyMysqlError(2004, 5, 1000) == PollOutcome::kMonitorError);  // TCP socket()
  CHECK(mpp::ClassifyMysqlError(2001, 5, 1000) == PollOutcome::kMonitorError);  // local socket()
  CHECK(mpp::ClassifyMysqlError(2008, 5, 1000) == PollOutcome::kMonitorError);  // out of memory
  CHECK_FALSE(mpp::PollFailed(PollOutcome::kMonitorError));
}

TEST_CASE("EventPoller: with no descriptor left, a listening node is a monitor error") {
  // A real EMFILE: the child may open nothing more, so reading the login or
  // the client library's socket() fails ("Can't create TCP/IP socket (24)").
  LoopbackPort hung(true);
  mpp::Config cfg = TestConfig();
  cfg.nodes = {Node("hung", hung.port())};
  std::string text;
  int rc = InChild(
      [&cfg](int out) {
        mpp::EventPoller poller;
        int lowest_free = dup(0);
        if (lowest_free < 0) return 2;
        close(lowest_free);
        struct rlimit rl = {static_cast<rlim_t>(lowest_free), static_cast<rlim_t>(lowest_free)};
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return 3;
        auto results = poller.PollAll(cfg, Clock::now() + std::chrono::seconds(5));
        Say(out, Describe(cfg, results));
        if (results.size() != 1 || results[0].outcome != mpp::PollOutcome::kMonitorError) return 1;
        const std::string& e = results[0].error;
        return e.find("Too many open files") != std::string::npos || e.find("(24)") != std::string::npos ? 0 : 4;
      },
      &text);
  INFO(text);
  CHECK(rc == 0);
}

TEST_CASE("EventPoller: a poll that misses its round runs on, and the next rounds do not wait for it") {
  // A stopped server is not waited for twice: while its late poll runs, a
  // round counts it missed at once; once it ended, a round takes what it
  // found.
  LoopbackPort a(false), hung(true);
  mpp::Config cfg = TestConfig();
  cfg.nodes = {Node("a", a.port()), Node("hung", hung.port())};
  mpp::EventPoller poller;
  poller.SetWatching(false);
  auto now = Clock::now();
  poller.Configure(cfg, now);
  poller.StartRound(now, now + std::chrono::milliseconds(100), now + std::chrono::milliseconds(300));
  std::vector<mpp::PollResult> results;
  while (!poller.TakeRound(&results)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    poller.Process(Clock::now());
  }
  REQUIRE(results.size() == 2);
  CHECK(results[1].outcome == mpp::PollOutcome::kTimeout);
  CHECK(results[1].error == "poll missed its deadline");
  CHECK(poller.InFlight() == 1);  // late, not aborted

  // A round while it runs on: missed at once.
  auto t0 = Clock::now();
  poller.StartRound(t0, t0 + std::chrono::milliseconds(100), t0 + std::chrono::milliseconds(300));
  poller.Process(Clock::now());
  REQUIRE(poller.TakeRound(&results));
  CHECK(MsSince(t0) < 50);
  CHECK(results[0].outcome == mpp::PollOutcome::kRefused);
  CHECK(results[1].outcome == mpp::PollOutcome::kTimeout);
  CHECK(results[1].error == "poll missed its deadline (the previous one is still running)");

  // Its own deadline ends it.
  while (poller.InFlight() > 0 && MsSince(now) < 3000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    poller.Process(Clock::now());
  }
  CHECK(poller.InFlight() == 0);

  auto t1 = Clock::now();
  poller.StartRound(t1, t1 + std::chrono::milliseconds(100), t1 + std::chrono::milliseconds(300));
  poller.Process(Clock::now());
  REQUIRE(poller.TakeRound(&results));  // refused at once; hung: the late poll's answer
  CHECK(MsSince(t1) < 50);
  CHECK(results[0].outcome == mpp::PollOutcome::kRefused);
  CHECK(results[1].outcome == mpp::PollOutcome::kTimeout);
  CHECK(poller.InFlight() == 0);

  // The round after polls it afresh.
  auto t2 = Clock::now();
  poller.StartRound(t2, t2 + std::chrono::milliseconds(100), t2 + std::chrono::milliseconds(100));
  CHECK(poller.InFlight() == 2);  // both polled afresh
  while (!poller.TakeRound(&results)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    poller.Process(Clock::now());
  }
  CHECK(results[1].outcome == mpp::PollOutcome::kTimeout);
  CHECK(poller.InFlight() == 0);
  CHECK(poller.TakeNews().empty());
}

TEST_CASE("EventPoller: a refresh answers as news, and news waits until every refresh has answered") {
  LoopbackPort closed(false), hung(true);
  mpp::Config cfg = TestConfig();
  cfg.connect_timeout_ms = 200;  // hung's refresh ends within the hold
  cfg.query_timeout_ms = 100;
  cfg.nodes = {Node("closed", closed.port()), Node("hung", hung.port())};
  mpp::EventPoller poller;
  auto now = Clock::now();
  poller.Configure(cfg, now);
  // Due later: nothing runs before its time.
  poller.Refresh(0, now + std::chrono::milliseconds(50), now);
  poller.Process(Clock::now());
  CHECK(poller.InFlight() == 0);
  CHECK(poller.NextWake() <= now + std::chrono::milliseconds(50));
  while (Clock::now() < now + std::chrono::milliseconds(60)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // Now the closed port is refused at once, but hung's refresh holds it back.
  poller.Refresh(1, Clock::now(), Clock::now());
  poller.Process(Clock::now());
  CHECK(poller.InFlight() >= 1);
  CHECK(poller.TakeNews().empty());
  auto until = Clock::now() + std::chrono::seconds(3);
  std::vector<mpp::EventPoller::News> news;
  while (news.empty() && Clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    poller.Process(Clock::now());
    news = poller.TakeNews();
  }
  REQUIRE(news.size() == 2);
  CHECK(news[0].node == 0);
  CHECK(news[0].result.outcome == mpp::PollOutcome::kRefused);
  CHECK(news[1].node == 1);
  CHECK(news[1].result.outcome == mpp::PollOutcome::kTimeout);
  CHECK(poller.InFlight() == 0);
  CHECK(poller.TakeNews().empty());
}

TEST_CASE("EventPoller: a refresh that hangs holds news back no longer than kRefreshHold") {
  LoopbackPort closed(false), hung(true);
  mpp::Config cfg = TestConfig();  // hung's refresh runs 900ms
  cfg.nodes = {Node("closed", closed.port()), Node("hung", hung.port())};
  mpp::EventPoller poller;
  auto start = Clock::now();
  poller.Configure(cfg, start);
  poller.Refresh(1, start, start);
  poller.Refresh(0, start, start);
  std::vector<mpp::EventPoller::News> news;
  while (news.empty() && Clock::now() < start + std::chrono::seconds(3)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    poller.Process(Clock::now());
    news = poller.TakeNews();
  }
  REQUIRE(news.size() == 1);
  CHECK(news[0].node == 0);
  CHECK(Clock::now() - start >= mpp::EventPoller::kRefreshHold);
  CHECK(poller.InFlight() == 1);  // hung's answer comes later, as news of its own
}
