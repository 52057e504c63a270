// The rewind of a fenced ex-writer (doc/replication.md, "Rewind"): the
// transactions at the end of its binary log that the ACTIVE lacks, which
// semi-sync proves no client was told were committed, are undone with the
// inverse of their row events (mariadb-binlog --flashback), saved first in
// data_dir and applied as one logged transaction (core/undo_script.h); its
// binary log then restarts at the last transaction it shares with the
// ACTIVE, so that the next round attaches it. A rewind cut off by a crash
// of the node or of mppstate is finished, or done again, by the next.
//
// A node is rewound only if it has diverged from writer, is read_only and
// replicates from nobody, and:
//   - every other node of the pool answers and holds nothing writer lacks:
//     a replica that received the tail may have acknowledged it;
//   - the pool has semi_sync, and the polls saw the node's semi-sync on
//     while it was the writer (seen), and since then, in the same server
//     run with its counters not flushed: no fallback to asynchronous
//     (Rpl_semi_sync_master_no_times), and no commit that ended its wait
//     without an acknowledgement (Rpl_semi_sync_master_no_tx) but those
//     whose sessions a fence killed (acks_cut: a KILL QUERY tells its
//     client OK). That is read now, or was read by a fence (seal, taken
//     against seen) if the binlog has gained nothing since: a restart since
//     the fence loses the counters, not the seal;
//   - its binlog_row_image is FULL;
//   - what writer lacks is a tail of its binlog, all row events
//     (core/binlog_tail.h).
// Otherwise the outcome is "db1 has diverged: ... (rewind refused: why)",
// with diverged set, and nothing is changed.
//
// The login (admin_credentials) needs, beyond the other steps' grants:
// BINLOG MONITOR (SHOW BINLOG EVENTS), REPLICATION SLAVE (mariadb-binlog
// reads the binlog as a replica would), BINLOG REPLAY (the undo is BINLOG
// statements, in a gtid_domain_id of its own), BINLOG ADMIN
// (gtid_binlog_state), RELOAD (RESET MASTER), and the right to change the
// tables' rows. mariadb-binlog is run without a shell, from PATH, with the
// login's option file.
//
// Thread-safety: as the other steps (topology_steps.h).
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include "config/config.h"
#include "core/evaluation.h"
#include "mppstate/topology_steps.h"

namespace mpp {

// others: the pool's nodes but node and writer. seal, acks_cut: the latest
// proof node's fences took, and the waits for an acknowledgement they cut
// off, by now (TopologyFacts).
StepOutcome RewindNode(const Config& cfg, const NodeConfig& node, const NodeConfig& writer,
                       const std::vector<NodeConfig>& others, bool semi_sync, const WriterSemiSyncSeen& seen,
                       const TailSeal& seal, int64_t acks_cut);

// The file in data_dir that records a rewind of node under way, from before
// its undo until its binlog restarted. A rewind cut off in between is
// finished by the next (or, if its binlog was not reset yet, handed to the
// operator: the undo may or may not have been applied); no node is
// attached while it exists.
std::string RewindPendingPath(const Config& cfg, const NodeConfig& node);

}  // namespace mpp
