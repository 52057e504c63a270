// The poll loop's side of making the databases follow the decision
// (doc/replication.md). Each round it publishes the decision to the
// TopologyWorker, offers it the round's plan (core/topology.h), and turns
// the worker's reports into log lines, into the facts the next evaluation
// takes (diverged, rejoined, last error) and into answers to mppctl.
//
// It also runs the operators' commands that touch the databases:
//   switchover: the worker fences the old writer and waits for the target's
//     catch-up; then a kSwitchover command moves the decision at once, and
//     the answer waits until the plans made the target writable
//     (with manage_read_only). While a switchover is before its commit, its
//     pool gets no plan, and a second switchover of it is refused.
//   rejoin: the worker fences the node and attaches it after the divergence
//     check; the answer says which.
//
// Thread-safety: the poll loop's thread only (the worker has its own).
#pragma once

#include <stdint.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/evaluation.h"
#include "mppstate/topology_worker.h"

namespace mpp {

class TopologyFollower {
 public:
  using Clock = std::chrono::steady_clock;
  struct Answer {
    uint64_t client;
    bool ok;
    std::string body;
  };

  bool Start(std::string* err) { return worker_.Start(err); }
  // See TopologyWorker::SetGuard.
  void SetGuard(std::function<std::string()> guard) { worker_.SetGuard(std::move(guard)); }
  int event_fd() const { return worker_.event_fd(); }
  // Told of every report of the worker as it is taken, for the metrics.
  void SetReportObserver(std::function<void(const TopologyReport&)> observer) { observer_ = std::move(observer); }

  // What the worker found out, for the round about to be evaluated (like
  // cfg.nodes). A rejoin is reported once.
  std::vector<TopologyFacts> Facts(const Config& cfg);

  // mppctl switchover POOL [NODE] / rejoin NODE: "" when accepted (answered
  // later), else the refusal to answer now.
  std::string RequestSwitchover(std::shared_ptr<const Config> cfg, const Evaluation& ev, const std::string& pool,
                                const std::string& target, uint64_t client);
  std::string RequestRejoin(std::shared_ptr<const Config> cfg, const Evaluation& ev, const std::string& node,
                            uint64_t client);
  // mppctl rewind NODE: the same rewind as a plan's (node_rewind.h), with
  // or without the pool's rewind = yes.
  std::string RequestRewind(std::shared_ptr<const Config> cfg, const Evaluation& ev, const std::string& node,
                            uint64_t client);

  // The worker's reports: logged, kept as facts; a switchover that caught
  // up appends its command to *commands (applied in the next evaluation).
  // False when there was none.
  bool TakeReports(std::vector<Command>* commands, std::vector<Answer>* answers);

  // After an evaluation with commands (and their results): publishes the
  // decision, offers the plan if offer_plan, and answers what is due.
  void AfterRound(std::shared_ptr<const Config> cfg, const Evaluation& ev, const std::vector<Command>& commands,
                  const std::vector<CommandResult>& results, bool offer_plan, std::vector<Answer>* answers);

  // Answers every waiting client and stops the worker (see
  // TopologyWorker::Stop).
  bool Stop(int64_t deadline_ms, std::vector<Answer>* answers);

 private:
  struct Pending {
    uint64_t client = 0;
    TopologyJob job;
    enum Phase { kRunning, kCommitting, kPromoting } phase = kRunning;
    size_t command_index = 0;    // kCommitting: its command in the next evaluation
    Clock::time_point deadline;  // kPromoting: answer by then in any case
  };
  void LogReport(const TopologyReport& r);
  bool SwitchoverBeforeCommit(const std::string& pool) const;

  TopologyWorker worker_;
  std::map<std::string, TopologyFacts> facts_;  // by node name
  std::vector<Pending> pending_;
  std::function<void(const TopologyReport&)> observer_;
};

}  // namespace mpp
