// Notifier: the transition hook runs with exactly its argument vector and an
// empty signal mask, in a process group of its own that its timeout kills
// whole; a hook that fails is reported, and no more than kMaxRunning run at
// once. The hooks are small /bin/sh scripts written to a temporary
// directory.
#include "mppstate/notifier.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "tests/unit/test_util.h"

namespace {

using mpp::testing::TempDir;


std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Polls pred every 10ms for up to 5s.
bool WaitFor(const std::function<bool()>& pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// A file the script writes last: complete once it ends with a newline.
std::string WaitForLine(const std::string& path) {
  std::string text;
  WaitFor([&] {
    text = ReadFile(path);
    return !text.empty() && text.back() == '\n';
  });
  return text;
}

// Alive and not a zombie: an orphaned grandchild goes to init, which may
// reap it late; kill(pid, 0) alone succeeds on a zombie.
bool Alive(pid_t pid) {
  if (kill(pid, 0) != 0) return false;
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

// Reaps (at a time past every deadline) until no hook is left.
std::vector<std::string> ReapAll(mpp::Notifier* n, int64_t now_ms) {
  std::vector<std::string> all;
  WaitFor([&] {
    for (const std::string& m : n->Reap(now_ms)) all.push_back(m);
    return n->Running() == 0;
  });
  return all;
}

const std::vector<std::string> kEvent = {"main", "db1", "ACTIVE", "FAIL", "WARN", "connect timeout"};

}  // namespace

TEST_CASE("Notifier: a hook past its timeout is killed with everything it started") {
  TempDir dir;
  std::string hook = dir.Script("hook", "sleep 30 &\necho $$ $! > " + dir.Path("pids") + "\nsleep 30\n");
  mpp::Notifier n;
  std::string err;
  REQUIRE(n.Start(hook, kEvent, 1000, 500, &err));
  std::istringstream pids(WaitForLine(dir.Path("pids")));
  pid_t child = 0, grandchild = 0;
  pids >> child >> grandchild;
  REQUIRE(child > 0);
  REQUIRE(grandchild > 0);
  // A group of its own, which the grandchild shares.
  CHECK(getpgid(child) == child);
  CHECK(getpgid(grandchild) == child);
  CHECK(getpgid(0) != child);

  CHECK(n.Reap(1499).empty());  // not due yet
  CHECK(n.Running() == 1);
  CHECK(Alive(child));
  std::vector<std::string> msgs = n.Reap(1500);
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0] == "notify hook (pid " + std::to_string(child) + ") timed out: killed with its process group");

  // Reaped, and nothing of it left running.
  CHECK(ReapAll(&n, 2000).empty());
  CHECK(n.Running() == 0);
  CHECK(WaitFor([&] { return !Alive(grandchild); }));
  CHECK_FALSE(Alive(child));
}

TEST_CASE("Notifier: beyond kMaxRunning hooks the next one is dropped, not queued") {
  TempDir dir;
  std::string hook = dir.Script("hook", "exec sleep 30\n");
  mpp::Notifier n;
  std::string err;
  for (size_t i = 0; i < mpp::Notifier::kMaxRunning; ++i) REQUIRE(n.Start(hook, kEvent, 0, 60000, &err));
  CHECK(n.Running() == mpp::Notifier::kMaxRunning);
  CHECK_FALSE(n.Start(hook, {"main", "db2", "STANDBY", "ACTIVE", "INFO", "promoted"}, 0, 60000, &err));
  CHECK(err == "8 hooks still running, dropped: main db2 STANDBY ACTIVE");
  CHECK(n.Running() == mpp::Notifier::kMaxRunning);
  // Once they are gone there is room again.
  std::vector<std::string> msgs = ReapAll(&n, 60000);
  CHECK(msgs.size() == mpp::Notifier::kMaxRunning);
  CHECK(n.Start(dir.Script("quick", "exit 0\n"), kEvent, 0, 60000, &err));
  CHECK(ReapAll(&n, 0).empty());
}

TEST_CASE("Notifier: a hook that exits with a non-zero status is reported") {
  TempDir dir;
  mpp::Notifier n;
  std::string err;
  REQUIRE(n.Start(dir.Script("hook", "exit 3\n"), kEvent, 0, 60000, &err));
  std::vector<std::string> msgs = ReapAll(&n, 0);
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0].find("notify hook (pid ") == 0);
  CHECK(msgs[0].find(") exited with 3") != std::string::npos);
}

TEST_CASE("Notifier: a hook that cannot be run is an error at once") {
  TempDir dir;
  mpp::Notifier n;
  std::string err;
  CHECK_FALSE(n.Start(dir.Path("missing"), kEvent, 0, 60000, &err));
  CHECK(err == dir.Path("missing") + ": cannot run: No such file or directory");
  CHECK(n.Running() == 0);
}

TEST_CASE("Notifier: the hook gets exactly its arguments and an empty signal mask") {
  TempDir dir;
  // The masks are read by the hook process itself (exec keeps the blocked
  // mask and ignored signals): reading the shell's from a child would race
  // with the shell, which blocks every signal while it vforks.
  std::string hook = dir.Script("hook",
                                "printf '%s\\n' \"$0\" \"$@\" > " + dir.Path("argv") + "\n" +
                                    "exec grep -E '^Sig(Blk|Ign):' /proc/self/status > " + dir.Path("sig") + "\n");
  // What the daemon does: signals blocked for its signalfd, SIGPIPE ignored.
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGHUP);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  REQUIRE(pthread_sigmask(SIG_BLOCK, &block, &old_mask) == 0);
  void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);

  // Words a shell would split, expand or run: the hook must see them as they are.
  std::vector<std::string> args = {"main", "db 1", "ACTIVE", "FAIL", "WARN",
                                   "connect: $(touch " + dir.Path("pwned") + ") `id` \"q\" 'x' *; exit 1"};
  mpp::Notifier n;
  std::string err;
  bool started = n.Start(hook, args, 0, 60000, &err);
  signal(SIGPIPE, old_pipe);
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  REQUIRE(started);
  // Both files are complete once the hook has exited.
  std::vector<std::string> messages;
  REQUIRE(WaitFor([&] {
    for (const std::string& m : n.Reap(0)) messages.push_back(m);
    return n.Running() == 0;
  }));
  CHECK(messages.empty());

  std::vector<std::string> got;
  std::istringstream in(ReadFile(dir.Path("argv")));
  for (std::string line; std::getline(in, line);) got.push_back(line);
  std::vector<std::string> want = {hook};
  want.insert(want.end(), args.begin(), args.end());
  CHECK(got == want);
  CHECK(access(dir.Path("pwned").c_str(), F_OK) != 0);
  std::string sig = ReadFile(dir.Path("sig"));
  unsigned long long blocked = 1, ignored = 1;
  REQUIRE(sscanf(sig.c_str(), "SigBlk: %llx SigIgn: %llx", &blocked, &ignored) == 2);
  CHECK(blocked == 0);
  // Signals 1 to 31 (SIGPIPE among them) at their defaults. glibc's
  // posix_spawn leaves its two internal signals (32, 33) ignored; the
  // program's own C library takes them back.
  CHECK((ignored & 0x7fffffffULL) == 0);
}
