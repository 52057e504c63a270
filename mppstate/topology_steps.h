// The changes MPP makes to the databases so that they follow its decision
// (doc/replication.md): fence a node (read_only ON, client sessions killed),
// promote the ACTIVE (its relay log applied, replication removed,
// read_only OFF once no other node is writable), attach a node to the ACTIVE
// by GTID after proving it has no transaction the ACTIVE lacks, restart a
// replica's threads, and wait for a switchover target to catch up.
//
// Each call opens its own connections with admin_credentials (or
// credentials), bounded by the config's timeouts (reads by the query
// timeout, except a wait that is asked for), and returns what happened as a
// StepOutcome whose message starts with the node's name; nothing here logs,
// and no message holds a password. The SQL is MariaDB's, with GTID; the
// MySQL statements (MASTER_AUTO_POSITION, GTID_SUBSET, RESET REPLICA ALL)
// are chosen by the server's version and are reviewed, not run.
//
// The login needs, on MariaDB 10.11: READ_ONLY ADMIN, CONNECTION ADMIN and
// PROCESS (fencing), SLAVE MONITOR, REPLICATION SLAVE ADMIN and RELOAD
// (RESET SLAVE ALL); SUPER does not cover RELOAD.
//
// Thread-safety: any thread registered with the client library
// (MysqlThread in poller.h); calls share nothing.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include "config/config.h"
#include "core/unacknowledged_tail.h"

namespace mpp {

struct StepOutcome {
  bool ok = false;
  std::string message;   // what was done, or why it failed ("db1: ...")
  bool diverged = false;  // Attach: refused because the node has diverged
  int acks_cut = 0;       // Fence: sessions killed while their commit waited for an acknowledgement
  TailSeal seal{};        // Fence: its proof that the node's commits were never acknowledged
};

// What the admin login sees of a node whose monitoring poll failed (a
// query error, 1040, a timeout): whether it answers at all, and its
// read_only and replication. The look is brief: its login and each query
// get a second at most.
struct AdminView {
  bool answered = false;
  std::string error;  // why it did not answer
  bool read_only = false;
  bool replicating = false;  // a replica is configured
};

AdminView SeeWithAdminLogin(const Config& cfg, const NodeConfig& node);

// read_only ON, then the client sessions killed (replication and system
// threads stay). A client holding a table lock, which read_only waits for,
// is killed first. A fence that fails still reports the acknowledgement
// waits it cut off (acks_cut). With writer_semi known (the node was a
// semi-sync writer) and acks_cut (the waits its fences cut off before), a
// fence that succeeds also seals what the node holds (tail_seal.h): a
// rewind after a restart of the node rests on that.
StepOutcome FenceNode(const Config& cfg, const NodeConfig& node, const WriterSemiSyncSeen& writer_semi,
                      int64_t acks_cut);

// Makes node the writer. With stop_replication: the IO thread stopped, the
// relay log applied (bounded by apply_wait_ms; not applied in time is a
// failure, so no received transaction is thrown away), then STOP SLAVE and
// RESET SLAVE ALL. Then read_only OFF, but only after each of others that
// answers says read_only = 1: one that is writable fails the step, and so
// does one that answers but will not say (a refused login). A node of
// others that does not answer is not waited for: its failure is why the
// writer moved. With semi_sync, semi-sync's primary side is on (AFTER_SYNC)
// before read_only goes OFF: no write is acknowledged before a replica has
// it.
StepOutcome PromoteNode(const Config& cfg, const NodeConfig& node, bool stop_replication, bool semi_sync,
                        int64_t apply_wait_ms, const std::vector<NodeConfig>& others);

// Points node at source (the ACTIVE) by GTID, if and only if node has no
// transaction source lacks, in its binlog, applied or only received in its
// relay log (WhyDiverged in core/gtid_divergence.h), and
// only once it is read_only (a write during the check would go unseen). Its
// gtid_slave_pos is set to all it has first, so that source sends only what
// follows: an ex-writer's gtid_slave_pos alone is older than its binlog.
// The login is replication_credentials. Done once both replication threads
// run (bounded by wait_ms); a thread error before then fails the step with
// the server's message. With semi_sync, the node's semi-sync replica side
// is on (and its primary side off) before replication starts.
StepOutcome AttachNode(const Config& cfg, const NodeConfig& node, const NodeConfig& source, bool semi_sync,
                       int64_t wait_ms);

// Stops node's IO thread if it replicates from source (a failing writer):
// it receives nothing more from it, so it acknowledges none of the late
// commits of a writer that hangs and resumes. With semi_sync, the stop's
// wait for the source is cut as in a promotion. Done too when there is
// nothing to stop.
StepOutcome SeverNode(const Config& cfg, const NodeConfig& node, const NodeConfig& source, bool semi_sync,
                      int64_t wait_ms);

// MariaDB's semi-sync settings for node's role: as the writer, the primary
// side on with AFTER_SYNC and the replica side off; otherwise the primary
// side off and, with replica, the replica side on, its IO thread restarted
// if it runs (the setting takes effect when the thread starts; its stop may
// take up to wait_ms).
StepOutcome SetSemiSync(const Config& cfg, const NodeConfig& node, bool writer, bool replica, int64_t wait_ms);

// START SLAVE on a replica already pointed at the right source; done once
// both threads run (bounded by wait_ms).
StepOutcome StartReplication(const Config& cfg, const NodeConfig& node, int64_t wait_ms);

// Waits until target has executed every transaction old_writer has in its
// binary log (MariaDB MASTER_GTID_WAIT, MySQL WAIT_FOR_EXECUTED_GTID_SET),
// at most timeout_ms.
StepOutcome WaitForCatchUp(const Config& cfg, const NodeConfig& old_writer, const NodeConfig& target,
                           int64_t timeout_ms);

// read_only OFF on node with no other check: only for undoing this very
// switchover's own fencing, before anything else happened in the pool.
StepOutcome UnfenceNode(const Config& cfg, const NodeConfig& node);

}  // namespace mpp
