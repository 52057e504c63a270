// The inverse of a rewind's tail as the server applies it: the output of
// mariadb-binlog --flashback (one START TRANSACTION ... COMMIT per undone
// transaction, under DELIMITER /*!*/) made the statements of one
// transaction that the server logs in a GTID domain of its own
// (kUndoDomain). mppstate runs them on its own connection, so the undo
// ends with mppstate or the server: a crash of either leaves all of it or
// none (InnoDB and the binlog commit together), and the node's
// gtid_binlog_state says which. A rewind cut off by a crash is then
// finished, or done again, instead of handed to the operator
// (doc/replication.md, "Rewind").
// Thread-safety: pure functions over values.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include "core/gtid_divergence.h"

namespace mpp {

// A domain no pool is expected to use; a node whose binlog has it is not
// rewound. Its GTID is gone once the rewind resets the binlog.
constexpr uint32_t kUndoDomain = 4294967295u;

// flashback's statements, in order, as one transaction in domain: the
// session settings before it, then "SET SESSION gtid_domain_id = D",
// "START TRANSACTION", every BINLOG statement, "COMMIT". False, with *why,
// when it is not laid out as mariadb-binlog 10.11 prints it.
bool UndoStatements(const std::string& flashback, uint32_t domain, std::vector<std::string>* out,
                    std::string* why);

enum class UndoLeft {
  kNone,     // the binlog is as it was before the undo: it never committed
  kAll,      // the binlog has the undo's one transaction in domain, and nothing else new
  kUnknown,  // anything else: something else committed since
};

// What the undo left, from the node's gtid_binlog_state now and before the
// undo was applied (at).
UndoLeft WhatUndoLeft(const std::vector<Gtid>& now, const std::vector<Gtid>& at, uint32_t domain);

}  // namespace mpp
