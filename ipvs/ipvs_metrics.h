// mpp-ipvs's metrics page (doc/metrics.md), in the Prometheus text format:
// what its reconciles did to the kernel, and whether the state file was
// usable.
// Thread-safety: a pure function.
#pragma once

#include <stdint.h>

#include <string>

#include "ipvs/ipvs_daemon.h"
#include "metrics/metrics_endpoint.h"

namespace mpp {

// start_wall_ms: when the process started.
std::string RenderIpvsMetrics(const IpvsDaemon::Counters& c, const MetricsEndpoint::Counters& endpoint,
                              int64_t start_wall_ms);

}  // namespace mpp
