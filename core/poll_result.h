// What one poll of one node found out: the input of the evaluation core.
// The poller (poller.cc) fills it from a real server; tests fill it by hand.
// Thread-safety: value types.
#pragma once

#include <stdint.h>

#include <map>
#include <string>
#include <vector>

#include "common/address.h"
#include "core/gtid_divergence.h"

namespace mpp {

enum class PollOutcome {
  kNotPolled = 0,        // no poll has finished yet
  kOk,                   // logged in, queried, read the replication status
  kRefused,              // connection refused or host unreachable
  kTimeout,              // connect or query missed its deadline
  kAccessDenied,         // 1045: the server is alive, our login is wrong
  kTooManyConnections,   // 1040: the server is alive and full
  kQueryError,           // logged in, but a query failed
  kMonitorError,         // not polled: the monitor itself could not (no thread,
                         // no descriptor, no memory); no news about the node
};

// A failed poll climbs the STATUS ladder; 1045 and 1040 prove the server is
// alive and never count as failures. A monitor error is not the node's
// fault and counts as nothing at all.
inline bool PollFailed(PollOutcome o) {
  return o == PollOutcome::kRefused || o == PollOutcome::kTimeout || o == PollOutcome::kQueryError;
}
const char* PollOutcomeName(PollOutcome o);

enum class IoThread { kNo = 0, kYes, kConnecting };

// How far a replica got in its source's history: GTID positions (MariaDB
// domain -> sequence number, MySQL source uuid -> highest transaction) and
// the binlog coordinates it has read up to.
struct ReplicationPosition {
  std::map<std::string, uint64_t> gtid;
  std::string file;  // Master_Log_File
  uint64_t pos = 0;  // Read_Master_Log_Pos
};

// -1: a has less, 0: equal, 1: a has more, 2: not comparable (different
// histories, or nothing known).
int ComparePositions(const ReplicationPosition& a, const ReplicationPosition& b);

struct ReplicationStatus {
  bool configured = false;  // SHOW SLAVE/REPLICA STATUS returned a row
  Address source;           // Master_Host:Master_Port when it is an IP address
  std::string source_text;  // as the server reports it, for messages
  IoThread io = IoThread::kNo;
  bool sql_running = false;
  int io_errno = 0;
  int sql_errno = 0;
  std::string io_error, sql_error;
  // Seconds_Behind_Master beyond its delay (0 for a delayed replica exactly
  // as far behind as configured); -1 when NULL.
  int64_t lag_s = -1;
  int64_t delay_s = 0;         // SQL_Delay (MASTER_DELAY): such a replica is never promoted
  bool relay_applied = false;  // everything received has been executed
  ReplicationPosition received;
  // Its replication filters, "replicate-ignore-db=scratch; ..." ("" when
  // none): what they skip moves gtid_slave_pos but never reaches its binlog.
  std::string filters;
};

// MariaDB's semi-synchronous replication settings, read only for a pool
// with semi_sync.
struct SemiSync {
  bool known = false;       // the poll read them
  bool primary = false;     // rpl_semi_sync_master_enabled
  bool replica = false;     // rpl_semi_sync_slave_enabled
  bool after_sync = false;  // rpl_semi_sync_master_wait_point = AFTER_SYNC
  // The primary side at work: whether it is on now
  // (Rpl_semi_sync_master_status), how often it fell back to asynchronous
  // (Rpl_semi_sync_master_no_times), how many commits ended their wait
  // without an acknowledgement (Rpl_semi_sync_master_no_tx), and when the
  // server started (wall clock, from Uptime) and when its counters were
  // last flushed (seconds after the start, from Uptime_since_flush_status):
  // whether the counts still cover an earlier moment.
  bool status_known = false;
  bool on = false;
  uint64_t off_times = 0;
  uint64_t unacked = 0;
  int64_t started_at_s = 0;
  int64_t flushed_after_s = 0;  // Uptime - Uptime_since_flush_status: exact, not a clock's
  // Its binlog file now (Binlog_snapshot_file): every start of the server
  // opens a new one, so an unchanged file is a run that has not ended,
  // however soon after its start the server restarted.
  std::string binlog_file;
};

struct PollResult {
  PollOutcome outcome = PollOutcome::kNotPolled;
  std::string error;  // the server's, the client library's or the monitor's message
  int error_code = 0;
  // kQueryError from the check query alone: the rest of the poll (read_only,
  // GTIDs, replication) was still read, and holds for a failover's choice
  // among the replicas of a failing writer (core/evaluation.cc).
  bool check_failed_only = false;
  bool read_only = true;
  int64_t server_id = 0;
  ReplicationStatus repl;
  SemiSync semi;
  // MariaDB: the last GTID of every domain and server_id in its binlog
  // (@@gtid_binlog_state), and @@gtid_strict_mode (-1: not read).
  bool binlog_state_known = false;
  std::vector<Gtid> binlog_state;
  std::vector<Gtid> slave_pos;  // @@gtid_slave_pos: the last GTID applied as a replica, per domain
  int strict_mode = -1;
  // MariaDB's @@log_slave_updates (-1: not read): OFF, what it applies as a
  // replica never reaches its binlog.
  int log_slave_updates = -1;
};

// Why the poll's node applies transactions its binlog never gets, for its
// reason and `mppctl status`: "log_slave_updates is OFF: positions compared
// on gtid_slave_pos", "replication filters (replicate-ignore-db=scratch):
// ..."; "" when it logs all it applies.
std::string UnloggedNote(const PollResult& p);

}  // namespace mpp
