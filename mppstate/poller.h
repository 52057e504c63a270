// Polls one MySQL/MariaDB node through libmysqlclient (MariaDB Connector/C
// or Oracle's libmysqlclient): a fresh login, the check query, @@read_only
// and @@server_id, and the replication status (SHOW SLAVE STATUS, or SHOW
// REPLICA STATUS on MySQL >= 8.0.22), turned into a PollResult.
//
// The monitoring user needs no data privileges, only the right to read the
// replication status:
//   MariaDB >= 10.5: GRANT SLAVE MONITOR ON *.* TO 'mpp'@'127.0.0.1';
//   older MariaDB and MySQL: GRANT REPLICATION CLIENT ON *.* TO 'mpp'@'...';
// It must not hold SUPER (or CONNECTION ADMIN): with it the server keeps a
// spare connection for it and "too many connections" would go unseen.
//
// Thread-safety: PollNode may run on several threads at once. It calls
// mysql_library_init itself (once, guarded); a thread other than the one
// that first called it should call mysql_thread_init before and
// mysql_thread_end after its polls (MysqlThread does both). PollNode blocks
// for up to the connect timeout plus a few query timeouts: callers that need
// a hard deadline use ConcurrentPoller (concurrent_poller.h).
#pragma once

#include <stdint.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "core/poll_result.h"

namespace mpp {

// Initialises the client library once per process; safe to call from any
// thread, any number of times.
void InitMysqlLibrary();

// Registers the current thread with the client library for its lifetime.
class MysqlThread {
 public:
  MysqlThread();
  ~MysqlThread();
  MysqlThread(const MysqlThread&) = delete;
  MysqlThread& operator=(const MysqlThread&) = delete;
};

// One poll of node with cfg's timeouts, credentials file and check query.
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
