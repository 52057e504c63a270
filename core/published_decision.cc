#include "core/published_decision.h"

#include "core/evaluation.h"

namespace mpp {

PublishedDecision DecisionOf(const Config& cfg, const Evaluation& ev) {
  PublishedDecision d;
  for (size_t p = 0; p < cfg.pools.size(); ++p) {
    const PoolEval& pe = ev.pools[p];
    PublishedPool pp;
    pp.name = cfg.pools[p].name;
    pp.elected = pe.elected;
    int active = ev.ActiveOf(cfg, static_cast<int>(p));
    if (active >= 0) pp.active = cfg.nodes[static_cast<size_t>(active)].name;
    pp.active_by_switchover = active >= 0 && pe.active_by_switchover;
    pp.last_failover = pe.last_failover;
    for (int n : cfg.pools[p].nodes) {
      const NodeEval& ne = ev.nodes[static_cast<size_t>(n)];
      pp.nodes.push_back(
          PublishedNode{cfg.nodes[static_cast<size_t>(n)].name, ne.state, ne.state_reason, ne.demoted, ne.offline});
    }
    d.pools.push_back(std::move(pp));
  }
  for (size_t v = 0; v < cfg.vss.size() && v < ev.decisions.size(); ++v) {
    PublishedVs pv;
    pv.name = cfg.vss[v].name;
    const PoolConfig& pool = cfg.pools[static_cast<size_t>(cfg.vss[v].pool)];
    for (size_t i = 0; i < pool.nodes.size() && i < ev.decisions[v].size(); ++i)
      if (ev.decisions[v][i].up) pv.up.push_back(cfg.nodes[static_cast<size_t>(pool.nodes[i])].name);
    d.vss.push_back(std::move(pv));
  }
  return d;
}

bool SameDecision(const PublishedDecision& a, const PublishedDecision& b) {
  if (a.pools.size() != b.pools.size() || a.vss.size() != b.vss.size()) return false;
  for (size_t p = 0; p < a.pools.size(); ++p) {
    const PublishedPool& x = a.pools[p];
    const PublishedPool& y = b.pools[p];
    if (x.name != y.name || x.elected != y.elected || x.active != y.active ||
        x.active_by_switchover != y.active_by_switchover || x.last_failover.time_ms != y.last_failover.time_ms ||
        x.last_failover.from != y.last_failover.from || x.last_failover.to != y.last_failover.to ||
        x.nodes.size() != y.nodes.size())
      return false;
    for (size_t n = 0; n < x.nodes.size(); ++n) {
      const PublishedNode& u = x.nodes[n];
      const PublishedNode& w = y.nodes[n];
      if (u.name != w.name || u.state != w.state || u.why != w.why || u.demoted != w.demoted || u.offline != w.offline)
        return false;
    }
  }
  for (size_t v = 0; v < a.vss.size(); ++v)
    if (a.vss[v].name != b.vss[v].name || a.vss[v].up != b.vss[v].up) return false;
  return true;
}

std::string PublishedActive(const PublishedDecision& d, const std::string& pool) {
  for (const PublishedPool& p : d.pools)
    if (p.name == pool) return p.active;
  return "";
}

}  // namespace mpp
