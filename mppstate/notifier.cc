#include "mppstate/notifier.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

extern char** environ;

namespace mpp {
namespace {

// The event a dropped hook was for, in the log: POOL NODE OLD NEW.
std::string EventWords(const std::vector<std::string>& args) {
  std::string out;
  for (size_t i = 0; i < args.size() && i < 4; ++i) out += (i ? " " : "") + args[i];
  return out;
}

}  // namespace

bool Notifier::Start(const std::string& prog, const std::vector<std::string>& args, int64_t now_ms,
                     int64_t timeout_ms, std::string* err) {
  if (children_.size() >= kMaxRunning) {
    *err = std::to_string(children_.size()) + " hooks still running, dropped: " + EventWords(args);
    return false;
  }
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(prog.c_str()));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The hook must not inherit our signal mask (the daemon blocks signals to
  // read them from a signalfd), nor what we or whoever started us ignore
  // (our SIGPIPE; SIGHUP under nohup): every standard signal at its default.
  sigset_t none, standard;
  sigemptyset(&none);
  sigemptyset(&standard);
  for (int sig = 1; sig < 32; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaddset(&standard, sig);
  }
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &standard);
  // Its own process group (pgid = its pid): the timeout kills the group.
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  pid_t pid;
  int rc = posix_spawn(&pid, prog.c_str(), nullptr, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    *err = prog + ": cannot run: " + strerror(rc);
    return false;
  }
  children_.push_back(Child{pid, now_ms + timeout_ms, false});
  return true;
}

std::vector<std::string> Notifier::Reap(int64_t now_ms) {
  std::vector<std::string> out;
  for (size_t i = 0; i < children_.size();) {
    Child& c = children_[i];
    int status;
    pid_t r = waitpid(c.pid, &status, WNOHANG);
    if (r == c.pid || (r < 0 && errno == ECHILD)) {
      if (r == c.pid && WIFEXITED(status) && WEXITSTATUS(status) != 0)
        out.push_back("notify hook (pid " + std::to_string(c.pid) + ") exited with " +
                      std::to_string(WEXITSTATUS(status)));
      if (r == c.pid && WIFSIGNALED(status) && !c.killed)
        out.push_back("notify hook (pid " + std::to_string(c.pid) + ") killed by signal " +
                      std::to_string(WTERMSIG(status)));
      children_.erase(children_.begin() + static_cast<long>(i));
      continue;
    }
    if (!c.killed && now_ms >= c.deadline_ms) {
      // Not reaped yet, so the group id cannot have been reused.
      kill(-c.pid, SIGKILL);
      c.killed = true;
      out.push_back("notify hook (pid " + std::to_string(c.pid) + ") timed out: killed with its process group");
    }
    ++i;
  }
  return out;
}

}  // namespace mpp
