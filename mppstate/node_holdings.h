// What a node holds, by GTID, and whether it has diverged from what
// another node (the ACTIVE) has: the check before a node is attached to the
// ACTIVE or rewound (doc/replication.md, "Divergence").
// Thread-safety: as Session.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include "core/gtid_divergence.h"
#include "mppstate/admin_session.h"

namespace mpp {

// What a node has: its last GTID per domain (MariaDB), or its
// gtid_executed (MySQL), and whether it is read_only.
struct Holdings {
  bool read_only = true;
  std::vector<Gtid> last;  // MariaDB: the last it applied or wrote, per domain
  std::vector<Gtid> held;  // MariaDB: every GTID it holds, applied, written or received
  std::vector<Gtid> kept;  // MariaDB: its binlog and what it applied: what a re-pointing keeps
  int64_t delay_s = 0;     // SQL_Delay: its relay log holds, by design, what it has not applied
  std::string text;        // `last` as sent to the source, and for messages

  bool operator!=(const Holdings& o) const { return text != o.text || GtidListText(held) != GtidListText(o.held); }
};

// Reads what s holds and whether it is read_only.
bool ReadHoldings(Session* s, Holdings* out, std::string* err);

// MariaDB: s's @@gtid_binlog_state.
bool ReadBinlogState(Session* s, std::vector<Gtid>* out, std::string* err);

// MariaDB: s's @@gtid_binlog_state, @@gtid_slave_pos and @@server_id.
bool ReadHistory(Session* s, GtidHistory* out, std::string* err);

// MariaDB: why s never logged some of what it applied as a replica:
// "log_slave_updates is OFF", "replication filters (replicate_ignore_db=
// scratch)"; "" when neither.
bool ReadUnloggedCause(Session* s, std::string* cause, std::string* err);

// Why node (holding h) has diverged from source ("db1 has diverged: 0-1-8
// is not in db2's binlog"), "" if it has not: each GTID it holds must be in
// the source's history, its binlog or what it applied as a replica
// (WhyDivergedFrom in core/gtid_divergence.h); on MySQL its gtid_executed
// must be a subset of the source's.
bool Divergence(Session* source, const std::string& node_name, const Holdings& h, std::string* why,
                std::string* err);

}  // namespace mpp
