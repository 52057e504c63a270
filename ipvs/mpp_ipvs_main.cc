// mpp-ipvs: follows mppstate's state file and sets IPVS real-server weights
// over generic netlink (see ipvs_daemon.h for the rules).
//
//   mpp-ipvs [-c FILE]            run in the foreground (systemd supervises)
//   mpp-ipvs --status [-c FILE]   print desired vs kernel, then exit
//
// Exit codes: 0 after SIGTERM/SIGINT (or --status), 1 when IPVS cannot be
// used (no IPVS in the kernel, no CAP_NET_ADMIN), 2 for a bad command line
// or config, or a config without an [ipvs] section (IPVS control is off).
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "common/paths.h"
#include "config/config.h"
#include "ipvs/ipvs_daemon.h"
#include "ipvs/ipvs_metrics.h"
#include "ipvs/ipvs_netlink.h"
#include "ipvs/state_watch.h"
#include "metrics/metrics_endpoint.h"

namespace mpp {
namespace {


void Log(const std::string& msg) {
  // One write per line so lines from a crash or a pipe stay whole.
  std::string line = "mpp-ipvs: " + msg + "\n";
  ssize_t n = write(STDERR_FILENO, line.data(), line.size());
  (void)n;
}

int64_t WallMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

int64_t MonoMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// mpp-ipvs needs no credentials: parse the file without LoadConfig's check
// of the MySQL option file, which it may not even be allowed to read.
bool ReadConfig(const std::string& path, Config* out, std::vector<std::string>* errors) {
  Config cfg;
  if (!ReadConfigFile(path, &cfg, errors)) return false;
  if (!cfg.ipvs.enabled) {
    errors->push_back(path + ": no [ipvs] section (or enabled = false): IPVS control is off");
    return false;
  }
  *out = cfg;
  return true;
}

// The metrics endpoint ([ipvs] metrics): listens where the config says,
// unless it already does. A failure is logged once and tried again every
// reconcile interval: metrics never stop IPVS control.
class Metrics {
 public:
  Metrics(const IpvsDaemon* daemon, int64_t start_wall_ms)
      : daemon_(daemon), start_wall_ms_(start_wall_ms), endpoint_(Log) {}

  void Open(const Address& addr) {
    if (addr.kind == Address::kNone) {
      endpoint_.Close();
      error_.clear();
      return;
    }
    if (endpoint_.listening() && endpoint_.address() == addr) return;
    std::string err;
    auto render = [this] { return RenderIpvsMetrics(daemon_->counters(), endpoint_.counters(), start_wall_ms_); };
    if (endpoint_.Listen(addr, render, &err)) {
      if (!error_.empty()) Log("metrics: listening again");
      error_.clear();
      return;
    }
    if (err != error_)
      Log(err + (endpoint_.listening() ? "; the previous address stays" : "; trying again every reconcile"));
    error_ = err;
  }
  bool failing() const { return !error_.empty(); }
  MetricsEndpoint& endpoint() { return endpoint_; }

 private:
  const IpvsDaemon* daemon_;
  int64_t start_wall_ms_;
  MetricsEndpoint endpoint_;
  std::string error_;
};

void Usage() {
  fprintf(stderr, "usage: mpp-ipvs [-c FILE] [--status]\n       mpp-ipvs --version\n");
}

int Run(int argc, char** argv) {
  std::string path = kDefaultConfigPath;
  bool status = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "-c" || a == "--config") && i + 1 < argc) {
      path = argv[++i];
    } else if (a == "--status") {
      status = true;
    } else if (a == "--version") {
      printf("mpp-ipvs %s\n", MPP_VERSION);
      return 0;
    } else if (a == "-h" || a == "--help") {
      Usage();
      return 0;
    } else {
      Usage();
      return 2;
    }
  }

  Config cfg;
  std::vector<std::string> errors;
  if (!ReadConfig(path, &cfg, &errors)) {
    for (const std::string& e : errors) Log(e);
    return 2;
  }

  int64_t start_wall_ms = WallMs();
  IpvsNetlink nl;
  IpvsStatus st = nl.Open();
  if (!st.ok()) {
    Log("cannot use IPVS: " + st.message());
    return 1;
  }
  IpvsDaemon daemon(&nl, Log);
  daemon.SetConfig(cfg);

  if (status) {
    std::string text = daemon.Status(WallMs());
    fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }

  // Signals arrive through a descriptor: the loop stays single-threaded and
  // a reload never runs in the middle of a reconcile.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    Log(std::string("signalfd: ") + strerror(errno));
    return 1;
  }

  Log("started (version " MPP_VERSION "), following " + daemon.StatePath());
  StateWatch watch;
  std::string watch_error;
  auto rewatch = [&]() {
    std::string err;
    if (watch.Open(daemon.config().state_dir, "state", &err)) {
      if (!watch_error.empty()) Log("watching " + daemon.config().state_dir + " again");
      watch_error.clear();
    } else if (err != watch_error) {
      watch_error = err;
      Log(err + " (retrying every reconcile interval)");
    }
  };
  rewatch();
  Metrics metrics(&daemon, start_wall_ms);
  metrics.Open(daemon.config().ipvs.metrics);
  daemon.Reconcile(WallMs());
  int64_t next = MonoMs() + daemon.config().ipvs.reconcile_interval_ms;

  for (;;) {
    MetricsEndpoint& endpoint = metrics.endpoint();
    pollfd fds[3] = {{sfd, POLLIN, 0}, {watch.fd(), POLLIN, 0}, {endpoint.fd(), POLLIN, 0}};
    int64_t wait = next - MonoMs();
    MetricsEndpoint::Clock::time_point endpoint_wake = endpoint.NextWake();
    if (endpoint_wake != MetricsEndpoint::Clock::time_point::max()) {
      // Rounded up: waking a little early would only spin.
      wait = std::min<int64_t>(wait, std::chrono::duration_cast<std::chrono::milliseconds>(
                                         endpoint_wake - MetricsEndpoint::Clock::now() + std::chrono::microseconds(999))
                                         .count());
    }
    if (wait < 0) wait = 0;
    int n = poll(fds, 3, static_cast<int>(wait));
    if (n < 0 && errno != EINTR) {
      Log(std::string("poll: ") + strerror(errno));
      return 1;
    }
    bool reconcile = false;
    bool full = false;
    if (n > 0 && (fds[0].revents & POLLIN)) {
      signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (si.ssi_signo == SIGHUP) {
          Config fresh;
          std::vector<std::string> errs;
          if (ReadConfig(path, &fresh, &errs)) {
            bool moved = fresh.state_dir != daemon.config().state_dir;
            daemon.SetConfig(fresh);
            Log("reloaded " + path);
            if (moved) rewatch();
            metrics.Open(daemon.config().ipvs.metrics);
            reconcile = full = true;
          } else {
            for (const std::string& e : errs) Log(e);
            Log("reload failed: keeping the previous config");
          }
        } else {
          Log(std::string("stopping on ") + strsignal(static_cast<int>(si.ssi_signo)));
          return 0;
        }
      }
    }
    if (n > 0 && watch.fd() >= 0 && (fds[1].revents & POLLIN)) {
      bool lost = false;
      if (watch.Drain(&lost)) reconcile = true;
      if (lost) rewatch();
    }
    // A scrape is answered from the counters as they are now.
    if ((n > 0 && (fds[2].revents & POLLIN)) || MetricsEndpoint::Clock::now() >= endpoint.NextWake())
      endpoint.Process(MetricsEndpoint::Clock::now());
    if (MonoMs() >= next) {
      if (!watch.is_open()) rewatch();
      if (metrics.failing()) metrics.Open(daemon.config().ipvs.metrics);
      reconcile = full = true;
      next = MonoMs() + daemon.config().ipvs.reconcile_interval_ms;
    }
    if (reconcile) daemon.Reconcile(WallMs(), full);
  }
}

}  // namespace
}  // namespace mpp

int main(int argc, char** argv) { return mpp::Run(argc, argv); }
