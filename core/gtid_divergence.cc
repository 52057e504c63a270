#include "core/gtid_divergence.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

namespace mpp {
namespace {

bool ParseNumber(const std::string& s, uint64_t max, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (max - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

bool ParseGtidList(const std::string& text, std::vector<Gtid>* out) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    size_t b = start, e = end;
    while (b < e && IsBlank(text[b])) ++b;
    while (e > b && IsBlank(text[e - 1])) --e;
    std::string item = text.substr(b, e - b);
    if (item.empty()) {
      // Only an empty list may be empty: "0-1-1,,0-2-2" is malformed.
      if (end < text.size() || start > 0) return false;
    } else {
      size_t d1 = item.find('-');
      size_t d2 = d1 == std::string::npos ? d1 : item.find('-', d1 + 1);
      uint64_t domain = 0, server = 0, seq = 0;
      if (d2 == std::string::npos || !ParseNumber(item.substr(0, d1), UINT32_MAX, &domain) ||
          !ParseNumber(item.substr(d1 + 1, d2 - d1 - 1), UINT32_MAX, &server) ||
          !ParseNumber(item.substr(d2 + 1), UINT64_MAX, &seq))
        return false;
      out->push_back(Gtid{static_cast<uint32_t>(domain), static_cast<uint32_t>(server), seq});
    }
    if (end == text.size()) break;
    start = end + 1;
  }
  return true;
}

std::string GtidText(const Gtid& g) {
  return std::to_string(g.domain) + "-" + std::to_string(g.server_id) + "-" + std::to_string(g.seq);
}

std::string GtidListText(const std::vector<Gtid>& list) {
  std::string out;
  for (const Gtid& g : list) out += (out.empty() ? "" : ",") + GtidText(g);
  return out;
}

bool SameGtids(const std::vector<Gtid>& a, const std::vector<Gtid>& b) {
  auto sorted = [](std::vector<Gtid> v) {
    std::sort(v.begin(), v.end(), [](const Gtid& x, const Gtid& y) {
      return std::tie(x.domain, x.server_id, x.seq) < std::tie(y.domain, y.server_id, y.seq);
    });
    return GtidListText(v);
  };
  return sorted(a) == sorted(b);
}

std::vector<Gtid> LastGtidPerDomain(const std::vector<Gtid>& binlog_pos, const std::vector<Gtid>& slave_pos) {
  std::map<uint32_t, Gtid> last;
  for (const Gtid& g : binlog_pos) {
    auto it = last.find(g.domain);
    if (it == last.end() || g.seq > it->second.seq) last[g.domain] = g;
  }
  for (const Gtid& g : slave_pos) {
    auto it = last.find(g.domain);
    if (it == last.end() || g.seq > it->second.seq) last[g.domain] = g;
  }
  std::vector<Gtid> out;
  for (const auto& [domain, g] : last) out.push_back(g);
  return out;
}

std::string WhyDiverged(const std::vector<Gtid>& node_last, const std::vector<Gtid>& active_binlog_state,
                        const std::string& active_name) {
  std::map<std::pair<uint32_t, uint32_t>, uint64_t> have;  // (domain, server_id) -> last sequence
  for (const Gtid& g : active_binlog_state) {
    uint64_t& seq = have[{g.domain, g.server_id}];
    if (g.seq > seq) seq = g.seq;
  }
  for (const Gtid& g : node_last) {
    if (g.seq == 0) continue;  // nothing in that domain yet
    auto it = have.find({g.domain, g.server_id});
    if (it == have.end() || it->second < g.seq) return GtidText(g) + " is not in " + active_name + "'s binlog";
  }
  return "";
}

std::vector<Gtid> UnloggedSlavePos(const GtidHistory& h) {
  std::vector<Gtid> out;
  for (const Gtid& g : h.slave_pos)
    if (g.seq != 0 && !WhyDiverged({g}, h.binlog_state, "").empty()) out.push_back(g);
  return out;
}

bool HistoryHolds(const GtidHistory& h, const Gtid& g) {
  if (g.seq == 0 || WhyDiverged({g}, h.binlog_state, "").empty()) return true;
  for (const Gtid& applied : h.slave_pos) {
    if (applied.domain != g.domain) continue;
    if (applied.server_id != g.server_id || applied.seq < g.seq) return false;
    // Another server's GTID past it in the binlog: the history of that
    // domain is not one line through `applied`, so nothing is proven.
    for (const Gtid& logged : h.binlog_state)
      if (logged.domain == g.domain && logged.server_id != g.server_id && logged.server_id != h.server_id &&
          logged.seq > applied.seq)
        return false;
    return true;
  }
  return false;
}

std::string WhyDivergedFrom(const std::vector<Gtid>& node_held, const GtidHistory& writer,
                            const std::string& writer_name) {
  for (const Gtid& g : node_held) {
    if (HistoryHolds(writer, g)) continue;
    std::string why = GtidText(g) + " is not in " + writer_name + "'s binlog";
    for (const Gtid& unlogged : UnloggedSlavePos(writer))
      if (unlogged.domain == g.domain) why += ", nor among what it applied as a replica (" + GtidText(unlogged) + ")";
    return why;
  }
  return "";
}

std::string WhyCannotFollow(const std::vector<Gtid>& node_last, const GtidHistory& writer,
                            const std::string& node_name, const std::string& writer_name) {
  for (const Gtid& unlogged : UnloggedSlavePos(writer)) {
    const Gtid* at = nullptr;
    for (const Gtid& g : node_last)
      if (g.domain == unlogged.domain && g.seq != 0) at = &g;
    bool exactly = at != nullptr && at->server_id == unlogged.server_id && at->seq == unlogged.seq;
    if (exactly || (at != nullptr && at->seq > unlogged.seq)) continue;
    return node_name + " is at " + (at == nullptr ? "nothing" : GtidText(*at)) + " in domain " +
           std::to_string(unlogged.domain) + ", but " + writer_name + " applied up to " + GtidText(unlogged) +
           " as a replica without logging it: " + writer_name + " cannot send what " + node_name + " lacks";
  }
  return "";
}

std::string WhyErrant(const std::vector<Gtid>& standby_binlog_state, const GtidHistory& active,
                      const std::string& active_name) {
  std::vector<Gtid> others;
  for (const Gtid& g : standby_binlog_state)
    if (g.server_id != active.server_id) others.push_back(g);
  return WhyDivergedFrom(others, active, active_name);
}

}  // namespace mpp
