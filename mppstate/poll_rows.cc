#include "mppstate/poll_rows.h"

#include <stdint.h>

#include <algorithm>
#include <initializer_list>
#include <map>

#include "common/address_text.h"
#include "common/decimal.h"
#include "mppstate/poller.h"

namespace mpp {
namespace {

// Whole-string unsigned decimal.
bool ParseU64(const std::string& s, uint64_t* out) {
  return ParseDecimalU64(s.data(), s.size(), UINT64_MAX, out);
}

// One row of a result, read by column name.
class NamedRow {
 public:
  NamedRow(MYSQL_RES* res, MYSQL_ROW row) : row_(row) {
    unsigned n = mysql_num_fields(res);
    MYSQL_FIELD* fields = mysql_fetch_fields(res);
    for (unsigned i = 0; i < n; ++i) index_[fields[i].name] = i;
  }
  // The first of the names the server has; nullptr when it has none of them
  // or the value is NULL.
  const char* Get(std::initializer_list<const char*> names) const {
    for (const char* name : names) {
      auto it = index_.find(name);
      if (it != index_.end()) return row_[it->second];
    }
    return nullptr;
  }
  std::string Text(std::initializer_list<const char*> names) const {
    const char* v = Get(names);
    return v == nullptr ? "" : v;
  }
  uint64_t Number(std::initializer_list<const char*> names) const {
    uint64_t v = 0;
    const char* s = Get(names);
    if (s == nullptr || !ParseU64(s, &v)) return 0;
    return v;
  }

 private:
  MYSQL_ROW row_;
  std::map<std::string, unsigned> index_;
};

IoThread ParseIoRunning(const std::string& v) {
  if (v == "Yes") return IoThread::kYes;
  if (v == "No" || v.empty()) return IoThread::kNo;
  return IoThread::kConnecting;  // "Connecting", "Preparing"
}

// The replication filters a status row shows, as their options are named:
// "replicate-ignore-db=scratch; replicate-do-table=app.t1,app.t2".
std::string FiltersText(const NamedRow& row) {
  static const struct {
    const char* column;
    const char* option;
  } kFilters[] = {
      {"Replicate_Do_DB", "replicate-do-db"},
      {"Replicate_Ignore_DB", "replicate-ignore-db"},
      {"Replicate_Do_Table", "replicate-do-table"},
      {"Replicate_Ignore_Table", "replicate-ignore-table"},
      {"Replicate_Wild_Do_Table", "replicate-wild-do-table"},
      {"Replicate_Wild_Ignore_Table", "replicate-wild-ignore-table"},
      {"Replicate_Do_Domain_Ids", "DO_DOMAIN_IDS"},
      {"Replicate_Ignore_Domain_Ids", "IGNORE_DOMAIN_IDS"},
      {"Replicate_Ignore_Server_Ids", "IGNORE_SERVER_IDS"},
  };
  std::string out;
  for (const auto& f : kFilters) {
    std::string v = row.Text({f.column});
    if (!v.empty()) out += (out.empty() ? "" : "; ") + std::string(f.option) + "=" + v;
  }
  return out;
}

// Fills r->repl from one SHOW SLAVE/REPLICA STATUS row. gtid_slave_pos is
// MariaDB's @@gtid_slave_pos ("" elsewhere).
void ReadReplicationRow(const NamedRow& row, bool mariadb, const std::string& gtid_slave_pos,
                        ReplicationStatus* repl) {
  repl->configured = true;
  std::string host = row.Text({"Master_Host", "Source_Host"});
  std::string port = row.Text({"Master_Port", "Source_Port"});
  repl->source_text = host + ":" + port;
  std::string literal =
      host.find(':') != std::string::npos ? "[" + host + "]:" + port : repl->source_text;
  const char* why = nullptr;
  if (!ParseAddress(literal.data(), literal.size(), &repl->source, &why)) repl->source = Address();

  repl->io = ParseIoRunning(row.Text({"Slave_IO_Running", "Replica_IO_Running"}));
  repl->sql_running = row.Text({"Slave_SQL_Running", "Replica_SQL_Running"}) == "Yes";
  repl->io_errno = static_cast<int>(row.Number({"Last_IO_Errno"}));
  repl->sql_errno = static_cast<int>(row.Number({"Last_SQL_Errno"}));
  repl->io_error = row.Text({"Last_IO_Error"});
  repl->sql_error = row.Text({"Last_SQL_Error"});
  repl->delay_s = static_cast<int64_t>(row.Number({"SQL_Delay"}));
  const char* lag = row.Get({"Seconds_Behind_Master", "Seconds_Behind_Source"});
  uint64_t lag_v = 0;
  repl->lag_s = lag != nullptr && ParseU64(lag, &lag_v) ? static_cast<int64_t>(lag_v) : -1;
  // A delayed replica (MASTER_DELAY) is as far behind as configured when
  // healthy: its lag is what it is behind beyond its delay.
  if (repl->lag_s > 0 && repl->delay_s > 0) repl->lag_s = std::max<int64_t>(0, repl->lag_s - repl->delay_s);

  repl->received.file = row.Text({"Master_Log_File", "Source_Log_File"});
  repl->received.pos = row.Number({"Read_Master_Log_Pos", "Read_Source_Log_Pos"});
  repl->filters = FiltersText(row);
  std::string exec_file = row.Text({"Relay_Master_Log_File", "Relay_Source_Log_File"});
  uint64_t exec_pos = row.Number({"Exec_Master_Log_Pos", "Exec_Source_Log_Pos"});
  bool applied = exec_file == repl->received.file && exec_pos == repl->received.pos;

  if (mariadb) {
    std::map<std::string, uint64_t> io_pos, slave_pos;
    ParseMariaGtidList(row.Text({"Gtid_IO_Pos"}), &io_pos);
    ParseMariaGtidList(gtid_slave_pos, &slave_pos);
    bool using_gtid = row.Text({"Using_Gtid"}) != "No" && !row.Text({"Using_Gtid"}).empty();
    if (using_gtid && !io_pos.empty()) {
      bool all = true;
      for (const auto& [domain, seq] : io_pos) {
        auto it = slave_pos.find(domain);
        if (it == slave_pos.end() || it->second < seq) all = false;
      }
      applied = applied || all;
    }
    // What a replica has executed it has also received; after a restart
    // Gtid_IO_Pos can be empty until the IO thread connects.
    repl->received.gtid = io_pos;
    if (using_gtid) {
      for (const auto& [domain, seq] : slave_pos) {
        uint64_t& mine = repl->received.gtid[domain];
        mine = std::max(mine, seq);
      }
    }
  } else {
    GtidIntervals retrieved, executed;
    ParseMysqlGtidSet(row.Text({"Retrieved_Gtid_Set"}), &retrieved);
    ParseMysqlGtidSet(row.Text({"Executed_Gtid_Set"}), &executed);
    if (!retrieved.empty()) {
      applied = applied || GtidSetContains(executed, retrieved);
      repl->received.gtid = GtidSetHighest(retrieved);
    }
  }
  repl->relay_applied = applied;
}


// "NO_TIMES,NO_TX,STATUS,UPTIME,UPTIME_SINCE_FLUSH_STATUS" as
// kSemiSyncColumns reads them; a value that does not parse leaves the
// status unknown.
void ReadSemiSyncStatus(const std::string& text, int64_t now_s, SemiSync* semi) {
  std::vector<std::string> v;
  for (size_t at = 0;;) {
    size_t comma = text.find(',', at);
    v.push_back(text.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  uint64_t off = 0, unacked = 0, uptime = 0, since_flush = 0;
  if (v.size() != 5 || !ParseU64(v[0], &off) || !ParseU64(v[1], &unacked) || (v[2] != "ON" && v[2] != "OFF") ||
      !ParseU64(v[3], &uptime) || !ParseU64(v[4], &since_flush))
    return;
  semi->status_known = true;
  semi->on = v[2] == "ON";
  semi->off_times = off;
  semi->unacked = unacked;
  semi->started_at_s = now_s - static_cast<int64_t>(uptime);
  semi->flushed_after_s = static_cast<int64_t>(uptime) - static_cast<int64_t>(since_flush);
}

}  // namespace

bool ReadServerVariables(MYSQL_RES* res, bool mariadb, int64_t now_s, PollResult* r, std::string* gtid_slave_pos) {
  MYSQL_ROW row = res != nullptr ? mysql_fetch_row(res) : nullptr;
  if (row == nullptr) return false;
  uint64_t v = 0;
  r->read_only = !(row[0] != nullptr && ParseU64(row[0], &v) && v == 0);
  if (row[1] != nullptr && ParseU64(row[1], &v)) r->server_id = static_cast<int64_t>(v);
  gtid_slave_pos->clear();
  r->binlog_state.clear();
  r->slave_pos.clear();
  r->binlog_state_known = false;
  r->strict_mode = -1;
  r->log_slave_updates = -1;
  if (mariadb && mysql_num_fields(res) > 5) {
    if (row[2] != nullptr) *gtid_slave_pos = row[2];
    if (!ParseGtidList(*gtid_slave_pos, &r->slave_pos)) r->slave_pos.clear();
    r->binlog_state_known = row[3] != nullptr && ParseGtidList(row[3], &r->binlog_state);
    if (row[4] != nullptr && ParseU64(row[4], &v)) r->strict_mode = v == 1 ? 1 : 0;
    if (row[5] != nullptr && ParseU64(row[5], &v)) r->log_slave_updates = v == 1 ? 1 : 0;
  }
  r->semi = SemiSync();
  if (mariadb && mysql_num_fields(res) > 8) {
    auto on = [&](int i) { return row[i] != nullptr && ParseU64(row[i], &v) && v == 1; };
    r->semi.known = true;
    r->semi.primary = on(6);
    r->semi.replica = on(7);
    r->semi.after_sync = row[8] != nullptr && std::string(row[8]) == "AFTER_SYNC";
    if (mysql_num_fields(res) > 9 && row[9] != nullptr) ReadSemiSyncStatus(row[9], now_s, &r->semi);
    if (mysql_num_fields(res) > 10 && row[10] != nullptr) r->semi.binlog_file = row[10];
  }
  return true;
}

const char kGtidColumns[] = "@@gtid_slave_pos, @@gtid_binlog_state, @@gtid_strict_mode, @@log_slave_updates";

// The status values come in one column, ordered by name:
// "NO_TIMES,NO_TX,STATUS,UPTIME,UPTIME_SINCE_FLUSH_STATUS" ("0,0,ON,3600,3600");
// the binlog file, whose name may hold a comma, in a column of its own.
const char kSemiSyncColumns[] =
    "@@rpl_semi_sync_master_enabled, @@rpl_semi_sync_slave_enabled, @@rpl_semi_sync_master_wait_point, "
    "(SELECT GROUP_CONCAT(VARIABLE_VALUE ORDER BY VARIABLE_NAME SEPARATOR ',') FROM information_schema.GLOBAL_STATUS "
    "WHERE VARIABLE_NAME IN ('RPL_SEMI_SYNC_MASTER_NO_TIMES', 'RPL_SEMI_SYNC_MASTER_NO_TX', "
    "'RPL_SEMI_SYNC_MASTER_STATUS', 'UPTIME', 'UPTIME_SINCE_FLUSH_STATUS')), "
    "(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'BINLOG_SNAPSHOT_FILE')";

void ReadReplicationStatus(MYSQL_RES* res, bool mariadb, const std::string& gtid_slave_pos,
                           ReplicationStatus* repl) {
  MYSQL_ROW row = res != nullptr ? mysql_fetch_row(res) : nullptr;
  if (row != nullptr) ReadReplicationRow(NamedRow(res, row), mariadb, gtid_slave_pos, repl);
}

}  // namespace mpp
