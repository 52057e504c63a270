// mppstate's metrics page (doc/metrics.md): what the daemon counts between
// evaluations (polls by outcome and duration, rounds, failovers, steps on
// the databases, state file errors) beside what the evaluation holds now
// (STATE, STATUS, lag, up and weight), in the Prometheus text format.
// Counters are kept by node and pool name, so a reload keeps those of the
// nodes and pools it keeps; one the config no longer has leaves the page.
// Thread-safety: not thread-safe; the poll loop's thread.
#pragma once

#include <stdint.h>

#include <map>
#include <string>

#include "config/config.h"
#include "core/evaluation.h"
#include "metrics/metrics_endpoint.h"
#include "metrics/metrics_text.h"
#include "mppstate/control_server.h"
#include "mppstate/topology_worker.h"

namespace mpp {

class DaemonMetrics {
 public:
  // start_wall_ms: when the process started (process_start_time_seconds).
  explicit DaemonMetrics(int64_t start_wall_ms);

  void ObservePoll(const std::string& node, PollOutcome outcome, double seconds);
  void ObserveDeadlineMiss(const std::string& node);
  void ObserveRound(double seconds);
  // One evaluation from before to after, under one config: failovers,
  // switchovers and changes of writer as after shows them. mono_ms: when
  // it was made (the failover's duration).
  void ObserveEvaluation(const Config& cfg, const Evaluation& before, const Evaluation& after, int64_t mono_ms);
  // A report of the topology worker; ev is the evaluation it arrives in
  // (an attachment of a demoted or diverged node is a rejoin, of another
  // a re-point).
  void ObserveTopologyReport(const Config& cfg, const Evaluation& ev, const TopologyReport& r);
  // The pool memory, the state file and the track files written (or not)
  // at wall_ms.
  void ObserveStateWrite(bool ok, int64_t wall_ms);

  // What the daemon's other parts count, read when the page is rendered.
  struct Gauges {
    size_t control_clients = 0;
    ControlServer::Counters control;
    int watch_connections = 0;
    uint64_t watch_drops = 0;
    MetricsEndpoint::Counters endpoint;
  };
  std::string Render(const Config& cfg, const Evaluation& ev, const Gauges& g) const;

 private:
  struct NodeCounters {
    NodeCounters() : poll_duration(&DurationBuckets()) {}
    std::map<PollOutcome, uint64_t> polls;
    Histogram poll_duration;
    uint64_t deadline_misses = 0;
  };
  struct PoolCounters {
    uint64_t failovers = 0, switchovers = 0, writer_changes = 0;
    uint64_t fencings = 0, promotions = 0, rejoins = 0, repoints = 0;
    std::map<TopologyStepKind, uint64_t> step_failures;
    int64_t last_failover_duration_ms = -1;  // this process's last failover
  };

  NodeCounters& Node(const std::string& name);
  PoolCounters& Pool(const std::string& name);
  void RenderDaemon(const Config& cfg, const Evaluation& ev, const Gauges& g, MetricsText* out) const;
  void RenderNodes(const Config& cfg, const Evaluation& ev, MetricsText* out) const;
  void RenderPools(const Config& cfg, const Evaluation& ev, MetricsText* out) const;
  void RenderVirtualServers(const Config& cfg, const Evaluation& ev, MetricsText* out) const;

  int64_t start_wall_ms_;
  std::map<std::string, NodeCounters> nodes_;
  std::map<std::string, PoolCounters> pools_;
  uint64_t rounds_ = 0;
  Histogram round_duration_{&DurationBuckets()};
  uint64_t evaluations_ = 0;
  uint64_t write_errors_ = 0;
  int64_t last_write_wall_ms_ = 0;
};

}  // namespace mpp
