#include "mppstate/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include "common/paths.h"
#include "common/state_reader.h"
#include "mppstate/checkpoints.h"
#include "mppstate/concurrent_poller.h"
#include "config/config.h"
#include "core/evaluation.h"
#include "mppstate/fencing.h"
#include "mppstate/logger.h"
#include "mppstate/notifier.h"
#include "mppstate/poller.h"
#include "mppstate/state_writer.h"
#include "core/status_format.h"

namespace mpp {
namespace {

using Clock = std::chrono::steady_clock;

int64_t WallMs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::vector<std::string> Words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

bool MakeDirs(const std::string& path) {
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i < path.size() && path[i] != '/') continue;
    std::string part = path.substr(0, i);
    if (mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) return false;
  }
  return true;
}

// What the previous state file recorded, so a restart keeps the writer.
std::vector<std::pair<std::string, State>> RecordedStates(const std::string& path) {
  std::vector<std::pair<std::string, State>> out;
  static char buf[kStateFileMax];
  StateFile f;
  const char* why;
  if (LoadStateFile(path.c_str(), buf, sizeof buf, &f, &why) != StateError::kOk) return out;
  StateCursor c = BeginRecords(f);
  NodeRecord n;
  while (NextNode(&c, &n)) {
    State s;
    std::string state(n.state.data, n.state.len);
    if (ParseState(state.c_str(), &s)) out.emplace_back(std::string(n.name.data, n.name.len), s);
  }
  return out;
}

// A client of the control socket waiting for the result of its command.
struct PendingClient {
  int fd;
  size_t command_index;
  bool release_read_only = false;  // switchover: read_only OFF on the target once applied
  std::string fenced;              // switchover: the old writer, unfenced if the move fails
};

class Daemon {
 public:
  explicit Daemon(const DaemonOptions& opt) : opt_(opt) {}
  int Run();

 private:
  bool Setup();
  void OpenControlSocket();
  void CloseControlSocket();
  void Round();
  void Reload();
  void WaitForNextRound(Clock::time_point next);
  void HandleClient(int fd);
  std::string Switchover(const std::vector<std::string>& words, int fd);
  void Reply(int fd, bool ok, const std::string& body);
  void LogChanges(const Evaluation& before);
  void Fence();
  void Notify();
  void WriteFiles();

  DaemonOptions opt_;
  Config cfg_;
  Evaluation ev_;
  ConcurrentPoller poller_;
  Notifier notifier_;
  std::vector<Command> commands_;
  std::vector<PendingClient> pending_;
  std::string socket_path_;
  int ctl_fd_ = -1;
  int sig_fd_ = -1;
  bool stop_ = false;
  bool write_failing_ = false;
};

bool Daemon::Setup() {
  std::vector<std::string> errors;
  if (!LoadConfig(opt_.config_path, &cfg_, &errors)) {
    for (const std::string& e : errors) Log(LogLevel::kError, "%s", e.c_str());
    return false;
  }
  if (!MakeDirs(cfg_.state_dir)) {
    Log(LogLevel::kError, "%s: cannot create: %s", cfg_.state_dir.c_str(), strerror(errno));
    return false;
  }
  ev_ = InitialEvaluation(cfg_, RecordedStates(StateFilePath(cfg_.state_dir)));
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  // Blocked before any poller thread starts, so they inherit the mask and
  // signals reach the signalfd only.
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  sig_fd_ = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  signal(SIGPIPE, SIG_IGN);
  InitMysqlLibrary();
  if (!opt_.once) OpenControlSocket();
  Log(LogLevel::kNotice, "mppstate %s started: %zu pools, %zu nodes, %zu virtual servers, interval %lldms",
      MPP_VERSION, cfg_.pools.size(), cfg_.nodes.size(), cfg_.vss.size(),
      static_cast<long long>(cfg_.interval_ms));
  return true;
}

void Daemon::OpenControlSocket() {
  socket_path_ = ControlSocketPath(cfg_.state_dir);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof addr.sun_path) {
    Log(LogLevel::kError, "%s: path too long for a socket; mppctl is unavailable", socket_path_.c_str());
    return;
  }
  memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size());
  struct stat st;
  if (lstat(socket_path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) unlink(socket_path_.c_str());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  // Created with no permission for others, then opened to the group only.
  mode_t old_mask = umask(0117);
  bool ok = fd >= 0 && bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) == 0;
  umask(old_mask);
  if (!ok || chmod(socket_path_.c_str(), 0660) != 0 || listen(fd, 16) != 0) {
    Log(LogLevel::kError, "%s: cannot listen: %s; mppctl is unavailable", socket_path_.c_str(), strerror(errno));
    if (fd >= 0) close(fd);
    return;
  }
  ctl_fd_ = fd;
}

void Daemon::CloseControlSocket() {
  if (ctl_fd_ < 0) return;
  close(ctl_fd_);
  ctl_fd_ = -1;
  unlink(socket_path_.c_str());
}

int Daemon::Run() {
  if (!Setup()) return 2;
  Clock::time_point next = Clock::now();
  while (!stop_) {
    Clock::time_point start = Clock::now();
    next = start + std::chrono::milliseconds(cfg_.interval_ms);
    Round();
    if (opt_.once) break;
    WaitForNextRound(next);
  }
  for (const PendingClient& c : pending_) Reply(c.fd, false, "mppstate is stopping\n");
  CloseControlSocket();
  // Let no poll thread sit inside the client library while we exit: a poll
  // of a stopped server can take the connect timeout plus one query timeout
  // per statement.
  bool idle = poller_.WaitIdle(Clock::now() + std::chrono::milliseconds(cfg_.connect_timeout_ms +
                                                                         3 * cfg_.query_timeout_ms + 500));
  Log(LogLevel::kNotice, "mppstate stopped");
  if (!idle) _exit(0);  // no teardown under a thread still in the client library
  return 0;
}

void Daemon::Round() {
  int64_t budget = std::min(cfg_.interval_ms * 9 / 10, cfg_.connect_timeout_ms + 2 * cfg_.query_timeout_ms);
  if (opt_.once) budget = cfg_.connect_timeout_ms + 2 * cfg_.query_timeout_ms;
  RoundInput in;
  in.polls = poller_.PollAll(cfg_, Clock::now() + std::chrono::milliseconds(budget));
  bool any_failed = false;
  for (const PollResult& p : in.polls) any_failed = any_failed || PollFailed(p.outcome);
  if (!cfg_.checkpoints.empty() && any_failed)
    in.isolated = ProbeCheckpoints(cfg_.checkpoints, cfg_.connect_timeout_ms) == 0;
  in.now_ms = WallMs();
  in.commands = commands_;
  std::vector<CommandResult> results;
  Evaluation before = ev_;
  ev_ = Evaluate(cfg_, before, in, &results);
  commands_.clear();

  LogChanges(before);
  Fence();
  Notify();
  WriteFiles();

  for (const PendingClient& c : pending_) {
    const CommandResult& r = results[c.command_index];
    if (r.ok && c.release_read_only) {
      const Command& cmd = in.commands[c.command_index];
      std::string err;
      int n = cfg_.FindNode(cmd.node);
      if (n >= 0 && !SetReadOnly(cfg_, cfg_.nodes[static_cast<size_t>(n)], false, &err))
        Log(LogLevel::kError, "switchover: read_only OFF on %s failed: %s", cmd.node.c_str(), err.c_str());
    }
    if (!r.ok && !c.fenced.empty()) {
      std::string err;
      int n = cfg_.FindNode(c.fenced);
      if (n >= 0 && !SetReadOnly(cfg_, cfg_.nodes[static_cast<size_t>(n)], false, &err))
        Log(LogLevel::kError, "switchover failed and read_only OFF on %s failed too: %s", c.fenced.c_str(),
            err.c_str());
    }
    Reply(c.fd, r.ok, r.message + "\n");
  }
  pending_.clear();
  for (const std::string& m : notifier_.Reap(in.now_ms)) Log(LogLevel::kWarning, "%s", m.c_str());
}

void Daemon::LogChanges(const Evaluation& before) {
  for (size_t p = 0; p < cfg_.pools.size(); ++p) {
    const std::string& note = ev_.pools[p].note;
    if (note != before.pools[p].note && !note.empty())
      Log(LogLevel::kNotice, "pool %s: %s", cfg_.pools[p].name.c_str(), note.c_str());
    for (int n : cfg_.pools[p].nodes) {
      const NodeEval& a = before.nodes[static_cast<size_t>(n)];
      const NodeEval& b = ev_.nodes[static_cast<size_t>(n)];
      // A new kind of poll result (e.g. ok -> access denied) is news even
      // when STATE and STATUS stay.
      bool outcome_changed = a.polled && a.last.outcome != b.last.outcome;
      if (a.state == b.state && a.status == b.status && !outcome_changed) continue;
      bool alarming = b.state == State::kFail || b.status >= Status::kWarn ||
                      b.last.outcome == PollOutcome::kAccessDenied ||
                      b.last.outcome == PollOutcome::kTooManyConnections;
      LogLevel level = alarming ? LogLevel::kWarning : a.state != b.state ? LogLevel::kNotice : LogLevel::kInfo;
      Log(level, "%s/%s %s/%s -> %s/%s: %s", cfg_.pools[p].name.c_str(),
          cfg_.nodes[static_cast<size_t>(n)].name.c_str(), StateName(a.state), StatusName(a.status),
          StateName(b.state), StatusName(b.status), b.reason.empty() ? "-" : b.reason.c_str());
    }
  }
}

void Daemon::Fence() {
  for (const Transition& t : ev_.transitions) {
    int pool = cfg_.PoolOfNode(t.node);
    if (pool < 0 || !cfg_.pools[static_cast<size_t>(pool)].manage_read_only) continue;
    if (t.cause != TransitionCause::kFailover && t.cause != TransitionCause::kFailback) continue;
    bool promote = t.to == State::kActive;
    // A dead server can hold a connect for the whole timeout: never in the
    // poll loop's way.
    Config cfg = cfg_;
    NodeConfig node = cfg_.nodes[static_cast<size_t>(t.node)];
    std::thread([cfg, node, promote] {
      MysqlThread registered;
      std::string err;
      if (!SetReadOnly(cfg, node, !promote, &err)) {
        Log(promote ? LogLevel::kError : LogLevel::kWarning, "fencing: read_only %s on %s failed: %s",
            promote ? "OFF" : "ON", node.name.c_str(), err.c_str());
        return;
      }
      Log(LogLevel::kNotice, "fencing: read_only %s on %s", promote ? "OFF" : "ON", node.name.c_str());
      if (!promote) {
        int killed = KillClientSessions(cfg, node, &err);
        if (killed >= 0) Log(LogLevel::kNotice, "fencing: killed %d client sessions on %s", killed, node.name.c_str());
      }
    }).detach();
  }
}

void Daemon::Notify() {
  if (cfg_.notify.empty()) return;
  for (const Transition& t : ev_.transitions) {
    const NodeEval& ne = ev_.nodes[static_cast<size_t>(t.node)];
    int pool = cfg_.PoolOfNode(t.node);
    std::string err;
    if (!notifier_.Start(cfg_.notify,
                         {cfg_.pools[static_cast<size_t>(pool)].name, cfg_.nodes[static_cast<size_t>(t.node)].name,
                          StateName(t.from), StateName(t.to), StatusName(ne.status), ne.reason},
                         ev_.time_ms, cfg_.notify_timeout_ms, &err))
      Log(LogLevel::kError, "notify: %s", err.c_str());
  }
}

void Daemon::WriteFiles() {
  std::string err;
  bool ok = WriteFileAtomic(StateFilePath(cfg_.state_dir), FormatStateFile(cfg_, ev_, getpid()), 0644, &err) &&
            WriteTrackFiles(cfg_, ev_, &err);
  if (!ok && !write_failing_) Log(LogLevel::kError, "cannot write state: %s", err.c_str());
  if (ok && write_failing_) Log(LogLevel::kNotice, "state written again");
  write_failing_ = !ok;
}

void Daemon::Reload() {
  Config fresh;
  std::vector<std::string> errors;
  if (!LoadConfig(opt_.config_path, &fresh, &errors)) {
    for (const std::string& e : errors) Log(LogLevel::kError, "%s", e.c_str());
    Log(LogLevel::kError, "reload failed: %zu error%s; still running the previous configuration", errors.size(),
        errors.size() == 1 ? "" : "s");
    return;
  }
  if (!MakeDirs(fresh.state_dir)) {
    Log(LogLevel::kError, "reload failed: %s: cannot create; still running the previous configuration",
        fresh.state_dir.c_str());
    return;
  }
  ev_ = RemapEvaluation(cfg_, ev_, fresh);
  bool moved = fresh.state_dir != cfg_.state_dir;
  cfg_ = fresh;
  if (moved) {
    CloseControlSocket();
    OpenControlSocket();
  }
  Log(LogLevel::kNotice, "configuration reloaded: %zu pools, %zu nodes, %zu virtual servers", cfg_.pools.size(),
      cfg_.nodes.size(), cfg_.vss.size());
}

void Daemon::WaitForNextRound(Clock::time_point next) {
  while (!stop_) {
    int64_t left = std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now()).count();
    if (left <= 0) return;
    struct pollfd fds[2] = {{sig_fd_, POLLIN, 0}, {ctl_fd_, POLLIN, 0}};
    int n = poll(fds, ctl_fd_ >= 0 ? 2 : 1, static_cast<int>(left));
    if (n < 0 && errno != EINTR) return;
    if (n <= 0) continue;
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sig_fd_, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGHUP) {
          Reload();
        } else {
          Log(LogLevel::kNotice, "signal %u: stopping", si.ssi_signo);
          stop_ = true;
        }
      }
    }
    if (ctl_fd_ >= 0 && (fds[1].revents & POLLIN)) {
      int fd = accept4(ctl_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) HandleClient(fd);
    }
  }
}

void Daemon::Reply(int fd, bool ok, const std::string& body) {
  std::string out = std::string(ok ? "ok\n" : "error\n") + body;
  const char* p = out.data();
  size_t left = out.size();
  while (left > 0) {
    ssize_t n = send(fd, p, left, MSG_NOSIGNAL);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
  close(fd);
}

void Daemon::HandleClient(int fd) {
  // One request line; a client that does not send it promptly is dropped.
  struct timeval tv = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string line;
  char buf[512];
  while (line.find('\n') == std::string::npos && line.size() < 4096) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  line = line.substr(0, line.find('\n'));
  std::vector<std::string> w = Words(line);
  if (w.empty()) {
    Reply(fd, false, "empty request\n");
    return;
  }
  const std::string& cmd = w[0];
  if (cmd == "status" && w.size() == 1) {
    Reply(fd, true, StatusTable(cfg_, ev_, WallMs()));
  } else if (cmd == "status-json" && w.size() == 1) {
    Reply(fd, true, StatusJson(cfg_, ev_));
  } else if ((cmd == "recover" || cmd == "offline" || cmd == "online") && w.size() == 2) {
    if (cfg_.FindNode(w[1]) < 0) {
      Reply(fd, false, "unknown node '" + w[1] + "'\n");
      return;
    }
    Command::Kind kind = cmd == "recover" ? Command::kRecover : cmd == "offline" ? Command::kOffline : Command::kOnline;
    commands_.push_back(Command{kind, "", w[1]});
    pending_.push_back(PendingClient{fd, commands_.size() - 1, false, ""});
  } else if (cmd == "switchover" && (w.size() == 2 || w.size() == 3)) {
    std::string err = Switchover(w, fd);
    if (!err.empty()) Reply(fd, false, err + "\n");
  } else {
    Reply(fd, false, "unknown request '" + line + "'\n");
  }
}

// A planned move: fence the writer, wait until the target applied all it
// wrote, then promote in the next round. Returns an error or "" when the
// command is queued.
std::string Daemon::Switchover(const std::vector<std::string>& w, int fd) {
  std::string why;
  int target = ChooseSwitchoverTarget(cfg_, ev_, w[1], w.size() == 3 ? w[2] : "", &why);
  if (target < 0) return why;
  int pool = cfg_.FindPool(w[1]);
  int active = ev_.ActiveOf(cfg_, pool);
  const NodeConfig& old_node = cfg_.nodes[static_cast<size_t>(active)];
  const NodeConfig& new_node = cfg_.nodes[static_cast<size_t>(target)];
  bool fence = cfg_.pools[static_cast<size_t>(pool)].manage_read_only;
  std::string err;
  Log(LogLevel::kNotice, "switchover %s: %s -> %s requested", w[1].c_str(), old_node.name.c_str(),
      new_node.name.c_str());
  if (fence) {
    if (!SetReadOnly(cfg_, old_node, true, &err)) return "switchover refused: cannot fence " + old_node.name + ": " + err;
    int killed = KillClientSessions(cfg_, old_node, &err);
    Log(LogLevel::kNotice, "switchover: read_only ON on %s, %d client sessions killed", old_node.name.c_str(),
        killed);
  }
  if (!WaitForCatchUp(cfg_, old_node, new_node, cfg_.switchover_timeout_ms, &err)) {
    if (fence) {
      std::string ignored;
      SetReadOnly(cfg_, old_node, false, &ignored);
    }
    Log(LogLevel::kWarning, "switchover %s aborted: %s", w[1].c_str(), err.c_str());
    return "switchover aborted, " + old_node.name + " stays ACTIVE: " + err;
  }
  commands_.push_back(Command{Command::kSwitchover, w[1], new_node.name});
  pending_.push_back(PendingClient{fd, commands_.size() - 1, fence, fence ? old_node.name : ""});
  return "";
}

}  // namespace

int RunDaemon(const DaemonOptions& opt) {
  Daemon d(opt);
  return d.Run();
}

}  // namespace mpp
