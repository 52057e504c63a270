#include "core/poll_result.h"

namespace mpp {

const char* PollOutcomeName(PollOutcome o) {
  switch (o) {
    case PollOutcome::kNotPolled: return "not polled yet";
    case PollOutcome::kOk: return "ok";
    case PollOutcome::kRefused: return "connection refused";
    case PollOutcome::kTimeout: return "timeout";
    case PollOutcome::kAccessDenied: return "access denied";
    case PollOutcome::kTooManyConnections: return "too many connections";
    case PollOutcome::kQueryError: return "query failed";
    case PollOutcome::kMonitorError: return "not polled (monitor error)";
  }
  return "?";
}

int ComparePositions(const ReplicationPosition& a, const ReplicationPosition& b) {
  if (!a.gtid.empty() && !b.gtid.empty()) {
    bool a_more = false, b_more = false;
    for (const auto& [key, seq] : a.gtid) {
      auto it = b.gtid.find(key);
      uint64_t other = it == b.gtid.end() ? 0 : it->second;
      if (seq > other) a_more = true;
      if (seq < other) b_more = true;
    }
    for (const auto& [key, seq] : b.gtid) {
      if (a.gtid.count(key) == 0 && seq > 0) b_more = true;
    }
    if (a_more && b_more) return 2;
    return a_more ? 1 : b_more ? -1 : 0;
  }
  if (!a.file.empty() && !b.file.empty()) {
    // Binlog names share a base and end in a zero-padded number, so the
    // text order is the history order.
    if (a.file != b.file) return a.file < b.file ? -1 : 1;
    return a.pos < b.pos ? -1 : a.pos > b.pos ? 1 : 0;
  }
  return 2;
}

std::string UnloggedNote(const PollResult& p) {
  std::string what;
  if (p.log_slave_updates == 0) what = "log_slave_updates is OFF";
  if (!p.repl.filters.empty())
    what += (what.empty() ? "" : "; ") + std::string("replication filters (") + p.repl.filters + ")";
  return what.empty() ? "" : what + ": positions compared on gtid_slave_pos";
}

}  // namespace mpp
