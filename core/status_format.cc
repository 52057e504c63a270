#include "core/status_format.h"

#include <stdio.h>

#include "common/address_text.h"
#include "core/topology.h"

namespace mpp {
namespace {

std::string Lag(const NodeEval& n) {
  if (!n.last.repl.configured || n.last.repl.lag_s < 0) return "-";
  return std::to_string(n.last.repl.lag_s) + "s";
}

std::string Age(int64_t now_ms, int64_t since_ms) {
  int64_t s = (now_ms - since_ms) / 1000;
  if (since_ms <= 0 || s < 0) return "-";
  char buf[32];
  if (s < 120) snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  else if (s < 7200) snprintf(buf, sizeof buf, "%lldm", static_cast<long long>(s / 60));
  else snprintf(buf, sizeof buf, "%lldh", static_cast<long long>(s / 3600));
  return buf;
}

// The first node of a pool is its PRIMARY.
NodeType TypeAt(size_t position) { return position == 0 ? NodeType::kPrimary : NodeType::kSecondary; }

// Reasons and notes come partly from servers' error messages: a control
// character must not break the table's rows or reach the terminal.
std::string Printable(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return out;
}

}  // namespace

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

namespace {

// "cluster: leader dir-a (this director, deciding), epoch 7, decision 12".
std::string ClusterLine(const ClusterRole& c) {
  std::string out = "cluster: ";
  if (c.leader.empty()) out += "no leader known";
  else out += "leader " + c.leader;
  std::string role = c.leader == c.self ? (c.deciding ? "this director, deciding" : "this director, not deciding")
                                        : "this director " + c.self + " follows";
  out += " (" + role + ")";
  if (c.frozen) out += ", FROZEN: etcd out of reach";
  if (c.epoch > 0) out += ", epoch " + std::to_string(c.epoch) + ", decision " + std::to_string(c.seq);
  return out + "\n";
}

}  // namespace

std::string StatusTable(const Config& cfg, const Evaluation& ev, int64_t now_ms) {
  std::string out;
  char line[512];
  if (ev.cluster.enabled) out += ClusterLine(ev.cluster);
  for (size_t p = 0; p < cfg.pools.size(); ++p) {
    const PoolConfig& pool = cfg.pools[p];
    out += "pool " + pool.name + (ev.isolated ? "  [ISOLATED]" : "");
    if (!ev.pools[p].note.empty()) out += "  (" + Printable(ev.pools[p].note) + ")";
    out += "\n";
    snprintf(line, sizeof line, "  %-12s %-9s %-8s %-8s %-22s %5s %6s  %s\n", "NODE", "TYPE", "STATE",
             "STATUS", "ADDRESS", "LAG", "SINCE", "REASON");
    out += line;
    for (size_t i = 0; i < pool.nodes.size(); ++i) {
      int n = pool.nodes[i];
      const NodeEval& ne = ev.nodes[static_cast<size_t>(n)];
      // The reason, of any length, goes after the fixed columns.
      snprintf(line, sizeof line, "  %-12s %-9s %-8s %-8s %-22s %5s %6s  ",
               cfg.nodes[static_cast<size_t>(n)].name.c_str(), NodeTypeName(TypeAt(i)),
               StateName(ne.state), StatusName(ne.status),
               AddressText(cfg.nodes[static_cast<size_t>(n)].address).c_str(), Lag(ne).c_str(),
               Age(now_ms, ne.since_ms).c_str());
      out += line;
      // A node that may never be the writer says so, so that nobody
      // counts on it at a failover.
      std::string never = NeverPromoted(cfg, ne, n);
      std::string reason = ne.reason;
      if (!never.empty()) reason += (reason.empty() ? "" : "; ") + std::string("never promoted: ") + never;
      out += reason.empty() ? "-" : Printable(reason);
      out += "\n";
    }
    // Where MPP makes the databases follow the decision: what it wants of
    // each node, what the last poll saw, and the last step that failed.
    if (!pool.manage_read_only && !pool.manage_replication) continue;
    snprintf(line, sizeof line, "  %-12s %-36s %-44s  %s\n", "NODE", "WANTS", "SEES", "LAST ERROR");
    out += line;
    for (int n : pool.nodes) {
      const NodeEval& ne = ev.nodes[static_cast<size_t>(n)];
      snprintf(line, sizeof line, "  %-12s %-36s %-44s  ", cfg.nodes[static_cast<size_t>(n)].name.c_str(),
               WantedTopology(cfg, ev, n).c_str(), SeenTopology(cfg, ev, n).c_str());
      out += line;
      out += ne.topology_error.empty() ? "-" : Printable(ne.topology_error);
      out += "\n";
    }
  }
  for (size_t v = 0; v < cfg.vss.size(); ++v) {
    const VsConfig& vs = cfg.vss[v];
    const PoolConfig& pool = cfg.pools[static_cast<size_t>(vs.pool)];
    out += "vs " + vs.name + " (" + VsRoleName(vs.role) + " " + AddressText(vs.address) + "):";
    bool any = false;
    for (size_t i = 0; i < pool.nodes.size(); ++i) {
      const Decision& d = ev.decisions[v][i];
      if (!d.up) continue;
      out += " " + cfg.nodes[static_cast<size_t>(pool.nodes[i])].name + "(w" + std::to_string(d.weight) + ")";
      any = true;
    }
    out += any ? "\n" : " nothing up\n";
  }
  return out;
}

std::string StatusJson(const Config& cfg, const Evaluation& ev) {
  std::string out = "{\"seq\":" + std::to_string(ev.seq) + ",\"time_ms\":" + std::to_string(ev.time_ms) +
                    ",\"isolated\":" + (ev.isolated ? "true" : "false");
  if (ev.cluster.enabled) {
    const ClusterRole& c = ev.cluster;
    out += ",\"cluster\":{\"self\":" + JsonString(c.self) + ",\"leader\":" + JsonString(c.leader) +
           ",\"role\":\"" + (c.leader == c.self && !c.self.empty() ? "leader" : "follower") +
           "\",\"deciding\":" + (c.deciding ? "true" : "false") + ",\"frozen\":" + (c.frozen ? "true" : "false") +
           ",\"epoch\":" + std::to_string(c.epoch) + ",\"decision\":" + std::to_string(c.seq) + "}";
  }
  out += ",\"pools\":[";
  for (size_t p = 0; p < cfg.pools.size(); ++p) {
    const PoolConfig& pool = cfg.pools[p];
    if (p) out += ",";
    out += "{\"name\":" + JsonString(pool.name) + ",\"note\":" + JsonString(ev.pools[p].note) + ",\"nodes\":[";
    for (size_t i = 0; i < pool.nodes.size(); ++i) {
      int n = pool.nodes[i];
      const NodeEval& ne = ev.nodes[static_cast<size_t>(n)];
      const NodeConfig& nc = cfg.nodes[static_cast<size_t>(n)];
      if (i) out += ",";
      out += "{\"name\":" + JsonString(nc.name) + ",\"type\":\"" + NodeTypeName(TypeAt(i)) +
             "\",\"state\":\"" + StateName(ne.state) + "\",\"status\":\"" + StatusName(ne.status) +
             "\",\"address\":" + JsonString(AddressText(nc.address)) +
             ",\"lag\":" + (ne.last.repl.configured && ne.last.repl.lag_s >= 0 ? std::to_string(ne.last.repl.lag_s) : "null") +
             ",\"delay\":" + std::to_string(ne.last.repl.configured ? ne.last.repl.delay_s : 0) +
             ",\"never_promoted\":" + JsonString(NeverPromoted(cfg, ne, n)) +
             ",\"since_ms\":" + std::to_string(ne.since_ms) + ",\"reason\":" + JsonString(ne.reason) +
             ",\"read_only\":" + (ne.last.outcome == PollOutcome::kOk ? (ne.last.read_only ? "true" : "false") : "null") +
             ",\"poll\":" + JsonString(PollOutcomeName(ne.last.outcome)) +
             ",\"wanted\":" + JsonString(WantedTopology(cfg, ev, n)) +
             ",\"seen\":" + JsonString(SeenTopology(cfg, ev, n)) +
             ",\"topology_error\":" + JsonString(ne.topology_error) + "}";
    }
    out += "]}";
  }
  out += "],\"vs\":[";
  for (size_t v = 0; v < cfg.vss.size(); ++v) {
    const VsConfig& vs = cfg.vss[v];
    const PoolConfig& pool = cfg.pools[static_cast<size_t>(vs.pool)];
    if (v) out += ",";
    out += "{\"name\":" + JsonString(vs.name) + ",\"role\":\"" + VsRoleName(vs.role) +
           "\",\"address\":" + JsonString(AddressText(vs.address)) + ",\"pool\":" + JsonString(pool.name) +
           ",\"dests\":[";
    for (size_t i = 0; i < pool.nodes.size(); ++i) {
      const Decision& d = ev.decisions[v][i];
      const NodeConfig& nc = cfg.nodes[static_cast<size_t>(pool.nodes[i])];
      if (i) out += ",";
      out += "{\"node\":" + JsonString(nc.name) + ",\"address\":" + JsonString(AddressText(nc.address)) +
             ",\"up\":" + (d.up ? "true" : "false") + ",\"weight\":" + std::to_string(d.up ? d.weight : 0) + "}";
    }
    out += "]}";
  }
  return out + "]}\n";
}

}  // namespace mpp
