#include "mppstate/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/control_protocol.h"
#include "common/paths.h"
#include "config/config.h"
#include "core/evaluation.h"
#include "core/status_format.h"
#include "metrics/metrics_endpoint.h"
#include "mppstate/checkpoints.h"
#include "mppstate/control_server.h"
#include "mppstate/daemon_metrics.h"
#include "mppstate/director_pair.h"
#include "mppstate/event_poller.h"
#include "mppstate/logger.h"
#include "mppstate/mysql_connect.h"
#include "mppstate/notifier.h"
#include "mppstate/restart_memory.h"
#include "mppstate/state_dir_lock.h"
#include "mppstate/state_writer.h"
#include "mppstate/topology_follower.h"

namespace mpp {
namespace {

using Clock = std::chrono::steady_clock;

// Between two polls of a standby that a failover waits for.
constexpr std::chrono::milliseconds kAwaitedPollSpacing{30};

// A failover's first phase began in some pool: its plan is due now.
bool SeveringBegan(const Evaluation& before, const Evaluation& now) {
  for (size_t p = 0; p < now.pools.size() && p < before.pools.size(); ++p)
    if (now.pools[p].severing != before.pools[p].severing && !now.pools[p].severing.empty()) return true;
  return false;
}

// Wall time only for what is written as time (time_ms, since_ms); every
// duration is measured on the monotonic clock, which NTP or an operator
// cannot step.
int64_t WallMs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

int64_t MonoMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// The monitor's own faults (no thread, no descriptor) when a node stops or
// starts being polled: a director short of resources is news about us, not
// about the nodes. One shortage shows as several messages (the login file,
// then socket()), so a new message alone is not logged again.
void LogMonitorErrors(const Config& cfg, const Evaluation& before, const Evaluation& after) {
  for (size_t n = 0; n < after.nodes.size() && n < before.nodes.size(); ++n) {
    const std::string& was = before.nodes[n].monitor_error;
    const std::string& is = after.nodes[n].monitor_error;
    if (was.empty() == is.empty()) continue;
    if (!is.empty())
      Log(LogLevel::kError, "monitor: cannot poll %s: %s", cfg.nodes[n].name.c_str(), is.c_str());
    else
      Log(LogLevel::kNotice, "monitor: polling %s again", cfg.nodes[n].name.c_str());
  }
}

// A watch connection per node, and a poll per node in flight: a thousand
// nodes need more descriptors than the usual soft limit of 1024. epoll has
// no FD_SETSIZE, so the hard limit is ours to take.
void RaiseDescriptorLimit() {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
    Log(LogLevel::kWarning, "cannot raise the open files limit: %s", strerror(errno));
}

bool MakeDirs(const std::string& path) {
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i < path.size() && path[i] != '/') continue;
    std::string part = path.substr(0, i);
    if (mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) return false;
  }
  return true;
}

// Two spellings of one directory share one lock.
bool SameDirectory(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// A client of the control socket waiting for the result of its command.
struct PendingClient {
  uint64_t client;  // ControlServer's id
  size_t command_index;
};

class Daemon {
 public:
  explicit Daemon(const DaemonOptions& opt)
      : opt_(opt),
        metrics_(WallMs()),
        endpoint_([](const std::string& m) { Log(LogLevel::kError, "%s", m.c_str()); }) {}
  int Run();

 private:
  bool Setup();
  void OpenControlSocket();
  void OpenMetrics();
  std::string RenderMetrics() const;
  void CloseControlSocket();
  ControlServer::Limits ControlLimits() const;
  void Serve();
  void StartRound(Clock::time_point now);
  void EvaluateNow(RoundInput in);
  bool StartPair();
  void Reload();
  void HandleRequest(const ControlServer::Request& r);
  void Reply(uint64_t client, bool ok, const std::string& body);
  void Answer(const std::vector<TopologyFollower::Answer>& answers);
  void TakeTopologyReports();
  void LogChanges(const Evaluation& before);
  void Notify();
  void WriteFiles();
  bool LoadMemory();

  DaemonOptions opt_;
  Config cfg_;
  std::shared_ptr<const Config> shared_cfg_;  // cfg_, for the topology worker's steps
  Evaluation ev_;
  EventPoller poller_;
  Clock::time_point next_round_;
  Notifier notifier_;
  std::vector<Command> commands_;
  std::vector<PendingClient> pending_;
  StateDirLock lock_;
  PoolMemoryWriter memory_;
  ControlServer ctl_;
  TopologyFollower topology_;
  int sig_fd_ = -1;
  bool stop_ = false;
  bool topology_reported_ = false;  // the worker reported since the last evaluation
  bool write_failing_ = false;
  std::set<std::string> strict_mode_told_;  // nodes logged once for gtid_strict_mode = OFF
  // A director pair ([cluster]), and whether it has news for an
  // evaluation.
  std::unique_ptr<DirectorPair> pair_;
  bool pair_news_ = false;
  // The metrics page ([global] metrics, doc/metrics.md), and why its
  // address cannot be listened on ("" when it can), logged once.
  DaemonMetrics metrics_;
  MetricsEndpoint endpoint_;
  std::string metrics_error_;
  Clock::time_point round_started_;
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
  // Before anything in state_dir is touched: a second mppstate (or --once
  // beside a running one) would take turns writing the state file and remove
  // the owner's socket.
  std::string lock_err;
  if (lock_.Acquire(cfg_.state_dir, &lock_err) != StateDirLock::Result::kLocked) {
    Log(LogLevel::kError, "%s", lock_err.c_str());
    return false;
  }
  // Track files of a vs or node the config no longer has (changed while we
  // were stopped): down, then gone.
  std::string sweep_err;
  if (!SweepTrackFiles(cfg_, &sweep_err)) Log(LogLevel::kError, "track files: %s", sweep_err.c_str());
  if (!LoadMemory()) return false;
  RaiseDescriptorLimit();
  if (!poller_.error().empty()) {
    Log(LogLevel::kError, "cannot poll: %s", poller_.error().c_str());
    return false;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  // Blocked before the topology worker starts, so it inherits the mask and
  // signals reach the signalfd only.
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  sig_fd_ = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  signal(SIGPIPE, SIG_IGN);
  InitMysqlLibrary();
  shared_cfg_ = std::make_shared<const Config>(cfg_);
  poller_.SetWatching(cfg_.watch && !opt_.once);
  // Node indices are the current config's: Configure follows every reload.
  poller_.SetObserver(EventPoller::Observer{
      [this](size_t node, PollOutcome outcome, EventPoller::Clock::duration took) {
        if (node < cfg_.nodes.size())
          metrics_.ObservePoll(cfg_.nodes[node].name, outcome, std::chrono::duration<double>(took).count());
      },
      [this](size_t node) {
        if (node < cfg_.nodes.size()) metrics_.ObserveDeadlineMiss(cfg_.nodes[node].name);
      }});
  topology_.SetReportObserver([this](const TopologyReport& r) {
    metrics_.ObserveTopologyReport(cfg_, ev_, r);
    // A failover waits for its severed replicas' polls: taken now, not a
    // round later.
    int n = cfg_.FindNode(r.node);
    if (r.step == TopologyStepKind::kSever && r.outcome.ok && n >= 0 && !opt_.once)
      poller_.Refresh(static_cast<size_t>(n), Clock::now(), Clock::now());
  });
  poller_.Configure(cfg_, Clock::now());
  if (cfg_.cluster.enabled && !StartPair()) return false;
  std::string worker_err;
  if (!topology_.Start(&worker_err)) {
    Log(LogLevel::kError, "%s", worker_err.c_str());
    return false;
  }
  if (!opt_.once) {
    OpenControlSocket();
    OpenMetrics();
  }
  Log(LogLevel::kNotice, "mppstate %s started: %zu pools, %zu nodes, %zu virtual servers, interval %lldms",
      MPP_VERSION, cfg_.pools.size(), cfg_.nodes.size(), cfg_.vss.size(),
      static_cast<long long>(cfg_.interval_ms));
  return true;
}

// Joins the director pair: the session with etcd runs on its own threads,
// and the topology worker asks it before each change to a database.
bool Daemon::StartPair() {
  if (opt_.once) {
    Log(LogLevel::kError, "--once cannot run in a director pair ([cluster]): only the leader decides");
    return false;
  }
  std::string err;
  pair_ = DirectorPair::Start(cfg_, &err);
  if (!pair_) {
    Log(LogLevel::kError, "%s", err.c_str());
    return false;
  }
  topology_.SetGuard(pair_->Guard());
  ev_.cluster = pair_->Role(cfg_, false);
  return true;
}

// The first evaluation carries over what the last run decided: the pool
// memory in data_dir, or, when there is none yet (the first start, or an
// upgrade), the previous state file. A memory that cannot be read stops the
// start: without it a demoted ex-writer would be trusted again.
bool Daemon::LoadMemory() {
  if (!MakeDirs(cfg_.data_dir)) {
    Log(LogLevel::kError, "%s: cannot create: %s", cfg_.data_dir.c_str(), strerror(errno));
    return false;
  }
  PoolMemory memory;
  std::string err;
  std::vector<std::pair<std::string, State>> recorded = RecordedStates(StateFilePath(cfg_.state_dir));
  switch (LoadPoolMemory(cfg_.data_dir, &memory, &err)) {
    case MemoryLoad::kError:
      Log(LogLevel::kError, "%s; not starting: check it, or move it away to start without memory", err.c_str());
      return false;
    case MemoryLoad::kMissing:
      ev_ = InitialEvaluation(cfg_, recorded, nullptr);
      memory_.Start(cfg_.data_dir, nullptr);
      break;
    case MemoryLoad::kLoaded:
      ev_ = InitialEvaluation(cfg_, recorded, &memory);
      memory_.Start(cfg_.data_dir, &memory);
      break;
  }
  return true;
}

// Listens at state_dir's socket; clients already connected stay.
void Daemon::OpenControlSocket() {
  ctl_.SetLimits(ControlLimits());
  std::string err;
  if (!ctl_.Listen(ControlSocketPath(cfg_.state_dir), &err))
    Log(LogLevel::kError, "%s; mppctl is unavailable", err.c_str());
}

void Daemon::CloseControlSocket() { ctl_.Close(); }

// Listens where [global] metrics says, unless it already does. A failure
// is logged once and tried again every round: the port may be freed, and
// metrics never stop mppstate from doing its work.
void Daemon::OpenMetrics() {
  if (cfg_.metrics.kind == Address::kNone) {
    endpoint_.Close();
    metrics_error_.clear();
    return;
  }
  if (endpoint_.listening() && endpoint_.address() == cfg_.metrics) return;
  std::string err;
  if (endpoint_.Listen(cfg_.metrics, [this] { return RenderMetrics(); }, &err)) {
    if (!metrics_error_.empty()) Log(LogLevel::kNotice, "metrics: listening again");
    metrics_error_.clear();
    return;
  }
  if (err != metrics_error_) {
    Log(LogLevel::kError, "%s; %s", err.c_str(),
        endpoint_.listening() ? "the previous address stays" : "trying again every round");
  }
  metrics_error_ = err;
}

std::string Daemon::RenderMetrics() const {
  DaemonMetrics::Gauges g;
  g.control_clients = ctl_.clients();
  g.control = ctl_.counters();
  g.watch_connections = poller_.Watching();
  g.watch_drops = poller_.watch_drops();
  g.endpoint = endpoint_.counters();
  return metrics_.Render(cfg_, ev_, g);
}

ControlServer::Limits Daemon::ControlLimits() const {
  ControlServer::Limits l;
  // A command is answered once evaluated, at once. A switchover first
  // waits for the catch-up, then for the promotion; a rejoin for a fence
  // and an attachment: a few intervals and timeouts.
  l.answer_time = std::chrono::milliseconds(4 * cfg_.interval_ms + 2 * cfg_.switchover_timeout_ms +
                                            3 * cfg_.connect_timeout_ms + 4 * cfg_.query_timeout_ms);
  return l;
}

int Daemon::Run() {
  if (!Setup()) return 2;
  if (opt_.once) {
    // One evaluation, no change to any database.
    RoundInput in;
    in.polls = poller_.PollAll(
        cfg_, Clock::now() + std::chrono::milliseconds(cfg_.connect_timeout_ms + 2 * cfg_.query_timeout_ms));
    EvaluateNow(std::move(in));
  } else {
    next_round_ = Clock::now();
    while (!stop_) Serve();
  }
  for (const PendingClient& c : pending_) Reply(c.client, false, "mppstate is stopping\n");
  // A step against a stopped server can take a connect timeout plus a few
  // query timeouts; every step is taken again after a restart if needed.
  std::vector<TopologyFollower::Answer> last;
  bool worker_idle = topology_.Stop(cfg_.connect_timeout_ms + 3 * cfg_.query_timeout_ms + 500, &last);
  Answer(last);
  // After the worker: no change to a database follows the resignation,
  // which lets the other director take over at once.
  if (pair_ && worker_idle) pair_->Stop(true);
  CloseControlSocket();
  endpoint_.Close();
  Log(LogLevel::kNotice, "mppstate stopped");
  if (!worker_idle) _exit(0);  // no teardown under a thread still in the client library
  return 0;
}

// Every interval a round starts; its polls run while the loop serves
// everything else. A poll answers for the round within 0.9 interval, and may
// run on up to its timeouts: a node still not answering when the next round
// starts has missed that one too.
void Daemon::StartRound(Clock::time_point now) {
  int64_t budget = cfg_.connect_timeout_ms + 2 * cfg_.query_timeout_ms;
  poller_.StartRound(now, now + std::chrono::milliseconds(std::min(cfg_.interval_ms * 9 / 10, budget)),
                     now + std::chrono::milliseconds(budget));
  next_round_ = now + std::chrono::milliseconds(cfg_.interval_ms);
  round_started_ = now;
  if (!metrics_error_.empty()) OpenMetrics();
}

// One turn of the loop: wait for whatever comes first (a socket of a poll
// or a watch, a client, the worker, a signal, a timer), then handle all
// that is ready. A decision is evaluated, and the state file written, as
// soon as there is news: a round complete, a confirmed failure, a command.
void Daemon::Serve() {
  Clock::time_point now = Clock::now();
  if (now >= next_round_ && !poller_.round_running()) StartRound(now);
  std::vector<struct pollfd> fds = {{sig_fd_, POLLIN, 0},
                                    {topology_.event_fd(), POLLIN, 0},
                                    {poller_.fd(), POLLIN, 0},
                                    {pair_ ? pair_->event_fd() : -1, POLLIN, 0},
                                    {endpoint_.fd(), POLLIN, 0}};
  constexpr size_t kFixedFds = 5;  // the control server's follow
  ctl_.PollFds(&fds);
  Clock::time_point wake = std::min({next_round_, poller_.NextWake(), ctl_.NextDeadline(), endpoint_.NextWake()});
  // Rounded up: waking a little early would only spin.
  int64_t left = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now + std::chrono::microseconds(999))
                     .count();
  int n = poll(fds.data(), fds.size(), static_cast<int>(std::clamp<int64_t>(left, 0, 60000)));
  if (n < 0 && errno != EINTR) {
    Log(LogLevel::kError, "poll: %s", strerror(errno));
    stop_ = true;
    return;
  }
  Clock::time_point served = Clock::now();
  if (fds[1].revents & POLLIN) TakeTopologyReports();
  if ((fds[3].revents & POLLIN) && pair_->TakeNews()) pair_news_ = true;
  poller_.Process(served);
  std::vector<PollResult> polls;
  if (poller_.TakeRound(&polls)) {
    RoundInput in;
    in.polls = std::move(polls);
    EvaluateNow(std::move(in));
    metrics_.ObserveRound(std::chrono::duration<double>(Clock::now() - round_started_).count());
  }
  for (const ControlServer::Request& r : ctl_.Process(fds.data() + kFixedFds, fds.size() - kFixedFds, served))
    HandleRequest(r);
  // A scrape is answered from what this loop holds now.
  if ((fds[4].revents & POLLIN) || served >= endpoint_.NextWake()) endpoint_.Process(served);
  std::vector<EventPoller::News> news = poller_.TakeNews();
  // Each poll counts: two of one node (a held-back confirmation and the
  // next) are two evaluations, in order.
  size_t next = 0;
  do {
    if (news.empty() && commands_.empty() && !topology_reported_ && !pair_news_) break;
    RoundInput in;
    in.between_rounds = true;
    in.polls.resize(cfg_.nodes.size());  // kNotPolled: no news
    for (; next < news.size(); ++next) {
      size_t node = news[next].node;
      if (node >= in.polls.size()) continue;
      if (in.polls[node].outcome != PollOutcome::kNotPolled) break;
      in.polls[node] = std::move(news[next].result);
    }
    EvaluateNow(std::move(in));
  } while (next < news.size());
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
  // What the loop spent on its own work is not the clients' time.
  ctl_.Stall(Clock::now() - served);
}

// Evaluates a round, or the news between rounds, and makes it known: the
// log, the notify hook, the state file, the worker, the clients.
void Daemon::EvaluateNow(RoundInput in) {
  bool any_failed = false;
  for (const PollResult& p : in.polls) any_failed = any_failed || PollFailed(p.outcome);
  if (!cfg_.checkpoints.empty() && any_failed)
    in.isolated = ProbeCheckpoints(cfg_.checkpoints, cfg_.connect_timeout_ms) == 0;
  else if (in.between_rounds)
    in.isolated = ev_.isolated;  // no failure since the last round: nothing to re-check
  in.now_ms = WallMs();
  in.mono_ms = MonoMs();
  TakeTopologyReports();
  topology_reported_ = false;
  in.topology = topology_.Facts(cfg_);
  in.commands = std::move(commands_);
  commands_.clear();
  std::vector<CommandResult> results;
  Evaluation before = ev_;
  pair_news_ = false;
  ev_ = pair_ ? pair_->Evaluate(cfg_, before, in, &results) : Evaluate(cfg_, before, in, &results);
  bool deciding = !pair_ || ev_.cluster.deciding;
  metrics_.ObserveEvaluation(cfg_, before, ev_, in.mono_ms);

  LogChanges(before);
  LogMonitorErrors(cfg_, before, ev_);
  // Finished hooks leave room for this round's.
  for (const std::string& m : notifier_.Reap(in.mono_ms)) Log(LogLevel::kWarning, "%s", m.c_str());
  Notify();
  // The state file first: the VIP leaves a demoted writer before the
  // worker fences it, and never waits for the worker.
  WriteFiles();
  // A failover that waits for a standby's relay log is decided as soon as
  // a poll shows it applied, not a round later.
  for (const PoolEval& pe : ev_.pools)
    if (pe.awaited >= 0 && !opt_.once && deciding)
      poller_.Refresh(static_cast<size_t>(pe.awaited), Clock::now() + kAwaitedPollSpacing, Clock::now());
  if (!opt_.once) {
    // A round offers the worker its plan; news between rounds only when
    // the decision moved, so a failing step is retried once a round.
    std::vector<TopologyFollower::Answer> answers;
    // Only a deciding director changes databases (a follower's plan would
    // fight the leader's).
    bool offer = deciding && (!in.between_rounds || !ev_.transitions.empty() || SeveringBegan(before, ev_));
    topology_.AfterRound(shared_cfg_, ev_, in.commands, results, offer, &answers);
    Answer(answers);
  }

  for (const PendingClient& c : pending_) {
    const CommandResult& r = results[c.command_index];
    Reply(c.client, r.ok, r.message + "\n");
  }
  pending_.clear();
}

void Daemon::Answer(const std::vector<TopologyFollower::Answer>& answers) {
  for (const TopologyFollower::Answer& a : answers) Reply(a.client, a.ok, a.body);
}

// The worker's reports: facts for the next round, answers now, and a
// switchover that caught up becomes a command of the next round.
void Daemon::TakeTopologyReports() {
  std::vector<TopologyFollower::Answer> answers;
  if (topology_.TakeReports(&commands_, &answers)) topology_reported_ = true;
  Answer(answers);
}

void Daemon::LogChanges(const Evaluation& before) {
  for (size_t p = 0; p < cfg_.pools.size(); ++p) {
    const std::string& note = ev_.pools[p].note;
    if (note != before.pools[p].note && !note.empty())
      Log(LogLevel::kNotice, "pool %s: %s", cfg_.pools[p].name.c_str(), note.c_str());
    for (int n : cfg_.pools[p].nodes) {
      const NodeEval& a = before.nodes[static_cast<size_t>(n)];
      const NodeEval& b = ev_.nodes[static_cast<size_t>(n)];
      const std::string& name = cfg_.nodes[static_cast<size_t>(n)].name;
      if (b.last.strict_mode == 0 && strict_mode_told_.insert(name).second)
        Log(LogLevel::kWarning,
            "%s/%s: gtid_strict_mode is OFF: a transaction written on a replica is accepted silently; MPP "
            "finds it in gtid_binlog_state, but ON stops it at once",
            cfg_.pools[p].name.c_str(), name.c_str());
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

void Daemon::Notify() {
  if (cfg_.notify.empty()) return;
  for (const Transition& t : ev_.transitions) {
    const NodeEval& ne = ev_.nodes[static_cast<size_t>(t.node)];
    int pool = cfg_.PoolOfNode(t.node);
    std::string err;
    if (!notifier_.Start(cfg_.notify,
                         {cfg_.pools[static_cast<size_t>(pool)].name, cfg_.nodes[static_cast<size_t>(t.node)].name,
                          StateName(t.from), StateName(t.to), StatusName(ne.status), ne.reason},
                         MonoMs(), cfg_.notify_timeout_ms, &err))
      Log(LogLevel::kError, "notify: %s", err.c_str());
  }
}

void Daemon::WriteFiles() {
  std::string err;
  // The memory first: what the state file announces, a restart must know.
  bool ok = memory_.Save(RememberPools(cfg_, ev_), &err) &&
            WriteFileAtomic(StateFilePath(cfg_.state_dir), FormatStateFile(cfg_, ev_, getpid()), 0644, &err) &&
            WriteTrackFiles(cfg_, ev_, &err);
  metrics_.ObserveStateWrite(ok, WallMs());
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
  std::string refused = WhyReloadRefused(cfg_, ev_, fresh);
  if (refused.empty() && fresh.cluster != cfg_.cluster)
    refused = "[cluster] changed: restart mppstate to join the pair anew";
  if (!refused.empty()) {
    Log(LogLevel::kError, "reload refused: %s; still running the previous configuration", refused.c_str());
    return;
  }
  if (!MakeDirs(fresh.data_dir)) {
    Log(LogLevel::kError, "reload failed: %s: cannot create; still running the previous configuration",
        fresh.data_dir.c_str());
    return;
  }
  if (!MakeDirs(fresh.state_dir)) {
    Log(LogLevel::kError, "reload failed: %s: cannot create; still running the previous configuration",
        fresh.state_dir.c_str());
    return;
  }
  bool moved = fresh.state_dir != cfg_.state_dir;
  // The new directory's lock first: another daemon may own it.
  StateDirLock lock;
  std::string err;
  if (moved && !SameDirectory(fresh.state_dir, cfg_.state_dir) &&
      lock.Acquire(fresh.state_dir, &err) != StateDirLock::Result::kLocked) {
    Log(LogLevel::kError, "reload failed: %s; still running the previous configuration", err.c_str());
    return;
  }
  ev_ = RemapEvaluation(cfg_, ev_, fresh);
  if (fresh.data_dir != cfg_.data_dir) memory_.Start(fresh.data_dir, nullptr);  // written there next round
  cfg_ = fresh;
  shared_cfg_ = std::make_shared<const Config>(cfg_);
  poller_.SetWatching(cfg_.watch);
  poller_.Configure(cfg_, Clock::now());  // a round in progress is abandoned:
  next_round_ = Clock::now();             // the next one starts at once
  std::string sweep_err;  // before the next round writes any up
  if (!SweepTrackFiles(cfg_, &sweep_err)) Log(LogLevel::kError, "track files: %s", sweep_err.c_str());
  ctl_.SetLimits(ControlLimits());
  // The old socket goes before the old lock, which may go to another daemon.
  if (moved) OpenControlSocket();
  OpenMetrics();
  if (lock.held()) lock_ = std::move(lock);
  Log(LogLevel::kNotice, "configuration reloaded: %zu pools, %zu nodes, %zu virtual servers", cfg_.pools.size(),
      cfg_.nodes.size(), cfg_.vss.size());
}

void Daemon::Reply(uint64_t client, bool ok, const std::string& body) { ctl_.Reply(client, ok, body, Clock::now()); }

// Answers at once, or queues the command for the next round and answers
// then (pending_).
void Daemon::HandleRequest(const ControlServer::Request& r) {
  std::vector<std::string> w = RequestWords(r.line);
  if (w.empty()) {
    Reply(r.client, false, "empty request\n");
    return;
  }
  const std::string& cmd = w[0];
  if (cmd == kRequestStatus && w.size() == 1) {
    Reply(r.client, true, StatusTable(cfg_, ev_, WallMs()));
  } else if (cmd == kRequestStatusJson && w.size() == 1) {
    Reply(r.client, true, StatusJson(cfg_, ev_));
  } else if (cmd == kRequestMetrics && w.size() == 1) {
    Reply(r.client, true, RenderMetrics());
  } else if ((cmd == kRequestRecover || cmd == kRequestOffline || cmd == kRequestOnline) && w.size() == 2) {
    if (cfg_.FindNode(w[1]) < 0) {
      Reply(r.client, false, "unknown node '" + w[1] + "'\n");
      return;
    }
    Command::Kind kind = cmd == kRequestRecover  ? Command::kRecover
                         : cmd == kRequestOffline ? Command::kOffline
                                                  : Command::kOnline;
    commands_.push_back(Command{kind, "", w[1]});
    pending_.push_back(PendingClient{r.client, commands_.size() - 1});
  } else if ((cmd == kRequestSwitchover || cmd == kRequestRejoin || cmd == kRequestRewind) && pair_ &&
             !ev_.cluster.deciding) {
    Reply(r.client, false, pair_->NotDeciding() + "\n");
  } else if (cmd == kRequestSwitchover && (w.size() == 2 || w.size() == 3)) {
    std::string err = topology_.RequestSwitchover(shared_cfg_, ev_, w[1], w.size() == 3 ? w[2] : "", r.client);
    if (!err.empty()) Reply(r.client, false, err + "\n");
  } else if (cmd == kRequestRejoin && w.size() == 2) {
    std::string err = topology_.RequestRejoin(shared_cfg_, ev_, w[1], r.client);
    if (!err.empty()) Reply(r.client, false, err + "\n");
  } else if (cmd == kRequestRewind && w.size() == 2) {
    std::string err = topology_.RequestRewind(shared_cfg_, ev_, w[1], r.client);
    if (!err.empty()) Reply(r.client, false, err + "\n");
  } else {
    Reply(r.client, false, "unknown request '" + r.line + "'\n");
  }
}

}  // namespace

int RunDaemon(const DaemonOptions& opt) {
  Daemon d(opt);
  return d.Run();
}

}  // namespace mpp
