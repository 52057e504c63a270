#include "ipvs/ipvs_plan.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/address_text.h"

namespace mpp {
namespace {

bool TextIs(const Text& t, const std::string& s) {
  return t.len == s.size() && memcmp(t.data, s.data(), t.len) == 0;
}

const PoolConfig& PoolOf(const Config& cfg, int vs) {
  return cfg.pools[static_cast<size_t>(cfg.vss[static_cast<size_t>(vs)].pool)];
}

const IpvsDest* FindDest(const std::vector<IpvsDest>& dests, const Address& a) {
  for (const IpvsDest& d : dests) {
    if (d.address == a) return &d;
  }
  return nullptr;
}

IpvsFwd FwdOf(IpvsForward f) {
  switch (f) {
    case IpvsForward::kMasq: return IpvsFwd::kMasq;
    case IpvsForward::kDirect: return IpvsFwd::kDirect;
    case IpvsForward::kTunnel: return IpvsFwd::kTunnel;
  }
  return IpvsFwd::kMasq;
}

}  // namespace

bool ReadDecisions(const Config& cfg, const StateFile& file, Decisions* out,
                   std::vector<std::string>* notes, const char** why) {
  Decisions d(cfg.vss.size());
  for (size_t v = 0; v < cfg.vss.size(); ++v) d[v].resize(PoolOf(cfg, static_cast<int>(v)).nodes.size());
  StateCursor c = BeginRecords(file);
  DestRecord r;
  // Records come grouped by vs: remember the last match instead of searching.
  int vs = -1;  // -1: not in the config, -2: its address disagrees
  Text last_vs;
  while (NextDest(&c, &r)) {
    if (last_vs.data == nullptr ||
        !(r.vs.len == last_vs.len && memcmp(r.vs.data, last_vs.data, r.vs.len) == 0)) {
      last_vs = r.vs;
      vs = -1;
      for (size_t v = 0; v < cfg.vss.size(); ++v) {
        if (!TextIs(r.vs, cfg.vss[v].name)) continue;
        if (r.vs_address != cfg.vss[v].address) {
          notes->push_back("vs " + cfg.vss[v].name + ": the state file has address " +
                           std::string(r.vs_address_text.data, r.vs_address_text.len) +
                           ", the config " + AddressText(cfg.vss[v].address) + ": left alone");
          vs = -2;
        } else {
          vs = static_cast<int>(v);
        }
        break;
      }
    }
    if (vs < 0) continue;  // not ours, or its address disagrees with the config
    const PoolConfig& pool = PoolOf(cfg, vs);
    for (size_t i = 0; i < pool.nodes.size(); ++i) {
      const NodeConfig& node = cfg.nodes[static_cast<size_t>(pool.nodes[i])];
      if (!TextIs(r.node, node.name)) continue;
      if (r.node_address != node.address) {
        notes->push_back("vs " + cfg.vss[static_cast<size_t>(vs)].name + " node " + node.name +
                         ": the state file has address " +
                         std::string(r.node_address_text.data, r.node_address_text.len) +
                         ", the config " + AddressText(node.address) + ": left alone");
        break;
      }
      DestDecision& dd = d[static_cast<size_t>(vs)][i];
      dd.known = true;
      dd.up = r.up;
      dd.weight = r.up && r.weight > 0 ? static_cast<uint32_t>(r.weight) : 0;
      break;
    }
  }
  if (c.error) {
    *why = c.why;
    return false;
  }
  *out = std::move(d);
  return true;
}

IpvsServiceKey ServiceKeyOf(const Config& cfg, int vs) {
  const VsConfig& v = cfg.vss[static_cast<size_t>(vs)];
  IpvsServiceKey k;
  k.address = v.address;
  k.protocol = v.protocol == IpvsProtocol::kUdp ? IpvsProto::kUdp : IpvsProto::kTcp;
  if (v.address.kind == Address::kInet6) {
    k.family = AF_INET6;
  } else if (v.address.kind == Address::kFwmark) {
    const PoolConfig& pool = PoolOf(cfg, vs);
    bool v6 = !pool.nodes.empty() &&
              cfg.nodes[static_cast<size_t>(pool.nodes[0])].address.kind == Address::kInet6;
    k.family = v6 ? AF_INET6 : AF_INET;
  } else {
    k.family = AF_INET;
  }
  return k;
}

IpvsDest ConfiguredDest(const Config& cfg, int vs, int node, uint32_t weight) {
  const VsConfig& v = cfg.vss[static_cast<size_t>(vs)];
  IpvsDest d;
  d.address = cfg.nodes[static_cast<size_t>(node)].address;
  d.fwd = FwdOf(v.forward);
  d.weight = weight;
  d.upper_threshold = v.upper_threshold;
  d.lower_threshold = v.lower_threshold;
  return d;
}

std::vector<IpvsAction> PlanService(const Config& cfg, int vs, const std::vector<DestDecision>& want,
                                    const std::vector<IpvsDest>& kernel) {
  std::vector<IpvsAction> actions;
  const PoolConfig& pool = PoolOf(cfg, vs);
  bool remove = cfg.ipvs.on_down == IpvsOnDown::kRemove;
  for (size_t i = 0; i < pool.nodes.size() && i < want.size(); ++i) {
    const DestDecision& w = want[i];
    if (!w.known) continue;
    int node = pool.nodes[i];
    const IpvsDest* have = FindDest(kernel, cfg.nodes[static_cast<size_t>(node)].address);
    IpvsAction a;
    a.vs = vs;
    a.node = node;
    a.pos = static_cast<int>(i);
    a.up = w.up;
    if (w.up || !remove) {
      uint32_t weight = w.up ? w.weight : 0;
      if (have == nullptr) {
        a.kind = IpvsActionKind::kAdd;
        a.dest = ConfiguredDest(cfg, vs, node, weight);
      } else if (have->weight != weight) {
        a.kind = IpvsActionKind::kSetWeight;
        a.dest = *have;  // keep the forwarding method, thresholds, tunnel
        a.dest.weight = weight;
        a.old_weight = have->weight;
      } else {
        continue;
      }
    } else {
      if (have == nullptr) continue;
      a.kind = IpvsActionKind::kDelete;
      a.dest = *have;
      a.old_weight = have->weight;
    }
    actions.push_back(a);
  }
  return actions;
}

bool IsDownStep(const IpvsAction& a) {
  return !a.up || (a.kind == IpvsActionKind::kSetWeight && a.dest.weight < a.old_weight);
}

std::string DescribeAction(const Config& cfg, const IpvsAction& a) {
  std::string head = cfg.vss[static_cast<size_t>(a.vs)].name + " " +
                     cfg.nodes[static_cast<size_t>(a.node)].name + " " + AddressText(a.dest.address) +
                     ": ";
  const char* why = a.up ? " (up)" : " (down)";
  switch (a.kind) {
    case IpvsActionKind::kSetWeight:
      return head + "weight " + std::to_string(a.old_weight) + " -> " + std::to_string(a.dest.weight) + why;
    case IpvsActionKind::kAdd:
      return head + "added, " + IpvsFwdName(a.dest.fwd) + " weight " + std::to_string(a.dest.weight) + why;
    case IpvsActionKind::kDelete:
      return head + "removed (weight was " + std::to_string(a.old_weight) + ")" + why;
  }
  return head;
}

std::string FormatServiceStatus(const Config& cfg, int vs, const std::vector<DestDecision>& want,
                                const std::vector<IpvsDest>& kernel, const std::string& kernel_error) {
  const VsConfig& v = cfg.vss[static_cast<size_t>(vs)];
  const PoolConfig& pool = PoolOf(cfg, vs);
  std::string out = "vs " + v.name + "  " + IpvsServiceText(ServiceKeyOf(cfg, vs)) + "  pool " +
                    pool.name + "  on_down " +
                    (cfg.ipvs.on_down == IpvsOnDown::kRemove ? "remove" : "quiesce") + "\n";
  if (!kernel_error.empty()) out += "  kernel: " + kernel_error + "\n";
  char line[256];
  snprintf(line, sizeof line, "  %-16s %-28s %-14s %-22s %s\n", "node", "address", "desired",
           "kernel", "");
  out += line;
  std::vector<bool> ours(kernel.size(), false);
  for (size_t i = 0; i < pool.nodes.size(); ++i) {
    const NodeConfig& node = cfg.nodes[static_cast<size_t>(pool.nodes[i])];
    const DestDecision w = i < want.size() ? want[i] : DestDecision();
    std::string desired = !w.known ? "unknown"
                          : w.up   ? "up " + std::to_string(w.weight)
                                   : (cfg.ipvs.on_down == IpvsOnDown::kRemove ? "down absent" : "down 0");
    const IpvsDest* have = nullptr;
    for (size_t k = 0; k < kernel.size(); ++k) {
      if (kernel[k].address != node.address) continue;
      ours[k] = true;
      have = &kernel[k];
    }
    std::string have_text = !kernel_error.empty() ? "?"
                            : have == nullptr     ? "absent"
                                                  : std::string(IpvsFwdName(have->fwd)) + " " +
                                                    std::to_string(have->weight);
    bool remove = cfg.ipvs.on_down == IpvsOnDown::kRemove;
    bool match = false;
    if (w.known && kernel_error.empty()) {
      if (!w.up && remove) match = have == nullptr;
      else match = have != nullptr && have->weight == (w.up ? w.weight : 0);
    }
    snprintf(line, sizeof line, "  %-16s %-28s %-14s %-22s %s\n", node.name.c_str(),
             AddressText(node.address).c_str(), desired.c_str(), have_text.c_str(),
             !w.known ? "" : match ? "ok" : "DIFFERS");
    out += line;
  }
  for (size_t k = 0; k < kernel.size(); ++k) {
    if (ours[k]) continue;
    std::string have = std::string(IpvsFwdName(kernel[k].fwd)) + " " + std::to_string(kernel[k].weight);
    snprintf(line, sizeof line, "  %-16s %-28s %-14s %-22s %s\n", "(foreign)",
             AddressText(kernel[k].address).c_str(), "-", have.c_str(), "not managed");
    out += line;
  }
  return out;
}

}  // namespace mpp
