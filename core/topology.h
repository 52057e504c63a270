// The desired topology of each pool, derived from a round's decision, and
// the next safe steps towards it (doc/replication.md):
//   - the ACTIVE is writable and, with manage_replication, replicates from
//     nobody;
//   - every other node that answers is read_only (manage_read_only, which
//     manage_replication implies);
//   - with manage_replication, every node that should be a STANDBY
//     replicates from the ACTIVE by GTID;
//   - with semi_sync, the ACTIVE has semi-sync's primary side on
//     (AFTER_SYNC) and its replica side off; the standbys the replica side
//     on; no other node the primary side.
// A plan holds only steps the last polls show are needed, or, for a node
// whose monitoring poll failed but which may still answer the admin login
// (a check query failing on it, 1040, an overloaded server), the steps the
// admin login's view may show are needed; in the order they
// must be taken: the fences of a pool, then (a failover's first phase) the
// replicas of the failing writer severed from it, then the promotion of its
// ACTIVE, then the attachments, then the semi-sync settings. The worker that runs them (mppstate/
// topology_worker.h) skips the rest of a pool's plan after a failed fence or
// promotion, so no node is made writable while another still is; the next
// round plans again from fresh polls, until the databases match.
// Thread-safety: pure functions over values.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "core/evaluation.h"

namespace mpp {

enum class TopologyStepKind {
  kFence,             // read_only ON and client sessions killed
  kPromote,           // the ACTIVE made writable (and, managed, replicating from nobody)
  kAttach,            // a node pointed at the ACTIVE, after the divergence check
  kStartReplication,  // a replica of the ACTIVE whose threads stopped without an error
  kSemiSync,          // semi-sync settings that drifted from what the node's role wants
  kSever,             // a replica of a failing writer stops receiving from it (a failover's first phase)
  kRewind,            // a diverged ex-writer's unacknowledged tail undone (rewind = yes)
};

const char* TopologyStepName(TopologyStepKind k);

struct TopologyStep {
  TopologyStepKind kind = TopologyStepKind::kFence;
  int pool = -1;
  int node = -1;
  int source = -1;                // kAttach, kStartReplication: the ACTIVE; kSever: the failing writer
  bool stop_replication = false;  // kPromote: manage_replication
  bool semi_sync = false;         // kPromote, kAttach: the pool's semi_sync
  // kSemiSync: the ACTIVE gets the primary side; another node loses it and,
  // if semi_replica (a standby), gets the replica side.
  bool semi_replica = false;
  // kFence, kRewind: the node's semi-sync when it was last the writer, and
  // its waits for an acknowledgement the fences cut off, by now
  WriterSemiSyncSeen writer_semi;
  int64_t acks_cut = 0;
  TailSeal seal;  // kRewind: its fences' latest proof
  std::string why;                // what the polls showed, for the log
  // kFence, kPromote: the node's monitoring poll failed (a query error,
  // 1040, a timeout), so the worker acts on what the admin login sees: a
  // fence only if it is writable, a promotion only if it is read_only or
  // (managed) replicating; nothing, silently, if it does not answer.
  bool admin_evidence = false;
};

// The steps for every pool of cfg with manage_read_only (or
// manage_replication) and an ACTIVE; none while the monitor is isolated.
std::vector<TopologyStep> PlanTopology(const Config& cfg, const Evaluation& ev);

// What MPP wants of node, for mppctl status ("writable, replicates from
// nobody", "read_only, replica of db2"); "" when its pool leaves the
// databases alone.
std::string WantedTopology(const Config& cfg, const Evaluation& ev, int node);

// What the last poll of node saw ("read_only, replica of db2 (IO yes, SQL
// yes)", "unreachable: refused").
std::string SeenTopology(const Config& cfg, const Evaluation& ev, int node);

}  // namespace mpp
