#include "core/pool_memory.h"

namespace mpp {
namespace {

const char kNone[] = "-";

std::string OrNone(const std::string& s) { return s.empty() ? kNone : s; }
std::string FromNone(const std::string& s) { return s == kNone ? "" : s; }

std::vector<std::string> Words(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    size_t j = line.find(' ', i);
    if (j == std::string::npos) j = line.size();
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool ParseMs(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::string FormatPoolMemory(const PoolMemory& m) {
  std::string out = "mpp-pool-memory " + std::to_string(kPoolMemoryVersion) + "\n";
  for (const PoolMemoryEntry& p : m.pools) {
    const FailoverRecord& f = p.last_failover;
    out += "pool " + p.pool + " active " + OrNone(p.active) + " switchover " +
           (p.active_by_switchover ? "yes" : "no") + " failover " +
           (f.time_ms > 0 ? std::to_string(f.time_ms) + " " + OrNone(f.from) + " " + OrNone(f.to) : "- - -") + "\n";
  }
  for (const NodeMemoryEntry& n : m.nodes) {
    if (!n.demoted && !n.offline) continue;
    out += "node " + n.pool + " " + n.node + (n.demoted ? " demoted" : "") + (n.offline ? " offline" : "") + "\n";
  }
  out += "end\n";
  return out;
}

bool ParsePoolMemory(const std::string& text, const std::string& name, PoolMemory* out, std::string* err) {
  PoolMemory m;
  int line_no = 0;
  bool header = false, ended = false;
  auto fail = [&](const std::string& msg) {
    *err = name + ":" + std::to_string(line_no) + ": " + msg;
    return false;
  };
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    ++line_no;
    if (nl == std::string::npos) return fail("truncated: no final newline");
    std::vector<std::string> w = Words(text.substr(pos, nl - pos));
    pos = nl + 1;
    if (ended) return fail("text after \"end\"");
    if (!header) {
      if (w.size() != 2 || w[0] != "mpp-pool-memory") return fail("not a pool memory file");
      if (w[1] != std::to_string(kPoolMemoryVersion)) return fail("unknown version " + w[1]);
      header = true;
    } else if (w.size() == 1 && w[0] == "end") {
      ended = true;
    } else if (!w.empty() && w[0] == "pool") {
      // pool NAME active NODE|- switchover yes|no failover TIME|- FROM|- TO|-
      if (w.size() != 10 || w[2] != "active" || w[4] != "switchover" || w[6] != "failover")
        return fail("bad pool line");
      PoolMemoryEntry p;
      p.pool = w[1];
      p.active = FromNone(w[3]);
      if (w[5] != "yes" && w[5] != "no") return fail("switchover: expected yes or no");
      p.active_by_switchover = w[5] == "yes";
      if (w[7] != kNone) {
        if (!ParseMs(w[7], &p.last_failover.time_ms) || p.last_failover.time_ms == 0)
          return fail("failover: bad time '" + w[7] + "'");
        p.last_failover.from = FromNone(w[8]);
        p.last_failover.to = FromNone(w[9]);
      }
      for (const PoolMemoryEntry& q : m.pools)
        if (q.pool == p.pool) return fail("pool " + p.pool + " twice");
      m.pools.push_back(p);
    } else if (!w.empty() && w[0] == "node") {
      // node POOL NAME [demoted] [offline]
      if (w.size() < 4 || w.size() > 5) return fail("bad node line");
      NodeMemoryEntry n;
      n.pool = w[1];
      n.node = w[2];
      for (size_t i = 3; i < w.size(); ++i) {
        if (w[i] == "demoted" && !n.demoted) n.demoted = true;
        else if (w[i] == "offline" && !n.offline) n.offline = true;
        else return fail("unknown node flag '" + w[i] + "'");
      }
      m.nodes.push_back(n);
    } else {
      return fail("unknown line");
    }
  }
  if (!ended) {
    ++line_no;
    return fail(header ? "truncated: no \"end\" line" : "empty");
  }
  *out = std::move(m);
  return true;
}

}  // namespace mpp
