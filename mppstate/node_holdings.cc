#include "mppstate/node_holdings.h"

#include <stdlib.h>

namespace mpp {
namespace {

// What the IO thread received (MariaDB's Gtid_IO_Pos), while it replicates
// by GTID: a relay log can hold transactions not applied yet.
bool ReadReceived(Session* s, std::vector<Gtid>* out, int64_t* delay_s, std::string* err) {
  Table t;
  out->clear();
  if (!s->Run(s->ShowStatus(), &t, err)) return false;
  *delay_s = t.rows.empty() ? 0 : atoll(t.Get(0, {"SQL_Delay"}).c_str());
  std::string using_gtid = t.Get(0, {"Using_Gtid"});
  if (t.rows.empty() || using_gtid.empty() || using_gtid == "No") return true;
  if (!ParseGtidList(t.Get(0, {"Gtid_IO_Pos"}), out)) {
    *err = s->name() + ": cannot read Gtid_IO_Pos";
    return false;
  }
  return true;
}

}  // namespace

bool ReadHoldings(Session* s, Holdings* out, std::string* err) {
  Table t;
  if (s->maria()) {
    if (!s->Run("SELECT @@read_only, @@gtid_binlog_pos, @@gtid_slave_pos, @@gtid_binlog_state", &t, err))
      return false;
    std::vector<Gtid> binlog, applied, state, received;
    if (t.rows.empty() || !ParseGtidList(t.rows[0][1], &binlog) || !ParseGtidList(t.rows[0][2], &applied) ||
        !ParseGtidList(t.rows[0][3], &state)) {
      *err = s->name() + ": cannot read gtid_binlog_pos, gtid_slave_pos and gtid_binlog_state";
      return false;
    }
    out->last = LastGtidPerDomain(binlog, applied);
    out->text = GtidListText(out->last);
    Table row = t;
    if (!ReadReceived(s, &received, &out->delay_s, err)) return false;
    t = row;
    // Every GTID it holds: the last of each domain and server_id in its
    // binlog (an errant one hides behind a later GTID of the same domain
    // in gtid_binlog_pos), what it applied and what it received.
    out->kept = state;
    out->kept.insert(out->kept.end(), applied.begin(), applied.end());
    out->held = out->kept;
    out->held.insert(out->held.end(), received.begin(), received.end());
  } else {
    if (!s->Run("SELECT @@read_only, @@gtid_executed", &t, err)) return false;
    if (t.rows.empty()) {
      *err = s->name() + ": cannot read gtid_executed";
      return false;
    }
    out->text = t.rows[0][1];
  }
  out->read_only = t.rows[0][0] != "0";
  return true;
}

bool ReadBinlogState(Session* s, std::vector<Gtid>* out, std::string* err) {
  Table t;
  if (!s->Run("SELECT @@gtid_binlog_state", &t, err)) return false;
  if (!ParseGtidList(t.First(), out)) {
    *err = s->name() + ": cannot read gtid_binlog_state";
    return false;
  }
  return true;
}

bool ReadHistory(Session* s, GtidHistory* out, std::string* err) {
  Table t;
  if (!s->Run("SELECT @@gtid_binlog_state, @@gtid_slave_pos, @@server_id", &t, err)) return false;
  *out = GtidHistory();
  if (t.rows.empty() || t.rows[0].size() != 3 || !ParseGtidList(t.rows[0][0], &out->binlog_state) ||
      !ParseGtidList(t.rows[0][1], &out->slave_pos)) {
    *err = s->name() + ": cannot read gtid_binlog_state and gtid_slave_pos";
    return false;
  }
  out->server_id = static_cast<uint32_t>(strtoul(t.rows[0][2].c_str(), nullptr, 10));
  return true;
}

bool ReadUnloggedCause(Session* s, std::string* cause, std::string* err) {
  static const char* const kFilters[] = {"replicate_do_db",        "replicate_ignore_db",
                                         "replicate_do_table",     "replicate_ignore_table",
                                         "replicate_wild_do_table", "replicate_wild_ignore_table"};
  std::string sql = "SELECT @@log_slave_updates";
  for (const char* f : kFilters) sql += std::string(", @@") + f;
  Table t;
  if (!s->Run(sql, &t, err)) return false;
  cause->clear();
  if (t.rows.empty()) return true;
  const std::vector<std::string>& r = t.rows[0];
  if (!r.empty() && r[0] == "0") *cause = "log_slave_updates is OFF";
  std::string filters;
  for (size_t i = 0; i < sizeof kFilters / sizeof kFilters[0] && i + 1 < r.size(); ++i)
    if (!r[i + 1].empty()) filters += (filters.empty() ? "" : ", ") + std::string(kFilters[i]) + "=" + r[i + 1];
  if (!filters.empty()) *cause += (cause->empty() ? "" : "; ") + std::string("replication filters (") + filters + ")";
  return true;
}

bool Divergence(Session* source, const std::string& node_name, const Holdings& h, std::string* why,
                std::string* err) {
  Table t;
  if (source->maria()) {
    GtidHistory history;
    if (!ReadHistory(source, &history, err)) return false;
    // What it received counts: a relay log holding a transaction the
    // source lacks is never thrown away by re-pointing it. What the source
    // applied without logging it counts as the source's.
    *why = WhyDivergedFrom(h.held, history, source->name());
    std::string cause;
    if (!why->empty() && !UnloggedSlavePos(history).empty()) {
      if (!ReadUnloggedCause(source, &cause, err)) return false;
      if (!cause.empty()) *why += "; " + source->name() + ": " + cause;
    }
  } else {
    std::string set = source->Quote(h.text);
    if (!source->Run("SELECT GTID_SUBSET(" + set + ", @@gtid_executed), GTID_SUBTRACT(" + set +
                         ", @@gtid_executed)",
                     &t, err))
      return false;
    if (t.First() != "1")
      *why = (t.rows.empty() ? h.text : t.rows[0][1]) + " is not in " + source->name() + "'s binlog";
  }
  if (!why->empty()) *why = node_name + " has diverged: " + *why;
  return true;
}

}  // namespace mpp
