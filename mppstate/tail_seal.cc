#include "mppstate/tail_seal.h"

#include <stdlib.h>
#include <time.h>

#include <chrono>
#include <thread>
#include <vector>

#include "core/gtid_divergence.h"
#include "mppstate/node_holdings.h"

namespace mpp {
namespace {

constexpr int64_t kLookMs = 20;

const char kCommitting[] =
    "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
    "WHERE ID <> CONNECTION_ID() "
    "AND USER NOT IN ('system user', 'event_scheduler') "
    "AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Slave_IO', 'Slave_SQL', 'Slave_worker') "
    "AND (COMMAND = 'Killed' OR STATE IN ('Commit', 'Commit implicit', 'Writing to binlog') "
    "OR STATE LIKE 'Waiting for semi-sync%')";

struct Look {
  WriterSemiSyncSeen counters;
  std::vector<Gtid> binlog_state;

  bool Same(const Look& o) const {
    return counters.off_times == o.counters.off_times && counters.unacked == o.counters.unacked &&
           counters.flushed_after_s == o.counters.flushed_after_s && counters.binlog_file == o.counters.binlog_file &&
           GtidListText(binlog_state) == GtidListText(o.binlog_state);
  }
};

bool TakeLook(Session* s, Look* out, std::string* err) {
  return ReadSemiSyncNow(s, &out->counters, err) && ReadBinlogState(s, &out->binlog_state, err);
}

}  // namespace

bool ReadSemiSyncNow(Session* s, WriterSemiSyncSeen* now, std::string* err) {
  Table t;
  if (!s->Run("SHOW GLOBAL STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_no_times', "
              "'Rpl_semi_sync_master_no_tx', 'Uptime', 'Uptime_since_flush_status', 'Binlog_snapshot_file')",
              &t, err))
    return false;
  int64_t now_s = static_cast<int64_t>(time(nullptr));
  int64_t uptime = 0, since_flush = 0;
  int have = 0;
  for (const auto& row : t.rows) {
    if (row.size() < 2) continue;
    if (row[0] == "Binlog_snapshot_file") {
      now->binlog_file = row[1];
      continue;
    }
    char* end = nullptr;
    unsigned long long v = strtoull(row[1].c_str(), &end, 10);
    if (end == row[1].c_str() || *end != '\0') continue;
    if (row[0] == "Rpl_semi_sync_master_no_times") now->off_times = v;
    else if (row[0] == "Rpl_semi_sync_master_no_tx") now->unacked = v;
    else if (row[0] == "Uptime") uptime = static_cast<int64_t>(v);
    else if (row[0] == "Uptime_since_flush_status") since_flush = static_cast<int64_t>(v);
    else continue;
    ++have;
  }
  now->started_at_s = now_s - uptime;
  now->flushed_after_s = uptime - since_flush;
  if (have != 4) {
    *err = s->name() + ": cannot read Rpl_semi_sync_master_no_times, Rpl_semi_sync_master_no_tx, Uptime and "
                       "Uptime_since_flush_status";
    return false;
  }
  return true;
}

bool SessionsCommitting(Session* s, int64_t* count, std::string* err) {
  Table t;
  if (!s->Run(kCommitting, &t, err)) return false;
  *count = strtoll(t.First().c_str(), nullptr, 10);
  return true;
}

TailSeal SealTail(Session* s, const WriterSemiSyncSeen& against, int64_t acks_cut, int64_t wait_ms) {
  TailSeal seal;
  if (!against.known) return seal;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  std::string err;
  while (true) {
    Look before, after;
    int64_t committing = 0;
    if (!TakeLook(s, &before, &err) || !SessionsCommitting(s, &committing, &err)) return seal;
    if (committing == 0) {
      if (!TakeLook(s, &after, &err)) return seal;
      if (before.Same(after)) {
        if (!WhyMaybeAcknowledged(against, before.counters, acks_cut).empty()) return seal;
        seal.proven = true;
        seal.against = against;
        seal.binlog_state = before.binlog_state;
        return seal;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) return seal;
    std::this_thread::sleep_for(std::chrono::milliseconds(kLookMs));
  }
}

}  // namespace mpp
