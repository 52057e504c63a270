#include "ipvs/ipvs_daemon.h"

#include <errno.h>
#include <stdio.h>

#include <algorithm>
#include <utility>

#include "common/state_reader.h"

namespace mpp {
namespace {

std::string Seconds(int64_t ms) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  return buf;
}

bool SameDecisions(const std::vector<DestDecision>& a, const std::vector<DestDecision>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].known != b[i].known || a[i].up != b[i].up || a[i].weight != b[i].weight) return false;
  }
  return true;
}

}  // namespace

IpvsDaemon::IpvsDaemon(IpvsTable* nl, LogFn log) : nl_(nl), log_(std::move(log)), buf_(kStateFileMax) {}

void IpvsDaemon::SetConfig(const Config& cfg) {
  cfg_ = cfg;
  // Positions in the pools may have moved: forget what was applied.
  applied_.clear();
}

void IpvsDaemon::Episode(const std::string& key, const std::string& msg, const std::string& ended) {
  auto it = episodes_.find(key);
  if (msg.empty()) {
    if (it == episodes_.end()) return;
    episodes_.erase(it);
    if (!ended.empty()) log_(ended);
    return;
  }
  if (it != episodes_.end() && it->second == msg) return;
  episodes_[key] = msg;
  log_(msg);
}

bool IpvsDaemon::LoadDecisions(int64_t now_ms, Decisions* d, std::string* problem,
                               std::vector<std::string>* notes) {
  std::string path = StatePath();
  StateFile f;
  const char* why = "unreadable";
  StateError e = LoadStateFile(path.c_str(), buf_.data(), buf_.size(), &f, &why);
  if (e != StateError::kOk) {
    *problem = path + ": " + (why != nullptr ? why : "unreadable");
    return false;
  }
  int64_t age_ms;
  if (StateFreshness(f.header, now_ms, &age_ms) != Freshness::kFresh) {
    // Stable text (no age) so one stale episode logs one line.
    *problem = path + ": stale (seq " + std::to_string(f.header.seq) + ", stale after " +
               Seconds(f.header.stale_after_ms) + ")";
    return false;
  }
  if (!ReadDecisions(cfg_, f, d, notes, &why)) {
    *problem = path + ": " + why;
    return false;
  }
  return true;
}

int IpvsDaemon::Reconcile(int64_t now_ms, bool full) {
  Decisions want;
  std::string problem;
  std::vector<std::string> notes;
  ++counters_.reconciles;
  counters_.state_usable = LoadDecisions(now_ms, &want, &problem, &notes);
  if (!counters_.state_usable) {
    Episode("state", problem + ": IPVS left as it is", "");
    return 0;
  }
  Episode("state", "", StatePath() + ": usable again");
  std::set<std::string> now_notes(notes.begin(), notes.end());
  for (const std::string& n : now_notes) {
    if (notes_.count(n) == 0) log_(n);
  }
  notes_ = std::move(now_notes);

  // Plan every service first, then apply the downs of all of them before
  // any up: two rw services of one pool (say the classic and the X protocol
  // port) must not send writes to the old writer through one while the
  // other already sends them to the new one.
  std::vector<IpvsAction> plan;
  std::vector<IpvsDest> kernel;
  for (size_t v = 0; v < cfg_.vss.size(); ++v) {
    const VsConfig& vs = cfg_.vss[v];
    if (!full && v < applied_.size() && SameDecisions(applied_[v], want[v])) continue;
    IpvsServiceKey key = ServiceKeyOf(cfg_, static_cast<int>(v));
    IpvsStatus st = nl_->ListDests(key, &kernel);
    std::string vs_key = "vs " + vs.name;
    if (!st.ok()) {
      ++counters_.netlink_errors;
      Episode(vs_key,
              st.code() == ESRCH
                  ? vs_key + ": no service " + IpvsServiceText(key) + " in the kernel: nothing to do"
                  : vs_key + ": " + st.message(),
              "");
      // Nothing was applied: what comes when it is back is not drift.
      for (DestDecision& d : want[v]) d.known = false;
      continue;
    }
    Episode(vs_key, "", vs_key + ": service " + IpvsServiceText(key) + " is there again");
    std::vector<IpvsAction> actions = PlanService(cfg_, static_cast<int>(v), want[v], kernel);
    plan.insert(plan.end(), actions.begin(), actions.end());
  }
  std::stable_partition(plan.begin(), plan.end(), IsDownStep);

  int changes = 0;
  std::vector<bool> down_failed(cfg_.vss.size(), false);
  for (const IpvsAction& a : plan) {
    size_t v = static_cast<size_t>(a.vs);
    size_t pos = static_cast<size_t>(a.pos);
    const VsConfig& vs = cfg_.vss[v];
    std::string what = DescribeAction(cfg_, a);
    std::string dest_key = "vs " + vs.name + " node " + cfg_.nodes[static_cast<size_t>(a.node)].name;
    if (down_failed[v] && !IsDownStep(a)) {
      // The old writer may still be up: bringing this one up could make two.
      // Unknown, so the next reconcile tries the down and this again.
      Episode(dest_key, what + ": held back: a down of vs " + vs.name + " failed", "");
      want[v][pos].known = false;
      continue;
    }
    IpvsServiceKey key = ServiceKeyOf(cfg_, a.vs);
    IpvsStatus st;
    switch (a.kind) {
      case IpvsActionKind::kSetWeight: st = nl_->SetDest(key, a.dest); break;
      case IpvsActionKind::kAdd: st = nl_->AddDest(key, a.dest); break;
      case IpvsActionKind::kDelete: st = nl_->DelDest(key, a.dest.address); break;
    }
    if (!st.ok()) {
      ++counters_.netlink_errors;
      Episode(dest_key, what + ": failed: " + st.message(), "");
      want[v][pos].known = false;
      if (!a.up) down_failed[v] = true;
      continue;
    }
    Episode(dest_key, "", "");
    // The decision did not change since the last usable state file: someone
    // else changed the kernel.
    bool drift = v < applied_.size() && pos < applied_[v].size() && applied_[v][pos].known &&
                 applied_[v][pos].up == a.up && applied_[v][pos].weight == want[v][pos].weight;
    log_(what + (drift ? " [drift repaired]" : ""));
    ++changes;
    ++counters_.kernel_changes;
    if (drift) ++counters_.drift_repairs;
  }
  applied_ = std::move(want);
  return changes;
}

std::string IpvsDaemon::Status(int64_t now_ms) {
  std::string out;
  Decisions want;
  std::string problem;
  std::vector<std::string> notes;
  std::string path = StatePath();
  if (LoadDecisions(now_ms, &want, &problem, &notes)) {
    out += "state " + path + ": usable\n";
  } else {
    out += "state " + problem + ": nothing would be applied\n";
    want.assign(cfg_.vss.size(), {});
  }
  for (const std::string& n : notes) out += "  note: " + n + "\n";
  out += "on_down " + std::string(cfg_.ipvs.on_down == IpvsOnDown::kRemove ? "remove" : "quiesce") +
         ", reconcile every " + Seconds(cfg_.ipvs.reconcile_interval_ms) + "\n";
  std::vector<IpvsDest> kernel;
  for (size_t v = 0; v < cfg_.vss.size(); ++v) {
    IpvsStatus st = nl_->ListDests(ServiceKeyOf(cfg_, static_cast<int>(v)), &kernel);
    if (!st.ok()) kernel.clear();
    out += "\n" + FormatServiceStatus(cfg_, static_cast<int>(v), want[v], kernel,
                                      st.ok() ? "" : st.message());
  }
  return out;
}

}  // namespace mpp
