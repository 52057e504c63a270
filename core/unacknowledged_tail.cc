#include "core/unacknowledged_tail.h"

#include <algorithm>

namespace mpp {
namespace {

// The server start times compared are Uptime seconds away from two clocks.
constexpr int64_t kStartSlackS = 2;

bool Near(int64_t a, int64_t b) { return a <= b + kStartSlackS && a >= b - kStartSlackS; }

}  // namespace

std::string WhyMaybeAcknowledged(const WriterSemiSyncSeen& seen, const WriterSemiSyncSeen& now, int64_t acks_cut) {
  if (!Near(now.started_at_s, seen.started_at_s))
    return "it restarted since it was the writer: whether its semi-sync fell back to asynchronous then is unknown";
  if (now.binlog_file != seen.binlog_file)
    return "its binlog moved on from " + seen.binlog_file + " to " + now.binlog_file +
           " since it was the writer, as a restart does: whether its semi-sync fell back to asynchronous then is "
           "unknown";
  if (now.flushed_after_s != seen.flushed_after_s)
    return "its status counters were flushed (FLUSH STATUS) since it was the writer: whether its semi-sync fell "
           "back to asynchronous then is unknown";
  if (now.off_times != seen.off_times)
    return "its semi-sync fell back to asynchronous since it was last seen on (Rpl_semi_sync_master_no_times " +
           std::to_string(seen.off_times) + " -> " + std::to_string(now.off_times) +
           "): a commit only it has may have been acknowledged";
  // A wait ended by KILL QUERY tells the client OK without an
  // acknowledgement; one ended by a fence's KILL CONNECTION tells it the
  // connection was lost. Only the latter may be undone.
  uint64_t unacked = now.unacked - std::min(now.unacked, seen.unacked);
  uint64_t cut = static_cast<uint64_t>(std::max<int64_t>(0, acks_cut - seen.acks_cut));
  if (now.unacked < seen.unacked || unacked > cut)
    return std::to_string(unacked) + " of its commits ended their wait for an acknowledgement without one, " +
           std::to_string(cut) + " of them cut off by a fence: another (a KILL QUERY) may have been told it was "
           "committed";
  return "";
}

bool SealProves(const TailSeal& seal, const WriterSemiSyncSeen& seen, const std::vector<Gtid>& binlog_state) {
  return seal.proven && seen.known && seal.against == seen && WhyDiverged(binlog_state, seal.binlog_state, "").empty();
}

}  // namespace mpp
