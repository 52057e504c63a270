// Which transactions at the end of an ex-writer's binary log its new
// writer lacks, whether they can be rewound, and from where: the check
// before a node that was the writer before a failover is rewound
// (MariaDB 10.11).
//
// The input is the node's SHOW BINLOG EVENTS rows, in binlog order, from
// the start of a binlog file whose first Gtid_list holds only GTIDs the
// writer has, through the end of the last file. The rules:
// - A GTID is in the writer by the rule of WhyDiverged
//   (core/gtid_divergence.h), so both checks agree on what the writer has.
// - A transaction starts at each Gtid event. The first one not in the
//   writer is the fork; it and everything after it are the extra ones. A
//   rewind undoes a whole tail of the log, so a transaction after the fork
//   that the writer has refuses it: it would be undone too, and the log is
//   not the writer's history plus a tail of the node's own.
// - An extra transaction must be all row events (BEGIN GTID, then only
//   Annotate_rows, Table_map and Write/Update/Delete_rows_v1, compressed or
//   not, ending with Xid): only row images can be inverted, and only a
//   transactional table's undo is all or nothing (core/undo_script.h). One
//   ending with Query COMMIT changed a non-transactional table: refused. DDL, statement-format DML
//   (any other Query, Intvar, Rand, User_var), any other event, and a
//   transaction whose commit the log does not reach refuse the rewind,
//   naming the GTID.
// - Between transactions the events that mark a file's start and end
//   (Format_desc, Gtid_list, Binlog_checkpoint, Rotate, Stop,
//   Start_encryption) are skipped; after the fork anything else there
//   refuses the rewind: it may say the log lost something (Incident).
// - The state at the fork is the first Gtid_list plus the transactions
//   before the fork, so a Gtid_list must come before the first Gtid event,
//   and every GTID must parse.
// Thread-safety: pure functions over values.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include "core/gtid_divergence.h"

namespace mpp {

// One row of SHOW BINLOG EVENTS (Log_name, Pos, Event_type, Info).
struct BinlogEvent {
  std::string file;
  uint64_t pos = 0;
  std::string type;
  std::string info;
};

struct RewindTail {
  // Why the tail cannot be rewound; "" when it can, or when there is
  // nothing to rewind (extra empty). On a refusal the fields below hold
  // what was found before it: they explain it, not to be acted on.
  std::string refused;
  // The transactions the writer lacks, in binlog order.
  std::vector<Gtid> extra;
  // Where the first extra transaction's Gtid event is.
  std::string start_file;
  uint64_t start_pos = 0;
  // The node's gtid_binlog_state just before the first extra: one entry per
  // (domain, server_id), the latest seq. Grouped by domain, each domain's
  // last GTID (pos_at_fork) last in its group, as the server lists it: it
  // takes the last of a domain's entries as that domain's position when it
  // loads such a list.
  std::vector<Gtid> state_at_fork;
  // Per domain, by domain, the GTID of the last transaction before the
  // first extra; for a domain with none after the Gtid_list, that list's
  // entry of the domain with the highest seq (the later listed on a tie).
  std::vector<Gtid> pos_at_fork;
  // The tables the extra transactions change, as their Table_map events
  // name them ("db.table"), each once, in binlog order.
  std::vector<std::string> tables;};

// events: the node's binlog as above; writer_state: the new writer's
// gtid_binlog_state; writer_name names it in the refusals ("db2").
RewindTail FindRewindTail(const std::vector<BinlogEvent>& events, const std::vector<Gtid>& writer_state,
                          const std::string& writer_name);

// InnoDB's name of a table or a foreign key ("db/name", each character
// other than a letter, a digit or "_" encoded as @XXXX, as
// INNODB_SYS_FOREIGN shows it) as the binlog's Table_map names tables
// ("db.name"); false for an encoding beyond ASCII, which is not decoded.
bool DecodeInnodbName(const std::string& innodb_name, std::string* out);

// Why the extra transactions of `tail` are not all the node's own, "" if
// they are: its semi-sync proves only that no client was told of what it
// committed as a writer; one from another server (server_id) it received
// as a replica, and may have acknowledged.
std::string WhyNotOwnTail(const RewindTail& tail, uint32_t server_id, const std::string& node_name);

}  // namespace mpp
