#include "mppstate/daemon_metrics.h"

#include <utility>
#include <vector>

namespace mpp {
namespace {

constexpr PollOutcome kOutcomes[] = {PollOutcome::kOk,           PollOutcome::kRefused,
                                     PollOutcome::kTimeout,      PollOutcome::kAccessDenied,
                                     PollOutcome::kTooManyConnections, PollOutcome::kQueryError,
                                     PollOutcome::kMonitorError};

// Label values: one word each, unlike the messages' names.
const char* OutcomeLabel(PollOutcome o) {
  switch (o) {
    case PollOutcome::kNotPolled: return "not_polled";
    case PollOutcome::kOk: return "ok";
    case PollOutcome::kRefused: return "refused";
    case PollOutcome::kTimeout: return "timeout";
    case PollOutcome::kAccessDenied: return "access_denied";
    case PollOutcome::kTooManyConnections: return "too_many_connections";
    case PollOutcome::kQueryError: return "query_error";
    case PollOutcome::kMonitorError: return "monitor_error";
  }
  return "unknown";
}

constexpr TopologyStepKind kSteps[] = {TopologyStepKind::kFence, TopologyStepKind::kPromote,
                                       TopologyStepKind::kAttach, TopologyStepKind::kStartReplication,
                                       TopologyStepKind::kSemiSync, TopologyStepKind::kSever,
                                       TopologyStepKind::kRewind};

const char* StepLabel(TopologyStepKind k) {
  switch (k) {
    case TopologyStepKind::kFence: return "fence";
    case TopologyStepKind::kPromote: return "promote";
    case TopologyStepKind::kAttach: return "attach";
    case TopologyStepKind::kStartReplication: return "start_replication";
    case TopologyStepKind::kSemiSync: return "semi_sync";
    case TopologyStepKind::kSever: return "sever";
    case TopologyStepKind::kRewind: return "rewind";
  }
  return "unknown";
}

constexpr State kStates[] = {State::kUnknown, State::kActive, State::kStandby, State::kFail, State::kOffline};
constexpr Status kStatuses[] = {Status::kOk, Status::kInfo, Status::kWarn, Status::kCritical, Status::kFail};

double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }
double Flag(bool b) { return b ? 1 : 0; }
double Count(uint64_t n) { return static_cast<double>(n); }

template <typename Map, typename Key>
uint64_t CountOf(const Map& m, const Key& k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

// One sample per value of an enumeration, 1 for the value the thing has:
// a query picks a value by label, and every value is there to compare.
template <typename Value, size_t N>
void OneOf(MetricsText* out, const char* name, const MetricLabels& labels, const char* label,
           const Value (&values)[N], Value own, const char* (*value_name)(Value)) {
  for (Value v : values) {
    MetricLabels l = labels;
    l.emplace_back(label, value_name(v));
    out->Sample(name, l, Flag(v == own));
  }
}

// The (pool, node) labels of every node of a pool, in the config's order.
struct NodeRow {
  size_t index;
  MetricLabels labels;
};

std::vector<NodeRow> NodeRows(const Config& cfg) {
  std::vector<NodeRow> rows;
  for (const PoolConfig& pool : cfg.pools)
    for (int n : pool.nodes)
      rows.push_back(
          NodeRow{static_cast<size_t>(n), {{"pool", pool.name}, {"node", cfg.nodes[static_cast<size_t>(n)].name}}});
  return rows;
}

}  // namespace

DaemonMetrics::DaemonMetrics(int64_t start_wall_ms) : start_wall_ms_(start_wall_ms) {}

DaemonMetrics::NodeCounters& DaemonMetrics::Node(const std::string& name) { return nodes_[name]; }
DaemonMetrics::PoolCounters& DaemonMetrics::Pool(const std::string& name) { return pools_[name]; }

void DaemonMetrics::ObservePoll(const std::string& node, PollOutcome outcome, double seconds) {
  NodeCounters& c = Node(node);
  ++c.polls[outcome];
  c.poll_duration.Observe(seconds);
}

void DaemonMetrics::ObserveDeadlineMiss(const std::string& node) { ++Node(node).deadline_misses; }

void DaemonMetrics::ObserveRound(double seconds) {
  ++rounds_;
  round_duration_.Observe(seconds);
}

void DaemonMetrics::ObserveEvaluation(const Config& cfg, const Evaluation& before, const Evaluation& after,
                                      int64_t mono_ms) {
  ++evaluations_;
  // A follower learns of a failover from the leader: when the trouble
  // began is the leader's to know.
  bool decided_here = !after.cluster.enabled || after.cluster.deciding;
  for (size_t p = 0; p < cfg.pools.size() && p < before.pools.size() && p < after.pools.size(); ++p) {
    PoolCounters& c = Pool(cfg.pools[p].name);
    const PoolEval& b = before.pools[p];
    const FailoverRecord& was = before.pools[p].last_failover;
    const FailoverRecord& is = after.pools[p].last_failover;
    if (is.time_ms != 0 && (is.time_ms != was.time_ms || is.from != was.from || is.to != was.to)) {
      ++c.failovers;
      c.last_failover_duration_ms =
          !decided_here ? -1 : b.trouble_since_mono_ms >= 0 ? mono_ms - b.trouble_since_mono_ms : 0;
    }
    int from = before.ActiveOf(cfg, static_cast<int>(p));
    int to = after.ActiveOf(cfg, static_cast<int>(p));
    if (from >= 0 && to >= 0 && from != to) {
      ++c.writer_changes;
      if (after.pools[p].active_by_switchover) ++c.switchovers;
    }
  }
}

void DaemonMetrics::ObserveTopologyReport(const Config& cfg, const Evaluation& ev, const TopologyReport& r) {
  PoolCounters& c = Pool(r.pool);
  if (r.fenced) ++c.fencings;
  // A switchover's job ends with its catch-up, which is no step of its
  // own: only its fence counts.
  if (r.job != 0 && r.job_kind == TopologyJob::kSwitchover) return;
  if (!r.outcome.ok) {
    ++c.step_failures[r.step];
    return;
  }
  if (r.step == TopologyStepKind::kPromote) {
    ++c.promotions;
  } else if (r.step == TopologyStepKind::kAttach) {
    int n = cfg.FindNode(r.node);
    bool rejoin = r.job != 0 || (n >= 0 && static_cast<size_t>(n) < ev.nodes.size() &&
                                 (ev.nodes[static_cast<size_t>(n)].demoted ||
                                  !ev.nodes[static_cast<size_t>(n)].diverged.empty()));
    ++(rejoin ? c.rejoins : c.repoints);
  }
}

void DaemonMetrics::ObserveStateWrite(bool ok, int64_t wall_ms) {
  if (ok)
    last_write_wall_ms_ = wall_ms;
  else
    ++write_errors_;
}

std::string DaemonMetrics::Render(const Config& cfg, const Evaluation& ev, const Gauges& g) const {
  MetricsText out;
  RenderDaemon(cfg, ev, g, &out);
  RenderNodes(cfg, ev, &out);
  RenderPools(cfg, ev, &out);
  RenderVirtualServers(cfg, ev, &out);
  return out.Take();
}

void DaemonMetrics::RenderDaemon(const Config& cfg, const Evaluation& ev, const Gauges& g, MetricsText* out) const {
  out->Family("mpp_build_info", MetricType::kGauge, "The program and its version; always 1.");
  out->Sample("mpp_build_info", {{"program", "mppstate"}, {"version", MPP_VERSION}}, 1);
  out->Family("process_start_time_seconds", MetricType::kGauge, "When the process started, Unix time.");
  out->Sample("process_start_time_seconds", {}, Seconds(start_wall_ms_));
  out->Family("mpp_rounds_total", MetricType::kCounter, "Poll rounds evaluated.");
  out->Sample("mpp_rounds_total", {}, Count(rounds_));
  out->Family("mpp_round_duration_seconds", MetricType::kHistogram,
              "From a round's start to its decision written: the slowest poll, the evaluation and the state file.");
  round_duration_.WriteTo(out, "mpp_round_duration_seconds", {});
  out->Family("mpp_evaluations_total", MetricType::kCounter, "Evaluations: rounds, and news between rounds.");
  out->Sample("mpp_evaluations_total", {}, Count(evaluations_));
  out->Family("mpp_state_write_errors_total", MetricType::kCounter,
              "Evaluations whose pool memory, state file or track files could not be written.");
  out->Sample("mpp_state_write_errors_total", {}, Count(write_errors_));
  if (last_write_wall_ms_ > 0) {
    out->Family("mpp_state_last_write_timestamp_seconds", MetricType::kGauge,
                "When the state file was last written, Unix time.");
    out->Sample("mpp_state_last_write_timestamp_seconds", {}, Seconds(last_write_wall_ms_));
  }
  out->Family("mpp_state_stale_after_seconds", MetricType::kGauge,
              "stale_after: readers treat an older state file as down.");
  out->Sample("mpp_state_stale_after_seconds", {}, Seconds(cfg.stale_after_ms));
  out->Family("mpp_isolated", MetricType::kGauge, "1 while no checkpoint answers and every STATE is frozen.");
  out->Sample("mpp_isolated", {}, Flag(ev.isolated));
  out->Family("mpp_control_clients", MetricType::kGauge, "mppctl connections open now.");
  out->Sample("mpp_control_clients", {}, Count(g.control_clients));
  out->Family("mpp_control_connections_total", MetricType::kCounter, "mppctl connections accepted.");
  out->Sample("mpp_control_connections_total", {}, Count(g.control.accepted));
  out->Family("mpp_control_refusals_total", MetricType::kCounter, "mppctl connections refused or dropped, by reason.");
  const std::pair<const char*, uint64_t> refusals[] = {{"busy", g.control.refused_busy},
                                                       {"oversize", g.control.refused_oversize},
                                                       {"request_timeout", g.control.request_timeouts},
                                                       {"answer_timeout", g.control.answer_timeouts},
                                                       {"reply_dropped", g.control.replies_dropped}};
  for (const auto& r : refusals) out->Sample("mpp_control_refusals_total", {{"reason", r.first}}, Count(r.second));
  out->Family("mpp_watch_connections", MetricType::kGauge, "Idle watch connections open.");
  out->Sample("mpp_watch_connections", {}, g.watch_connections);
  out->Family("mpp_watch_drops_total", MetricType::kCounter, "Watch connections that ended.");
  out->Sample("mpp_watch_drops_total", {}, Count(g.watch_drops));
  out->Family("mpp_metrics_requests_total", MetricType::kCounter, "Requests to this endpoint, by answer.");
  out->Sample("mpp_metrics_requests_total", {{"code", "200"}}, Count(g.endpoint.served));
  out->Sample("mpp_metrics_requests_total", {{"code", "404"}}, Count(g.endpoint.not_found));
  out->Family("mpp_metrics_cut_off_total", MetricType::kCounter,
              "Connections to this endpoint cut off at their deadline.");
  out->Sample("mpp_metrics_cut_off_total", {}, Count(g.endpoint.cut_off));
  if (!ev.cluster.enabled) return;
  const ClusterRole& c = ev.cluster;
  out->Family("mpp_cluster_leader", MetricType::kGauge, "1 while this director holds the leader key.");
  out->Sample("mpp_cluster_leader", {}, Flag(!c.leader.empty() && c.leader == c.self));
  out->Family("mpp_cluster_deciding", MetricType::kGauge, "1 while this director decides.");
  out->Sample("mpp_cluster_deciding", {}, Flag(c.deciding));
  out->Family("mpp_cluster_frozen", MetricType::kGauge, "1 while etcd is out of reach: no decision can change.");
  out->Sample("mpp_cluster_frozen", {}, Flag(c.frozen));
  out->Family("mpp_cluster_epoch", MetricType::kGauge, "The leader's epoch.");
  out->Sample("mpp_cluster_epoch", {}, static_cast<double>(c.epoch));
  out->Family("mpp_cluster_decision_seq", MetricType::kGauge, "The published decision's number.");
  out->Sample("mpp_cluster_decision_seq", {}, static_cast<double>(c.seq));
}

void DaemonMetrics::RenderNodes(const Config& cfg, const Evaluation& ev, MetricsText* out) const {
  std::vector<NodeRow> rows = NodeRows(cfg);
  auto node = [&](const NodeRow& r) -> const NodeEval& { return ev.nodes[r.index]; };
  static const NodeCounters kNone;
  auto counters = [&](const NodeRow& r) -> const NodeCounters& {
    auto it = nodes_.find(cfg.nodes[r.index].name);
    return it == nodes_.end() ? kNone : it->second;
  };

  out->Family("mpp_node_state", MetricType::kGauge, "1 for the node's STATE, 0 for the others.");
  for (const NodeRow& r : rows) OneOf(out, "mpp_node_state", r.labels, "state", kStates, node(r).state, &StateName);
  out->Family("mpp_node_status", MetricType::kGauge, "1 for the node's STATUS, 0 for the others.");
  for (const NodeRow& r : rows)
    OneOf(out, "mpp_node_status", r.labels, "status", kStatuses, node(r).status, &StatusName);
  out->Family("mpp_node_read_only", MetricType::kGauge, "read_only as the last poll read it.");
  for (const NodeRow& r : rows)
    if (node(r).last.outcome == PollOutcome::kOk)
      out->Sample("mpp_node_read_only", r.labels, Flag(node(r).last.read_only));
  out->Family("mpp_node_replication_lag_seconds", MetricType::kGauge,
              "Seconds_Behind_Master of the last poll, beyond SQL_Delay for a delayed replica.");
  for (const NodeRow& r : rows) {
    const PollResult& p = node(r).last;
    if (p.outcome == PollOutcome::kOk && p.repl.configured && p.repl.lag_s >= 0)
      out->Sample("mpp_node_replication_lag_seconds", r.labels, static_cast<double>(p.repl.lag_s));
  }
  out->Family("mpp_node_replication_io_running", MetricType::kGauge, "1 while the replication IO thread runs.");
  for (const NodeRow& r : rows) {
    const PollResult& p = node(r).last;
    if (p.outcome == PollOutcome::kOk && p.repl.configured)
      out->Sample("mpp_node_replication_io_running", r.labels, Flag(p.repl.io == IoThread::kYes));
  }
  out->Family("mpp_node_replication_sql_running", MetricType::kGauge, "1 while the replication SQL thread runs.");
  for (const NodeRow& r : rows) {
    const PollResult& p = node(r).last;
    if (p.outcome == PollOutcome::kOk && p.repl.configured)
      out->Sample("mpp_node_replication_sql_running", r.labels, Flag(p.repl.sql_running));
  }
  out->Family("mpp_node_demoted", MetricType::kGauge, "1 for an ex-ACTIVE kept FAIL until recovered.");
  for (const NodeRow& r : rows) out->Sample("mpp_node_demoted", r.labels, Flag(node(r).demoted));
  out->Family("mpp_node_diverged", MetricType::kGauge, "1 while the node is known to have diverged from the ACTIVE.");
  for (const NodeRow& r : rows) out->Sample("mpp_node_diverged", r.labels, Flag(!node(r).diverged.empty()));
  out->Family("mpp_node_polls_total", MetricType::kCounter, "Polls finished, by outcome.");
  for (const NodeRow& r : rows) {
    for (PollOutcome o : kOutcomes) {
      MetricLabels l = r.labels;
      l.emplace_back("outcome", OutcomeLabel(o));
      out->Sample("mpp_node_polls_total", l, Count(CountOf(counters(r).polls, o)));
    }
  }
  out->Family("mpp_node_poll_duration_seconds", MetricType::kHistogram, "How long a poll took.");
  for (const NodeRow& r : rows) counters(r).poll_duration.WriteTo(out, "mpp_node_poll_duration_seconds", r.labels);
  out->Family("mpp_node_poll_deadline_misses_total", MetricType::kCounter,
              "Rounds the node's poll did not answer in time for.");
  for (const NodeRow& r : rows)
    out->Sample("mpp_node_poll_deadline_misses_total", r.labels, Count(counters(r).deadline_misses));
}

void DaemonMetrics::RenderPools(const Config& cfg, const Evaluation& ev, MetricsText* out) const {
  static const PoolCounters kNone;
  auto counters = [&](size_t p) -> const PoolCounters& {
    auto it = pools_.find(cfg.pools[p].name);
    return it == pools_.end() ? kNone : it->second;
  };
  auto labels = [&](size_t p) { return MetricLabels{{"pool", cfg.pools[p].name}}; };
  out->Family("mpp_pool_writers", MetricType::kGauge, "Nodes ACTIVE: 1, or 0 while the pool has no writer.");
  for (size_t p = 0; p < cfg.pools.size(); ++p) {
    int writers = 0;
    for (int n : cfg.pools[p].nodes) writers += ev.nodes[static_cast<size_t>(n)].state == State::kActive;
    out->Sample("mpp_pool_writers", labels(p), writers);
  }
  const std::pair<const char*, uint64_t PoolCounters::*> counts[] = {
      {"mpp_pool_failovers_total", &PoolCounters::failovers},
      {"mpp_pool_switchovers_total", &PoolCounters::switchovers},
      {"mpp_pool_writer_changes_total", &PoolCounters::writer_changes},
      {"mpp_pool_fencings_total", &PoolCounters::fencings},
      {"mpp_pool_promotions_total", &PoolCounters::promotions},
      {"mpp_pool_rejoins_total", &PoolCounters::rejoins},
      {"mpp_pool_repoints_total", &PoolCounters::repoints}};
  const char* helps[] = {"Failovers: a failing ACTIVE replaced.",
                         "Switchovers an operator asked for, done.",
                         "Changes of ACTIVE from one node to another.",
                         "Nodes made read-only with their client sessions killed.",
                         "ACTIVE nodes made writable.",
                         "Demoted or diverged nodes attached to the ACTIVE, and rejoins done.",
                         "Standbys pointed at the ACTIVE."};
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; ++i) {
    out->Family(counts[i].first, MetricType::kCounter, helps[i]);
    for (size_t p = 0; p < cfg.pools.size(); ++p)
      out->Sample(counts[i].first, labels(p), Count(counters(p).*(counts[i].second)));
  }
  out->Family("mpp_pool_topology_step_failures_total", MetricType::kCounter,
              "Steps on the databases that failed, by step.");
  for (size_t p = 0; p < cfg.pools.size(); ++p) {
    for (TopologyStepKind k : kSteps) {
      MetricLabels l = labels(p);
      l.emplace_back("step", StepLabel(k));
      out->Sample("mpp_pool_topology_step_failures_total", l, Count(CountOf(counters(p).step_failures, k)));
    }
  }
  out->Family("mpp_pool_last_failover_timestamp_seconds", MetricType::kGauge,
              "When the last failover was decided, Unix time.");
  for (size_t p = 0; p < cfg.pools.size(); ++p) {
    int64_t t = ev.pools[p].last_failover.time_ms;
    if (t != 0) out->Sample("mpp_pool_last_failover_timestamp_seconds", labels(p), Seconds(t));
  }
  out->Family("mpp_pool_last_failover_duration_seconds", MetricType::kGauge,
              "From the first evaluation that saw the failed ACTIVE in trouble to the failover.");
  for (size_t p = 0; p < cfg.pools.size(); ++p) {
    int64_t d = counters(p).last_failover_duration_ms;
    if (d >= 0) out->Sample("mpp_pool_last_failover_duration_seconds", labels(p), Seconds(d));
  }
}

void DaemonMetrics::RenderVirtualServers(const Config& cfg, const Evaluation& ev, MetricsText* out) const {
  auto each = [&](const char* name, bool weight) {
    for (size_t v = 0; v < cfg.vss.size() && v < ev.decisions.size(); ++v) {
      const VsConfig& vs = cfg.vss[v];
      const PoolConfig& pool = cfg.pools[static_cast<size_t>(vs.pool)];
      for (size_t i = 0; i < pool.nodes.size() && i < ev.decisions[v].size(); ++i) {
        const Decision& d = ev.decisions[v][i];
        const std::string& node = cfg.nodes[static_cast<size_t>(pool.nodes[i])].name;
        MetricLabels l = {{"vs", vs.name}, {"pool", pool.name}, {"node", node}};
        out->Sample(name, l, weight ? (d.up ? d.weight : 0) : Flag(d.up));
      }
    }
  };
  out->Family("mpp_vs_node_up", MetricType::kGauge, "1 while the node is up for the virtual server.");
  each("mpp_vs_node_up", false);
  out->Family("mpp_vs_node_weight", MetricType::kGauge, "The node's weight for the virtual server (0 when down).");
  each("mpp_vs_node_weight", true);
}

}  // namespace mpp
