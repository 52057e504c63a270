// Reading the rows of a poll into a PollResult: the server variables and
// the replication status, as MariaDB and MySQL name their columns.
// Thread-safety: pure functions over result sets.
#pragma once

#include <stdint.h>

#include <string>

#include <mysql.h>

#include "core/poll_result.h"

namespace mpp {

// "SELECT @@read_only, @@server_id[, kGtidColumns[, kSemiSyncColumns]]"
// into r->read_only and r->server_id, and on MariaDB *gtid_slave_pos ("" elsewhere),
// r->binlog_state, r->strict_mode and r->log_slave_updates, and with the semi-sync columns
// r->semi too (its started_at_s from now_s, the wall clock at the poll).
// False when the result has no row.
bool ReadServerVariables(MYSQL_RES* res, bool mariadb, int64_t now_s, PollResult* r, std::string* gtid_slave_pos);

// What a poll reads on MariaDB after read_only and server_id.
extern const char kGtidColumns[];
// What a pool with semi_sync reads after them, on MariaDB.
extern const char kSemiSyncColumns[];

// SHOW SLAVE/REPLICA STATUS into *repl: its first row (MySQL's default
// channel comes first); nothing when it has none (not a replica).
void ReadReplicationStatus(MYSQL_RES* res, bool mariadb, const std::string& gtid_slave_pos,
                           ReplicationStatus* repl);

}  // namespace mpp
