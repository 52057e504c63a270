// The worker that makes the databases follow the decision, off the poll
// thread (doc/replication.md). It runs, one at a time and in this order:
//   - jobs: an operator's switchover (fence the old writer, wait for the
//     target's catch-up, undo the fence if that fails) and rejoin (fence,
//     attach after the divergence check);
//   - the latest plan (core/topology.h), offered every round and taken only
//     when the worker is idle, so a slow server costs the plans it misses,
//     never the poll loop's interval.
// Before each step it checks the step against the decision published by
// the poll loop at that moment (pool -> ACTIVE): a plan made one round ago
// never fences the writer of now, nor promotes the one it replaced. In a
// pool, the steps after a failed fence or promotion are skipped: no node is
// made writable while another still is.
// Every step's outcome comes back as a report; the poll loop reads them
// when event_fd() is readable.
//
// Thread-safety: all public methods are for the poll loop's thread; the
// worker's own thread only runs steps (topology_steps.h) and queues reports.
#pragma once

#include <stdint.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "core/topology.h"
#include "mppstate/topology_steps.h"

namespace mpp {

struct TopologyJob {
  enum Kind { kSwitchover, kRejoin, kRewind };
  Kind kind = kSwitchover;
  uint64_t id = 0;  // set by Submit
  std::string pool;
  std::string node;    // switchover: the old writer; rejoin, rewind: the node
  std::string target;  // switchover: the new writer; rejoin, rewind: the ACTIVE
  bool fence = false;  // switchover: the pool has manage_read_only
  bool semi_sync = false;  // rewind: the pool's semi_sync
  // The node's semi-sync when it was last the writer, and its waits for an
  // acknowledgement the fences cut off: a fence's seal and a rewind compare
  // with them.
  WriterSemiSyncSeen writer_semi;
  int64_t acks_cut = 0;
  TailSeal seal;  // rewind: its fences' latest proof
};

struct TopologyReport {
  uint64_t job = 0;  // the job's id; 0 for a step of a plan
  TopologyJob::Kind job_kind = TopologyJob::kSwitchover;
  TopologyStepKind step = TopologyStepKind::kFence;  // a plan's step, or the job's last step
  std::string pool, node;
  std::string why;  // a plan's step: why it was planned
  StepOutcome outcome;
  // The node was made read-only (a plan's fence, or the first step of a
  // job), whatever came after: for the metrics.
  bool fenced = false;
};

class TopologyWorker {
 public:
  TopologyWorker();
  ~TopologyWorker();
  TopologyWorker(const TopologyWorker&) = delete;
  TopologyWorker& operator=(const TopologyWorker&) = delete;

  // A check run on the worker's thread before each change to a database
  // (a director pair's epoch, cluster/cluster_session.h): "" lets the step
  // run; anything else fails it with that message, and a plan's pool
  // takes no further step. Set before Start.
  void SetGuard(std::function<std::string()> guard);

  // Starts the thread; false with *err when it cannot.
  bool Start(std::string* err);

  // Readable while reports wait (an eventfd).
  int event_fd() const { return event_fd_; }

  // The decision steps are checked against: pool name -> ACTIVE node name
  // (absent: no ACTIVE).
  void PublishActives(std::map<std::string, std::string> actives);

  // This round's plan for cfg, taken if the worker is idle (no job, no plan
  // running); returns false when it was dropped.
  bool OfferPlan(std::shared_ptr<const Config> cfg, std::vector<TopologyStep> plan);

  // Queues a job before any plan; returns its id.
  uint64_t Submit(std::shared_ptr<const Config> cfg, TopologyJob job);

  std::vector<TopologyReport> TakeReports();

  // Asks the thread to stop after its current step and waits for it until
  // deadline_ms from now; true if it stopped (else it is detached and
  // abandoned: the process is about to exit).
  bool Stop(int64_t deadline_ms);

 private:
  // Everything the thread touches, shared with it: an abandoned thread
  // (Stop timed out) keeps it alive.
  struct Shared;
  std::shared_ptr<Shared> s_;
  std::thread thread_;
  int event_fd_ = -1;
};

}  // namespace mpp
