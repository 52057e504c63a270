#include "ipvs/ipvs_metrics.h"

#include "metrics/metrics_text.h"

namespace mpp {

std::string RenderIpvsMetrics(const IpvsDaemon::Counters& c, const MetricsEndpoint::Counters& endpoint,
                              int64_t start_wall_ms) {
  MetricsText out;
  auto one = [&](const char* name, MetricType type, const char* help, double value) {
    out.Family(name, type, help);
    out.Sample(name, {}, value);
  };
  out.Family("mpp_build_info", MetricType::kGauge, "The program and its version; always 1.");
  out.Sample("mpp_build_info", {{"program", "mpp-ipvs"}, {"version", MPP_VERSION}}, 1);
  one("process_start_time_seconds", MetricType::kGauge, "When the process started, Unix time.",
      static_cast<double>(start_wall_ms) / 1000.0);
  one("mpp_ipvs_reconciles_total", MetricType::kCounter, "Reconciles: state file changes and full passes.",
      static_cast<double>(c.reconciles));
  one("mpp_ipvs_kernel_changes_total", MetricType::kCounter, "Changes made to the kernel's IPVS table.",
      static_cast<double>(c.kernel_changes));
  one("mpp_ipvs_drift_repairs_total", MetricType::kCounter,
      "Changes that undid someone else's change (the decision had not moved).",
      static_cast<double>(c.drift_repairs));
  one("mpp_ipvs_netlink_errors_total", MetricType::kCounter, "Netlink requests refused or failed.",
      static_cast<double>(c.netlink_errors));
  one("mpp_ipvs_state_usable", MetricType::kGauge,
      "1 when the last reconcile found the state file present, well-formed and fresh.", c.state_usable ? 1 : 0);
  out.Family("mpp_metrics_requests_total", MetricType::kCounter, "Requests to this endpoint, by answer.");
  out.Sample("mpp_metrics_requests_total", {{"code", "200"}}, static_cast<double>(endpoint.served));
  out.Sample("mpp_metrics_requests_total", {{"code", "404"}}, static_cast<double>(endpoint.not_found));
  one("mpp_metrics_cut_off_total", MetricType::kCounter, "Connections to this endpoint cut off at their deadline.",
      static_cast<double>(endpoint.cut_off));
  return out.Take();
}

}  // namespace mpp
