// StateDirLock: one owner per state directory, named to whoever comes second.
#include "mppstate/state_dir_lock.h"

#include <doctest/doctest.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "common/paths.h"

namespace mpp {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_CASE("StateDirLock: the second taker is refused and told the owner's pid") {
  char dir[] = "/tmp/mpp-lock-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  StateDirLock first, second;
  std::string err;
  REQUIRE(first.Acquire(dir, &err) == StateDirLock::Result::kLocked);
  CHECK(Slurp(LockFilePath(dir)) == std::to_string(getpid()) + "\n");
  CHECK(second.Acquire(dir, &err) == StateDirLock::Result::kBusy);
  CHECK(err == "another mppstate (pid " + std::to_string(getpid()) + ") owns " + dir);
  CHECK_FALSE(second.held());
  CHECK(Slurp(LockFilePath(dir)) == std::to_string(getpid()) + "\n");  // untouched

  first.Release();
  CHECK(second.Acquire(dir, &err) == StateDirLock::Result::kLocked);
  second.Release();
  unlink(LockFilePath(dir).c_str());
  rmdir(dir);
}

TEST_CASE("StateDirLock: a lock file left by a dead owner blocks no one") {
  char dir[] = "/tmp/mpp-lock-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  {
    std::ofstream stale(LockFilePath(dir));
    stale << "999999999\n";
  }
  StateDirLock lock;
  std::string err;
  REQUIRE(lock.Acquire(dir, &err) == StateDirLock::Result::kLocked);
  CHECK(Slurp(LockFilePath(dir)) == std::to_string(getpid()) + "\n");
  lock.Release();
  unlink(LockFilePath(dir).c_str());
  rmdir(dir);
}

TEST_CASE("StateDirLock: moving the lock to another directory frees the first") {
  char a[] = "/tmp/mpp-lock-XXXXXX", b[] = "/tmp/mpp-lock-XXXXXX";
  REQUIRE(mkdtemp(a) != nullptr);
  REQUIRE(mkdtemp(b) != nullptr);
  StateDirLock lock, next, other;
  std::string err;
  REQUIRE(lock.Acquire(a, &err) == StateDirLock::Result::kLocked);
  REQUIRE(next.Acquire(b, &err) == StateDirLock::Result::kLocked);
  lock = std::move(next);
  CHECK(lock.held());
  CHECK(other.Acquire(b, &err) == StateDirLock::Result::kBusy);
  CHECK(other.Acquire(a, &err) == StateDirLock::Result::kLocked);
  other.Release();
  lock.Release();
  for (const char* d : {a, b}) {
    unlink(LockFilePath(d).c_str());
    rmdir(d);
  }
}

TEST_CASE("StateDirLock: a missing directory is an error, not a lock") {
  StateDirLock lock;
  std::string err;
  int e = 0;
  CHECK(lock.Acquire("/nonexistent/mpp-state", &err, &e) == StateDirLock::Result::kFailed);
  CHECK(e == ENOENT);
  CHECK(err.find("/nonexistent/mpp-state/mppstate.lock: cannot open") == 0);
}

}  // namespace
}  // namespace mpp
