// Runs the transition hook (`notify = /path/prog`) with posix_spawn and an
// argument vector: PROG POOL NODE OLD_STATE NEW_STATE STATUS REASON. Never
// through a shell, never blocking the poll loop: children are reaped with
// WNOHANG.
//
// Each hook runs in a process group of its own, so that its timeout kills
// what it started too (a script's `cmd &`); only a process that leaves the
// group (setsid) escapes. At most kMaxRunning hooks run at once: one more is
// dropped, never queued, so that a hook that hangs cannot pile up
// processes. Times are milliseconds of a monotonic clock, given by the
// caller: a step of the wall clock must not cut a hook short or let it run
// on.
//
// Thread-safety: one Notifier per thread.
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace mpp {

class Notifier {
 public:
  static constexpr size_t kMaxRunning = 8;

  // Starts prog with args (argv[0] is prog) and an empty signal mask; it is
  // killed, with its process group, once now_ms + timeout_ms has passed.
  // Returns false with *err set if it could not be started, or if
  // kMaxRunning hooks still run ("8 hooks still running, dropped: " and the
  // first four args, POOL NODE OLD NEW).
  bool Start(const std::string& prog, const std::vector<std::string>& args, int64_t now_ms,
             int64_t timeout_ms, std::string* err);

  // Reaps finished hooks and kills the process groups of overdue ones.
  // Returns messages about non-zero exits and kills, for the log.
  std::vector<std::string> Reap(int64_t now_ms);

  size_t Running() const { return children_.size(); }

 private:
  struct Child {
    pid_t pid;  // also its process group
    int64_t deadline_ms;
    bool killed;
  };
  std::vector<Child> children_;
};

}  // namespace mpp
