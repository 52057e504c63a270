// One mppstate per state directory: an exclusive flock(2) on
// state_dir/mppstate.lock, taken before anything in the directory is
// touched and held for the life of the process (the kernel releases it when
// the process dies, however it dies, so a lock file left behind blocks no
// one). The owner's pid is written into the file so that a second daemon can
// say who owns the directory. The descriptor is close-on-exec: hooks do not
// inherit it.
// Thread-safety: one owner.
#pragma once

#include <string>

namespace mpp {

class StateDirLock {
 public:
  enum class Result {
    kLocked,  // ours now
    kBusy,    // another process holds it; *err names it
    kFailed,  // the lock file cannot be opened or locked; *err says why
  };

  StateDirLock() = default;
  ~StateDirLock() { Release(); }
  StateDirLock(const StateDirLock&) = delete;
  StateDirLock& operator=(const StateDirLock&) = delete;
  StateDirLock(StateDirLock&& other) noexcept;
  StateDirLock& operator=(StateDirLock&& other) noexcept;

  // Takes the lock of state_dir, which must exist, without waiting. On
  // kBusy, *err is "another mppstate (pid N) owns DIR". *failed_errno gets
  // errno on kFailed (ENOENT: no such directory) if not null. A lock held
  // before is released once the new one is taken.
  // REQUIRES: this process does not hold state_dir's lock already (flock
  // locks of two descriptors conflict even within one process).
  Result Acquire(const std::string& state_dir, std::string* err, int* failed_errno = nullptr);
  void Release();
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace mpp
