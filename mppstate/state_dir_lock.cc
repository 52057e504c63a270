#include "mppstate/state_dir_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/decimal.h"
#include "common/paths.h"

namespace mpp {
namespace {

// The pid the owner wrote, or 0 if the file does not hold one (yet).
long OwnerPid(int fd) {
  char buf[32];
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  size_t len = static_cast<size_t>(n);
  if (buf[len - 1] == '\n') --len;
  int64_t pid;
  return ParseDecimal(buf, len, 1, INT32_MAX, &pid) ? static_cast<long>(pid) : 0;
}

}  // namespace

StateDirLock::StateDirLock(StateDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

StateDirLock& StateDirLock::operator=(StateDirLock&& other) noexcept {
  if (this != &other) {
    Release();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

StateDirLock::Result StateDirLock::Acquire(const std::string& state_dir, std::string* err, int* failed_errno) {
  std::string path = LockFilePath(state_dir);
  // No O_TRUNC: the file holds the owner's pid until we own it.
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    if (failed_errno != nullptr) *failed_errno = errno;
    *err = path + ": cannot open: " + strerror(errno);
    return Result::kFailed;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    if (e == EWOULDBLOCK) {
      long pid = OwnerPid(fd);
      *err = pid > 0 ? "another mppstate (pid " + std::to_string(pid) + ") owns " + state_dir
                     : "another mppstate owns " + state_dir;
      close(fd);
      return Result::kBusy;
    }
    close(fd);
    if (failed_errno != nullptr) *failed_errno = e;
    *err = path + ": cannot lock: " + strerror(e);
    return Result::kFailed;
  }
  // Without the pid the lock holds all the same; a second daemon just
  // cannot name us.
  std::string pid = std::to_string(getpid()) + "\n";
  bool named = ftruncate(fd, 0) == 0 && pwrite(fd, pid.data(), pid.size(), 0) == static_cast<ssize_t>(pid.size());
  (void)named;
  Release();
  fd_ = fd;
  return Result::kLocked;
}

void StateDirLock::Release() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

}  // namespace mpp
