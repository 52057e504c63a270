// Runs the transition hook (`notify = /path/prog`) with execve and an
// argument vector: PROG POOL NODE OLD_STATE NEW_STATE STATUS REASON. Never
// through a shell, never blocking the poll loop: children are reaped with
// WNOHANG and killed once they outlive notify_timeout.
// Thread-safety: one Notifier per thread.
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace mpp {

class Notifier {
 public:
  // Starts prog with args (argv[0] is prog). Returns false if it could not
  // be started, with *err set.
  bool Start(const std::string& prog, const std::vector<std::string>& args, int64_t now_ms,
             int64_t timeout_ms, std::string* err);

  // Reaps finished children and kills overdue ones. Returns messages about
  // non-zero exits and kills, for the log.
  std::vector<std::string> Reap(int64_t now_ms);

  size_t Running() const { return children_.size(); }

 private:
  struct Child {
    pid_t pid;
    int64_t deadline_ms;
    bool killed;
  };
  std::vector<Child> children_;
};

}  // namespace mpp
