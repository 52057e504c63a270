// mpp-ipvs-bench: time from a state file change to the kernel change, with
// mpp-ipvs running, for 1, 100 and 1000 destinations. Runs in the kernel
// test guest (real IPVS); prints figures, asserts nothing about time.
//
//   mpp-ipvs-bench MPP_IPVS_BINARY [ROUNDS]
//
// Per size: N nodes in pools of 20, one IPVS service per pool, mpp-ipvs
// started on that config, then ROUNDS times each: a failover (two destinations change)
// and a change of every weight. The clock starts before the state file is
// written (with the project's writer) and stops when a netlink dump shows
// the whole change.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/decimal.h"
#include "common/paths.h"
#include "config/config.h"
#include "core/evaluation.h"
#include "ipvs/ipvs_netlink.h"
#include "mppstate/state_writer.h"

namespace mpp {
namespace {

constexpr const char* kDir = "/tmp/mpp-bench";

double NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

int64_t WallMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

[[noreturn]] void Die(const std::string& msg) {
  fprintf(stderr, "mpp-ipvs-bench: %s\n", msg.c_str());
  exit(1);
}

// A pool holds at most this many nodes: the config's lines are bounded.
constexpr int kPerPool = 20;

int Services(int n) { return (n + kPerPool - 1) / kPerPool; }

// n nodes in pools of kPerPool, one virtual server (and IPVS service) each.
std::string ConfigText(int n) {
  std::string t = "[global]\nstate_dir = " + std::string(kDir) + "\n";
  for (int s = 0; s < Services(n); ++s) {
    std::string p = std::to_string(s);
    t += "[pool p" + p + "]\nnodes = ";
    for (int i = s * kPerPool; i < n && i < (s + 1) * kPerPool; ++i) {
      t += (i > s * kPerPool ? ", n" : "n") + std::to_string(i);
    }
    t += "\n[vs v" + p + "]\naddress = 192.0.2.10:" + std::to_string(20000 + s) + "\npool = p" + p +
         "\nrole = rw\n";
  }
  for (int i = 0; i < n; ++i) {
    t += "[node n" + std::to_string(i) + "]\naddress = 192.0.2.11:" + std::to_string(10000 + i) + "\n";
  }
  // A long reconcile interval: what is measured is the inotify path.
  t += "[ipvs]\non_down = quiesce\nreconcile_interval = 1m\n";
  return t;
}

void WriteState(const Config& cfg, const std::vector<int>& weights, int64_t seq) {
  Evaluation ev;
  ev.seq = seq;
  ev.time_ms = WallMs();
  ev.nodes.resize(cfg.nodes.size());
  ev.pools.resize(cfg.pools.size());
  ev.decisions.resize(cfg.vss.size());
  for (size_t v = 0; v < cfg.vss.size(); ++v) {
    for (int node : cfg.pools[static_cast<size_t>(cfg.vss[v].pool)].nodes) {
      Decision d;
      d.up = weights[static_cast<size_t>(node)] > 0;
      d.weight = weights[static_cast<size_t>(node)];
      ev.decisions[v].push_back(d);
    }
  }
  std::string err;
  if (!WriteFileAtomic(StateFilePath(cfg.state_dir), FormatStateFile(cfg, ev, getpid()), 0644, &err)) {
    Die(err);
  }
}

// Waits until the kernel's weights are `want` (node i has port 10000+i).
// Returns false after 30 s.
bool WaitKernel(IpvsNetlink* nl, const std::vector<IpvsServiceKey>& svcs, const std::vector<int>& want) {
  std::vector<IpvsDest> dests;
  double deadline = NowMs() + 30000;
  size_t done = 0;  // services already in line
  while (NowMs() < deadline) {
    for (; done < svcs.size(); ++done) {
      IpvsStatus st = nl->ListDests(svcs[done], &dests);
      if (!st.ok()) Die(st.message());
      bool all = true;
      for (size_t i = 0; all && i < dests.size(); ++i) {
        size_t k = static_cast<size_t>(dests[i].address.port - 10000);
        all = k < want.size() && dests[i].weight == static_cast<uint32_t>(want[k]);
      }
      if (!all) break;
    }
    if (done == svcs.size()) return true;
    usleep(500);
  }
  return false;
}

void Report(int n, const char* what, std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  printf("ipvs-bench %5d destinations  %-26s median %8.2f ms  min %8.2f ms  max %8.2f ms  (%zu rounds)\n", n,
         what, ms[ms.size() / 2], ms.front(), ms.back(), ms.size());
  fflush(stdout);
}

void RunSize(const char* binary, int n, int rounds) {
  Config cfg;
  std::vector<std::string> errors;
  if (!ParseConfig(ConfigText(n), "bench.ini", &cfg, &errors)) Die(errors.empty() ? "config" : errors[0]);
  std::string cfg_path = std::string(kDir) + "/mppstate.ini";
  std::string err;
  if (!WriteFileAtomic(cfg_path, ConfigText(n), 0644, &err)) Die(err);

  IpvsNetlink nl;
  IpvsStatus st = nl.Open();
  if (!st.ok()) Die(st.message());
  std::vector<IpvsServiceKey> svcs;
  for (int v = 0; v < Services(n); ++v) {
    IpvsServiceKey svc;
    svc.address = cfg.vss[static_cast<size_t>(v)].address;
    svc.family = AF_INET;
    st = nl.AddService(svc, "wrr");
    if (!st.ok()) Die(st.message());
    for (int node : cfg.pools[static_cast<size_t>(v)].nodes) {
      IpvsDest d;
      d.address = cfg.nodes[static_cast<size_t>(node)].address;
      st = nl.AddDest(svc, d);
      if (!st.ok()) Die(st.message());
    }
    svcs.push_back(svc);
  }

  std::vector<int> w(static_cast<size_t>(n), 1);
  int64_t seq = 1;
  WriteState(cfg, w, seq++);
  pid_t pid = fork();
  if (pid == 0) {
    std::string log = std::string(kDir) + "/mpp-ipvs.log";
    if (!freopen(log.c_str(), "a", stderr)) _exit(127);
    execl(binary, binary, "-c", cfg_path.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  if (!WaitKernel(&nl, svcs, w)) Die("mpp-ipvs did not apply the first state file");

  std::vector<double> failover, all;
  for (int r = 0; r < rounds; ++r) {
    // Failover: the first two nodes swap (one change each way when n == 1).
    std::vector<int> next = w;
    next[0] = next[0] ? 0 : 1;
    if (n > 1) next[1] = next[1] ? 0 : 1;
    double t0 = NowMs();
    WriteState(cfg, next, seq++);
    if (!WaitKernel(&nl, svcs, next)) Die("failover not applied");
    failover.push_back(NowMs() - t0);
    w = next;

    for (int& x : next) x = x == 2 ? 3 : 2;
    t0 = NowMs();
    WriteState(cfg, next, seq++);
    if (!WaitKernel(&nl, svcs, next)) Die("weight change not applied");
    all.push_back(NowMs() - t0);
    w = next;
  }
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  for (const IpvsServiceKey& svc : svcs) nl.DelService(svc);
  Report(n, n > 1 ? "failover (2 changes)" : "failover (1 change)", failover);
  Report(n, "every weight changes", all);
}

}  // namespace
}  // namespace mpp

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: mpp-ipvs-bench MPP_IPVS_BINARY [ROUNDS]\n");
    return 2;
  }
  int64_t rounds = 5;
  if (argc > 2 && !mpp::ParseDecimal(argv[2], strlen(argv[2]), 1, 1000000, &rounds)) {
    fprintf(stderr, "mpp-ipvs-bench: ROUNDS must be a number from 1 to 1000000\n");
    return 2;
  }
  mkdir(mpp::kDir, 0755);
  for (int n : {1, 100, 1000}) mpp::RunSize(argv[1], n, static_cast<int>(rounds));
  return 0;
}
