// DaemonMetrics: what mppstate counts and shows on its metrics page, from
// real evaluations (the core's simulator) and the topology worker's reports.
#include <doctest/doctest.h>

#include <string>

#include "mppstate/daemon_metrics.h"
#include "tests/unit/core/eval_sim.h"

namespace mpp {
namespace {

// A simulator whose every evaluation the metrics observe, as the daemon's
// EvaluateNow does.
struct Watched {
  Sim s{PoolConfigText(3)};
  DaemonMetrics m{1700000000000};

  Watched() {
    s.HealthyPool();
    Round();
    Round();
    REQUIRE(s.St("db1") == State::kActive);
  }
  void Round(std::vector<Command> commands = {}) {
    Evaluation before = s.ev;
    int64_t mono = s.mono_ms;
    s.Round(std::move(commands));
    m.ObserveEvaluation(s.cfg, before, s.ev, mono);
  }
  std::string Page() const { return m.Render(s.cfg, s.ev, DaemonMetrics::Gauges()); }
  bool Has(const std::string& line) const { return Page().find("\n" + line + "\n") != std::string::npos; }
};

TopologyReport Report(TopologyStepKind step, const std::string& node, bool ok) {
  TopologyReport r;
  r.step = step;
  r.pool = "main";
  r.node = node;
  r.outcome.ok = ok;
  r.fenced = ok && step == TopologyStepKind::kFence;
  return r;
}

TEST_CASE("DaemonMetrics: STATE and STATUS are one series per value, 1 for the node's own") {
  Watched w;
  CHECK(w.Has("mpp_node_state{pool=\"main\",node=\"db1\",state=\"ACTIVE\"} 1"));
  CHECK(w.Has("mpp_node_state{pool=\"main\",node=\"db1\",state=\"STANDBY\"} 0"));
  CHECK(w.Has("mpp_node_state{pool=\"main\",node=\"db2\",state=\"STANDBY\"} 1"));
  CHECK(w.Has("mpp_node_status{pool=\"main\",node=\"db2\",status=\"OK\"} 1"));
  CHECK(w.Has("mpp_node_status{pool=\"main\",node=\"db2\",status=\"FAIL\"} 0"));
  CHECK(w.Has("mpp_node_read_only{pool=\"main\",node=\"db1\"} 0"));
  CHECK(w.Has("mpp_node_read_only{pool=\"main\",node=\"db2\"} 1"));
  CHECK(w.Has("mpp_pool_writers{pool=\"main\"} 1"));
  CHECK(w.Has("mpp_vs_node_up{vs=\"writer\",pool=\"main\",node=\"db1\"} 1"));
  CHECK(w.Has("mpp_vs_node_weight{vs=\"writer\",pool=\"main\",node=\"db2\"} 0"));
  CHECK(w.Has("mpp_vs_node_up{vs=\"reader\",pool=\"main\",node=\"db2\"} 1"));
  CHECK(w.Has("mpp_build_info{program=\"mppstate\",version=\"" MPP_VERSION "\"} 1"));
  CHECK(w.Has("process_start_time_seconds 1700000000"));
  CHECK(w.Has("mpp_evaluations_total 2"));
  CHECK(w.Has("mpp_pool_failovers_total{pool=\"main\"} 0"));
}

TEST_CASE("DaemonMetrics: lag and replication threads only for a node that replicates; read_only only when polled") {
  Watched w;
  w.s.W("db2").repl.lag_s = 7;
  w.s.W("db3").repl.lag_s = -1;  // NULL: the SQL thread is stopped
  w.s.W("db3").repl.sql_running = false;
  w.Round();
  CHECK(w.Has("mpp_node_replication_lag_seconds{pool=\"main\",node=\"db2\"} 7"));
  std::string page = w.Page();
  CHECK(page.find("mpp_node_replication_lag_seconds{pool=\"main\",node=\"db3\"}") == std::string::npos);
  CHECK(page.find("mpp_node_replication_lag_seconds{pool=\"main\",node=\"db1\"}") == std::string::npos);
  CHECK(page.find("mpp_node_replication_io_running{pool=\"main\",node=\"db1\"}") == std::string::npos);
  CHECK(w.Has("mpp_node_replication_sql_running{pool=\"main\",node=\"db3\"} 0"));
  CHECK(w.Has("mpp_node_replication_io_running{pool=\"main\",node=\"db3\"} 1"));
  w.s.W("db3") = Sim::Failed();
  w.Round();
  page = w.Page();
  CHECK(page.find("mpp_node_read_only{pool=\"main\",node=\"db3\"}") == std::string::npos);
  CHECK(page.find("mpp_node_replication_sql_running{pool=\"main\",node=\"db3\"}") == std::string::npos);
}

TEST_CASE("DaemonMetrics: a failover is counted once, with its time and how long the writer was in trouble") {
  Watched w;
  w.s.W("db1") = Sim::Failed();
  int rounds = 0;
  while (w.s.St("db1") == State::kActive && rounds < 10) {
    w.Round();
    ++rounds;
  }
  REQUIRE(w.s.St("db1") == State::kFail);
  REQUIRE(rounds >= 2);
  w.Round();
  w.Round();
  CHECK(w.Has("mpp_pool_failovers_total{pool=\"main\"} 1"));
  CHECK(w.Has("mpp_pool_writer_changes_total{pool=\"main\"} 1"));
  CHECK(w.Has("mpp_pool_switchovers_total{pool=\"main\"} 0"));
  CHECK(w.Has("mpp_node_demoted{pool=\"main\",node=\"db1\"} 1"));
  CHECK(w.Has("mpp_node_state{pool=\"main\",node=\"db1\",state=\"FAIL\"} 1"));
  // The trouble began at the first failed round; the failover came
  // rounds - 1 intervals later.
  CHECK(w.Has("mpp_pool_last_failover_duration_seconds{pool=\"main\"} " + std::to_string(rounds - 1)));
  int64_t t = w.s.ev.pools[0].last_failover.time_ms;
  REQUIRE(t != 0);
  CHECK(w.Has("mpp_pool_last_failover_timestamp_seconds{pool=\"main\"} " + std::to_string(t / 1000) +
              (t % 1000 ? "." + std::to_string(t % 1000) : "")));
}

TEST_CASE("DaemonMetrics: a switchover counts as a switchover and a change of writer, not a failover") {
  Watched w;
  Command c{Command::kSwitchover, "main", "db2"};
  c.caught_up = true;
  w.Round({c});
  REQUIRE(w.s.St("db2") == State::kActive);
  CHECK(w.Has("mpp_pool_switchovers_total{pool=\"main\"} 1"));
  CHECK(w.Has("mpp_pool_writer_changes_total{pool=\"main\"} 1"));
  CHECK(w.Has("mpp_pool_failovers_total{pool=\"main\"} 0"));
  CHECK(w.Page().find("mpp_pool_last_failover_timestamp_seconds{") == std::string::npos);
}

TEST_CASE("DaemonMetrics: before a first failover, its time and duration are absent") {
  Watched w;
  std::string page = w.Page();
  CHECK(page.find("# TYPE mpp_pool_last_failover_timestamp_seconds gauge\n# HELP") != std::string::npos);
  CHECK(page.find("mpp_pool_last_failover_duration_seconds{") == std::string::npos);
}

TEST_CASE("DaemonMetrics: the worker's steps count fencings, promotions, rejoins, re-points and failures") {
  Watched w;
  w.m.ObserveTopologyReport(w.s.cfg, w.s.ev, Report(TopologyStepKind::kFence, "db3", true));
  w.m.ObserveTopologyReport(w.s.cfg, w.s.ev, Report(TopologyStepKind::kFence, "db3", false));
  w.m.ObserveTopologyReport(w.s.cfg, w.s.ev, Report(TopologyStepKind::kPromote, "db1", true));
  w.m.ObserveTopologyReport(w.s.cfg, w.s.ev, Report(TopologyStepKind::kAttach, "db2", true));  // a standby
  w.s.ev.nodes[static_cast<size_t>(w.s.Node("db3"))].demoted = true;
  w.m.ObserveTopologyReport(w.s.cfg, w.s.ev, Report(TopologyStepKind::kAttach, "db3", true));  // an ex-writer
  w.m.ObserveTopologyReport(w.s.cfg, w.s.ev, Report(TopologyStepKind::kAttach, "db3", false));
  // mppctl rejoin: fenced, then attached.
  TopologyReport rejoin = Report(TopologyStepKind::kAttach, "db2", true);
  rejoin.job = 7;
  rejoin.job_kind = TopologyJob::kRejoin;
  rejoin.fenced = true;
  w.m.ObserveTopologyReport(w.s.cfg, w.s.ev, rejoin);
  // A switchover that fenced its writer but whose catch-up failed: a fence,
  // and no failed step.
  TopologyReport sw = Report(TopologyStepKind::kFence, "db1", false);
  sw.job = 8;
  sw.fenced = true;
  w.m.ObserveTopologyReport(w.s.cfg, w.s.ev, sw);
  CHECK(w.Has("mpp_pool_fencings_total{pool=\"main\"} 3"));
  CHECK(w.Has("mpp_pool_promotions_total{pool=\"main\"} 1"));
  CHECK(w.Has("mpp_pool_repoints_total{pool=\"main\"} 1"));
  CHECK(w.Has("mpp_pool_rejoins_total{pool=\"main\"} 2"));
  CHECK(w.Has("mpp_pool_topology_step_failures_total{pool=\"main\",step=\"fence\"} 1"));
  CHECK(w.Has("mpp_pool_topology_step_failures_total{pool=\"main\",step=\"attach\"} 1"));
  CHECK(w.Has("mpp_pool_topology_step_failures_total{pool=\"main\",step=\"promote\"} 0"));
}

TEST_CASE("DaemonMetrics: polls by outcome and duration, deadline misses, rounds and state writes") {
  Watched w;
  w.m.ObservePoll("db1", PollOutcome::kOk, 0.002);
  w.m.ObservePoll("db1", PollOutcome::kOk, 0.003);
  w.m.ObservePoll("db1", PollOutcome::kTimeout, 1.0);
  w.m.ObserveDeadlineMiss("db1");
  w.m.ObserveRound(0.004);
  w.m.ObserveStateWrite(true, 1700000001500);
  w.m.ObserveStateWrite(false, 1700000002500);
  CHECK(w.Has("mpp_node_polls_total{pool=\"main\",node=\"db1\",outcome=\"ok\"} 2"));
  CHECK(w.Has("mpp_node_polls_total{pool=\"main\",node=\"db1\",outcome=\"timeout\"} 1"));
  CHECK(w.Has("mpp_node_polls_total{pool=\"main\",node=\"db2\",outcome=\"ok\"} 0"));
  CHECK(w.Has("mpp_node_poll_duration_seconds_bucket{pool=\"main\",node=\"db1\",le=\"0.0025\"} 1"));
  CHECK(w.Has("mpp_node_poll_duration_seconds_bucket{pool=\"main\",node=\"db1\",le=\"0.005\"} 2"));
  CHECK(w.Has("mpp_node_poll_duration_seconds_bucket{pool=\"main\",node=\"db1\",le=\"+Inf\"} 3"));
  CHECK(w.Has("mpp_node_poll_duration_seconds_count{pool=\"main\",node=\"db1\"} 3"));
  CHECK(w.Has("mpp_node_poll_duration_seconds_count{pool=\"main\",node=\"db2\"} 0"));
  CHECK(w.Has("mpp_node_poll_deadline_misses_total{pool=\"main\",node=\"db1\"} 1"));
  CHECK(w.Has("mpp_rounds_total 1"));
  CHECK(w.Has("mpp_round_duration_seconds_bucket{le=\"0.005\"} 1"));
  CHECK(w.Has("mpp_state_last_write_timestamp_seconds 1700000001.5"));
  CHECK(w.Has("mpp_state_write_errors_total 1"));
  CHECK(w.Has("mpp_state_stale_after_seconds 30"));
}

TEST_CASE("DaemonMetrics: counters are kept by name across a reload; a node removed leaves the page") {
  Watched w;
  w.m.ObservePoll("db2", PollOutcome::kRefused, 0.001);
  Sim fresh{PoolConfigText(2)};  // db3 gone
  std::string page = w.m.Render(fresh.cfg, fresh.ev, DaemonMetrics::Gauges());
  CHECK(page.find("mpp_node_polls_total{pool=\"main\",node=\"db2\",outcome=\"refused\"} 1\n") != std::string::npos);
  CHECK(page.find("node=\"db3\"") == std::string::npos);
}

TEST_CASE("DaemonMetrics: the daemon's gauges and a director pair's role") {
  Watched w;
  DaemonMetrics::Gauges g;
  g.control_clients = 2;
  g.control.accepted = 9;
  g.control.refused_busy = 1;
  g.watch_connections = 3;
  g.watch_drops = 4;
  g.endpoint.served = 5;
  g.endpoint.not_found = 6;
  g.endpoint.cut_off = 1;
  std::string page = w.m.Render(w.s.cfg, w.s.ev, g);
  for (const char* line : {"mpp_control_clients 2", "mpp_control_connections_total 9",
                           "mpp_control_refusals_total{reason=\"busy\"} 1",
                           "mpp_control_refusals_total{reason=\"answer_timeout\"} 0", "mpp_watch_connections 3",
                           "mpp_watch_drops_total 4", "mpp_metrics_requests_total{code=\"200\"} 5",
                           "mpp_metrics_requests_total{code=\"404\"} 6", "mpp_metrics_cut_off_total 1",
                           "mpp_isolated 0"})
    CHECK_MESSAGE(page.find(std::string("\n") + line + "\n") != std::string::npos, line);
  CHECK(page.find("mpp_cluster_") == std::string::npos);
  w.s.ev.cluster = ClusterRole{true, "b", "a", false, true, 4, 17};
  page = w.m.Render(w.s.cfg, w.s.ev, g);
  for (const char* line : {"mpp_cluster_leader 0", "mpp_cluster_deciding 0", "mpp_cluster_frozen 1",
                           "mpp_cluster_epoch 4", "mpp_cluster_decision_seq 17"})
    CHECK_MESSAGE(page.find(std::string("\n") + line + "\n") != std::string::npos, line);
}

TEST_CASE("DaemonMetrics: a follower counts the leader's failover but knows no duration for it") {
  Watched w;
  Evaluation before = w.s.ev;
  Evaluation after = w.s.ev;
  after.cluster = ClusterRole{true, "b", "a", false, false, 2, 9};
  after.pools[0].last_failover = FailoverRecord{1700000005000, "db1", "db2"};
  w.m.ObserveEvaluation(w.s.cfg, before, after, w.s.mono_ms);
  std::string page = w.m.Render(w.s.cfg, after, DaemonMetrics::Gauges());
  CHECK(page.find("\nmpp_pool_failovers_total{pool=\"main\"} 1\n") != std::string::npos);
  CHECK(page.find("\nmpp_pool_last_failover_timestamp_seconds{pool=\"main\"} 1700000005\n") != std::string::npos);
  CHECK(page.find("mpp_pool_last_failover_duration_seconds{") == std::string::npos);
}

}  // namespace
}  // namespace mpp
