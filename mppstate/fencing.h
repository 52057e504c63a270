// Fencing for manage_read_only and planned switchovers: read_only on a
// demoted writer that still answers (and its client sessions killed), off on
// the promoted one; and waiting for a standby to apply everything the old
// writer wrote. Uses admin_credentials (or credentials): the login needs
// READ_ONLY ADMIN / SUPER and CONNECTION ADMIN for KILL.
// Thread-safety: each call makes its own connection; safe from any thread
// registered with the client library (MysqlThread in poller.h).
#pragma once

#include <stdint.h>

#include <string>

#include "config/config.h"

namespace mpp {

bool SetReadOnly(const Config& cfg, const NodeConfig& node, bool on, std::string* err);

// Kills the sessions of clients (not replication or system threads, not our
// own). Returns how many, or -1 with *err set.
int KillClientSessions(const Config& cfg, const NodeConfig& node, std::string* err);

// Waits until target has executed every transaction old_writer has in its
// binary log (MariaDB MASTER_GTID_WAIT, MySQL WAIT_FOR_EXECUTED_GTID_SET).
bool WaitForCatchUp(const Config& cfg, const NodeConfig& old_writer, const NodeConfig& target,
                    int64_t timeout_ms, std::string* err);

}  // namespace mpp
