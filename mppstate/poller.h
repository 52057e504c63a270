// The poller's pieces that need no event loop: what a client library
// error number means for a poll, the GTID parsers, and PollNode, one poll of
// one node that blocks (node_poll.h has the poll itself; EventPoller runs
// many at once).
//
// Thread-safety: PollNode may run on several threads at once, on threads
// registered with the client library (MysqlThread in mysql_connect.h).
#pragma once

#include <stdint.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "core/poll_result.h"
#include "mppstate/mysql_connect.h"

namespace mpp {

// One poll of node with cfg's timeouts, credentials file and check query,
// blocking until it is done (connect timeout plus three query timeouts at
// most).
PollResult PollNode(const Config& cfg, const NodeConfig& node);

// The outcome a client library error number stands for. elapsed_ms and
// timeout_ms tell a connect that gave up on its timeout (reported by some
// libraries as "can't connect") from a refused one.
PollOutcome ClassifyMysqlError(unsigned err, int64_t elapsed_ms, int64_t timeout_ms);

// --- Parsing pieces, exposed for tests. ---

// MariaDB GTID list "0-1-100,1-2-7" into domain -> sequence number. Returns
// false on malformed text (and fills what it could).
bool ParseMariaGtidList(const std::string& text, std::map<std::string, uint64_t>* out);

// MySQL GTID set "uuid:1-5:7,uuid2[:tag]:1-3" into source -> intervals
// (inclusive, as written). The key is the uuid, or "uuid:tag" for tagged
// transactions.
using GtidIntervals = std::map<std::string, std::vector<std::pair<uint64_t, uint64_t>>>;
bool ParseMysqlGtidSet(const std::string& text, GtidIntervals* out);

// The highest transaction number of each source of a GTID set.
std::map<std::string, uint64_t> GtidSetHighest(const GtidIntervals& set);

// True if every transaction of sub is in set.
bool GtidSetContains(const GtidIntervals& set, const GtidIntervals& sub);

}  // namespace mpp
