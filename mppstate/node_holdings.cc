#include "mppstate/node_holdings.h"

namespace mpp {
namespace {

// What the IO thread received (MariaDB's Gtid_IO_Pos), while it replicates
// by GTID: a relay log can hold transactions not applied yet.
bool ReadReceived(Session* s, std::vector<Gtid>* out, std::string* err) {
  Table t;
  out->clear();
  if (!s->Run(s->ShowStatus(), &t, err)) return false;
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
    if (!ReadReceived(s, &received, err)) return false;
    t = row;
    // Every GTID it holds: the last of each domain and server_id in its
    // binlog (an errant one hides behind a later GTID of the same domain
    // in gtid_binlog_pos), what it applied and what it received.
    out->held = state;
    out->held.insert(out->held.end(), applied.begin(), applied.end());
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

bool Divergence(Session* source, const std::string& node_name, const Holdings& h, std::string* why,
                std::string* err) {
  Table t;
  if (source->maria()) {
    std::vector<Gtid> state;
    if (!ReadBinlogState(source, &state, err)) return false;
    // What it received counts: a relay log holding a transaction the
    // source lacks is never thrown away by re-pointing it.
    *why = WhyDiverged(h.held, state, source->name());
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
