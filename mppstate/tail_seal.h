// A server's semi-sync counters, read as the polls read them, and the seal
// a fence takes with them (core/unacknowledged_tail.h): the proof that the
// commits only a fenced ex-writer has were never acknowledged, taken before
// a restart can lose the counters it rests on.
//
// Thread-safety: as the steps (topology_steps.h).
#pragma once

#include <stdint.h>

#include <string>

#include "core/unacknowledged_tail.h"
#include "mppstate/admin_session.h"

namespace mpp {

// Rpl_semi_sync_master_no_times, Rpl_semi_sync_master_no_tx, the server
// start and last FLUSH STATUS from Uptime and Uptime_since_flush_status, and
// the binlog file (Binlog_snapshot_file).
bool ReadSemiSyncNow(Session* s, WriterSemiSyncSeen* now, std::string* err);

// How many sessions are still committing: one a fence killed whose thread
// has not ended yet, or one waiting for its acknowledgement or queued
// behind one. Such a commit may yet be told OK.
bool SessionsCommitting(Session* s, int64_t* count, std::string* err);

// Called by a fence once it has killed the client sessions of a node that
// is read_only: waits (up to wait_ms) for no session to be left committing,
// which the kills end, then compares the counters with `against` (the node
// as the writer) and acks_cut (the waits the fences cut off, this one's
// included). Proven only when the counters and the binlog held still across
// a look that found no commit under way: a commit still waiting then could
// yet be told OK. Unproven (never an error) when semi-sync says otherwise,
// cannot be read, or the node never was a semi-sync writer.
TailSeal SealTail(Session* s, const WriterSemiSyncSeen& against, int64_t acks_cut, int64_t wait_ms);

}  // namespace mpp
