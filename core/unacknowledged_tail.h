// Whether semi-sync proves that the commits only an ex-writer has were never
// acknowledged to a client: what a rewind needs before it undoes them
// (doc/replication.md, "Rewind").
//
// The proof compares the writer's semi-sync counters at two moments: when
// the polls last saw its primary side on while it was the ACTIVE, and later.
// The later look is the rewind's own, or, taken before a restart could lose
// the counters, the seal its fence took once the sessions it killed were
// gone (mppstate/tail_seal.h).
// Thread-safety: pure functions over values.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include "core/gtid_divergence.h"

namespace mpp {

// What the polls saw of a writer's semi-sync the last time its primary side
// was on while it was the ACTIVE, and how many waits for an acknowledgement
// the fences had cut off then (acks_cut). A commit that only it has was
// never acknowledged to a client only if, since: the same server run
// (started_at_s, and binlog_file: a start within seconds of the last one
// has the same start time, never the same binlog file), counters not
// flushed (flushed_after_s), no fallback to asynchronous (off_times), and
// every commit that ended its wait without an acknowledgement (unacked) one
// a fence cut off.
struct WriterSemiSyncSeen {
  bool known = false;
  uint64_t off_times = 0;
  uint64_t unacked = 0;
  int64_t started_at_s = 0;
  int64_t flushed_after_s = 0;
  int64_t acks_cut = 0;
  std::string binlog_file;

  bool operator==(const WriterSemiSyncSeen& o) const {
    return known == o.known && off_times == o.off_times && unacked == o.unacked && started_at_s == o.started_at_s &&
           flushed_after_s == o.flushed_after_s && acks_cut == o.acks_cut && binlog_file == o.binlog_file;
  }
};

// A fence's proof, taken once no session was left committing: compared
// with `against` (the node's WriterSemiSyncSeen then), its counters proved
// every commit of binlog_state (@@gtid_binlog_state) unacknowledged.
struct TailSeal {
  bool proven = false;
  WriterSemiSyncSeen against;
  std::vector<Gtid> binlog_state;
};

// Why a commit made since `seen` may have been acknowledged without a
// replica, by the counters `now` (read in the same way) and the waits the
// fences have cut off by now (acks_cut); "" when none was.
std::string WhyMaybeAcknowledged(const WriterSemiSyncSeen& seen, const WriterSemiSyncSeen& now, int64_t acks_cut);

// Whether seal proves the tail of a node whose gtid_binlog_state is now
// binlog_state: it was taken against `seen`, the latest sighting of the
// node as the writer, and the binlog has gained nothing since. A restart
// since then loses the counters, not the seal.
bool SealProves(const TailSeal& seal, const WriterSemiSyncSeen& seen, const std::vector<Gtid>& binlog_state);

}  // namespace mpp
