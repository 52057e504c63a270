#include "mppstate/poller.h"

#include <arpa/inet.h>
#include <ctype.h>

#include <algorithm>
#include <chrono>
#include <mutex>

// MariaDB Connector/C and Oracle's libmysqlclient: only calls and option
// names both offer are used (no my_bool, no library-specific options), so
// nothing here needs an #ifdef.
#include <mysql.h>

#include "common/address_text.h"
#include "common/decimal.h"
#include "mppstate/mysql_connect.h"

namespace mpp {

namespace {

// Client-side error numbers (errmsg.h). Spelled out so the code does not
// depend on which library's errmsg.h is installed.
constexpr unsigned kCrSocketCreateError = 2001;  // socket(): no descriptor, no buffer
constexpr unsigned kCrConnectionError = 2002;  // local socket, or TCP on some libraries
constexpr unsigned kCrConnHostError = 2003;
constexpr unsigned kCrIpSockError = 2004;  // "Can't create TCP/IP socket (24)": EMFILE and the like
constexpr unsigned kCrUnknownHost = 2005;
constexpr unsigned kCrServerGone = 2006;
constexpr unsigned kCrOutOfMemory = 2008;
constexpr unsigned kCrServerLost = 2013;
constexpr unsigned kCrSslConnectionError = 2026;  // any TLS failure, the handshake's timeout too
constexpr unsigned kCrServerLostExtended = 2055;  // MySQL 5.7+: lost, with errno
// Server error numbers.
constexpr unsigned kErConCount = 1040;
constexpr unsigned kErAccessDenied = 1045;
constexpr unsigned kErHostNotPrivileged = 1130;
constexpr unsigned kErTooManyUserConnections = 1203;

int64_t MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               t0)
      .count();
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> SplitTrimmed(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t end = s.find(sep, start);
    std::string piece =
        Trim(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (!piece.empty()) out.push_back(piece);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

// Whole-string unsigned decimal.
bool ParseU64(const std::string& s, uint64_t* out) {
  return ParseDecimalU64(s.data(), s.size(), UINT64_MAX, out);
}

// Owns a stored result set.
class Result {
 public:
  explicit Result(MYSQL_RES* res) : res_(res) {}
  ~Result() {
    if (res_ != nullptr) mysql_free_result(res_);
  }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  MYSQL_RES* get() const { return res_; }

 private:
  MYSQL_RES* res_;
};

// One row of a result, read by column name.
class NamedRow {
 public:
  NamedRow(MYSQL_RES* res, MYSQL_ROW row) : row_(row) {
    unsigned n = mysql_num_fields(res);
    MYSQL_FIELD* fields = mysql_fetch_fields(res);
    for (unsigned i = 0; i < n; ++i) index_[fields[i].name] = i;
  }
  // The first of the names the server has; nullptr when it has none of them
  // or the value is NULL.
  const char* Get(std::initializer_list<const char*> names) const {
    for (const char* name : names) {
      auto it = index_.find(name);
      if (it != index_.end()) return row_[it->second];
    }
    return nullptr;
  }
  std::string Text(std::initializer_list<const char*> names) const {
    const char* v = Get(names);
    return v == nullptr ? "" : v;
  }
  uint64_t Number(std::initializer_list<const char*> names) const {
    uint64_t v = 0;
    const char* s = Get(names);
    if (s == nullptr || !ParseU64(s, &v)) return 0;
    return v;
  }

 private:
  MYSQL_ROW row_;
  std::map<std::string, unsigned> index_;
};

void Fail(PollResult* r, PollOutcome outcome, const std::string& what, MYSQL* m) {
  r->outcome = outcome;
  r->error_code = static_cast<int>(mysql_errno(m));
  r->error = what + ": " + mysql_error(m);
}

// The outcome of a statement that failed after login. A lost connection in
// the middle of a poll is a hung or dying server, not a bad query.
PollOutcome QueryFailure(MYSQL* m, std::chrono::steady_clock::time_point t0, int64_t timeout_ms) {
  unsigned err = mysql_errno(m);
  PollOutcome o = err >= 2000 && err < 3000 ? ClassifyMysqlError(err, MsSince(t0), timeout_ms)
                                            : PollOutcome::kQueryError;
  if (o == PollOutcome::kTimeout || o == PollOutcome::kMonitorError) return o;
  return PollOutcome::kQueryError;
}

// Runs a statement and stores its result (nullptr for statements without
// one). On failure fills *r and returns false.
bool Query(MYSQL* m, const std::string& sql, const std::string& what, int64_t timeout_ms,
           PollResult* r, MYSQL_RES** res) {
  *res = nullptr;
  auto t0 = std::chrono::steady_clock::now();
  if (mysql_real_query(m, sql.data(), sql.size()) != 0) {
    Fail(r, QueryFailure(m, t0, timeout_ms), what, m);
    return false;
  }
  *res = mysql_store_result(m);
  if (*res == nullptr && mysql_field_count(m) != 0) {
    Fail(r, QueryFailure(m, t0, timeout_ms), what, m);
    return false;
  }
  return true;
}

IoThread ParseIoRunning(const std::string& v) {
  if (v == "Yes") return IoThread::kYes;
  if (v == "No" || v.empty()) return IoThread::kNo;
  return IoThread::kConnecting;  // "Connecting", "Preparing"
}

// Fills r->repl from one SHOW SLAVE/REPLICA STATUS row. gtid_slave_pos is
// MariaDB's @@gtid_slave_pos ("" elsewhere).
void ReadReplicationRow(const NamedRow& row, bool mariadb, const std::string& gtid_slave_pos,
                        ReplicationStatus* repl) {
  repl->configured = true;
  std::string host = row.Text({"Master_Host", "Source_Host"});
  std::string port = row.Text({"Master_Port", "Source_Port"});
  repl->source_text = host + ":" + port;
  std::string literal =
      host.find(':') != std::string::npos ? "[" + host + "]:" + port : repl->source_text;
  const char* why = nullptr;
  if (!ParseAddress(literal.data(), literal.size(), &repl->source, &why)) repl->source = Address();

  repl->io = ParseIoRunning(row.Text({"Slave_IO_Running", "Replica_IO_Running"}));
  repl->sql_running = row.Text({"Slave_SQL_Running", "Replica_SQL_Running"}) == "Yes";
  repl->io_errno = static_cast<int>(row.Number({"Last_IO_Errno"}));
  repl->sql_errno = static_cast<int>(row.Number({"Last_SQL_Errno"}));
  repl->io_error = row.Text({"Last_IO_Error"});
  repl->sql_error = row.Text({"Last_SQL_Error"});
  const char* lag = row.Get({"Seconds_Behind_Master", "Seconds_Behind_Source"});
  uint64_t lag_v = 0;
  repl->lag_s = lag != nullptr && ParseU64(lag, &lag_v) ? static_cast<int64_t>(lag_v) : -1;

  repl->received.file = row.Text({"Master_Log_File", "Source_Log_File"});
  repl->received.pos = row.Number({"Read_Master_Log_Pos", "Read_Source_Log_Pos"});
  std::string exec_file = row.Text({"Relay_Master_Log_File", "Relay_Source_Log_File"});
  uint64_t exec_pos = row.Number({"Exec_Master_Log_Pos", "Exec_Source_Log_Pos"});
  bool applied = exec_file == repl->received.file && exec_pos == repl->received.pos;

  if (mariadb) {
    std::map<std::string, uint64_t> io_pos, slave_pos;
    ParseMariaGtidList(row.Text({"Gtid_IO_Pos"}), &io_pos);
    ParseMariaGtidList(gtid_slave_pos, &slave_pos);
    bool using_gtid = row.Text({"Using_Gtid"}) != "No" && !row.Text({"Using_Gtid"}).empty();
    if (using_gtid && !io_pos.empty()) {
      bool all = true;
      for (const auto& [domain, seq] : io_pos) {
        auto it = slave_pos.find(domain);
        if (it == slave_pos.end() || it->second < seq) all = false;
      }
      applied = applied || all;
    }
    // What a replica has executed it has also received; after a restart
    // Gtid_IO_Pos can be empty until the IO thread connects.
    repl->received.gtid = io_pos;
    if (using_gtid) {
      for (const auto& [domain, seq] : slave_pos) {
        uint64_t& mine = repl->received.gtid[domain];
        mine = std::max(mine, seq);
      }
    }
  } else {
    GtidIntervals retrieved, executed;
    ParseMysqlGtidSet(row.Text({"Retrieved_Gtid_Set"}), &retrieved);
    ParseMysqlGtidSet(row.Text({"Executed_Gtid_Set"}), &executed);
    if (!retrieved.empty()) {
      applied = applied || GtidSetContains(executed, retrieved);
      repl->received.gtid = GtidSetHighest(retrieved);
    }
  }
  repl->relay_applied = applied;
}

}  // namespace

void InitMysqlLibrary() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Only fails on out of memory; mysql_init reports that later.
    (void)mysql_library_init(0, nullptr, nullptr);
  });
}

MysqlThread::MysqlThread() {
  InitMysqlLibrary();
  (void)mysql_thread_init();
}

MysqlThread::~MysqlThread() { mysql_thread_end(); }

PollOutcome ClassifyMysqlError(unsigned err, int64_t elapsed_ms, int64_t timeout_ms) {
  switch (err) {
    case kErAccessDenied:
    case kErHostNotPrivileged:
      return PollOutcome::kAccessDenied;
    case kErConCount:
    case kErTooManyUserConnections:
      return PollOutcome::kTooManyConnections;
    case kCrConnectionError:
    case kCrConnHostError:
    case kCrUnknownHost:
    case kCrSslConnectionError:
      // Libraries report a connect that ran out of time with these numbers
      // too; only the clock tells them apart.
      if (elapsed_ms + 100 >= MysqlTimeoutSeconds(timeout_ms) * 1000LL) return PollOutcome::kTimeout;
      return PollOutcome::kRefused;
    case kCrServerGone:
    case kCrServerLost:
    case kCrServerLostExtended:
      return PollOutcome::kTimeout;
    case kCrSocketCreateError:
    case kCrIpSockError:
    case kCrOutOfMemory:
      // Short of descriptors or memory here: our fault, not the node's.
      return PollOutcome::kMonitorError;
    default:
      return err >= 2000 && err < 3000 ? PollOutcome::kRefused : PollOutcome::kQueryError;
  }
}

PollResult PollNode(const Config& cfg, const NodeConfig& node) {
  InitMysqlLibrary();
  PollResult r;
  MysqlConnection conn;
  MYSQL* m = static_cast<MYSQL*>(conn.handle());
  if (m == nullptr) {
    r.outcome = PollOutcome::kMonitorError;
    r.error = "mysql_init: out of memory";
    return r;
  }
  if (node.address.kind != Address::kInet4 && node.address.kind != Address::kInet6) {
    r.outcome = PollOutcome::kRefused;
    r.error = "node " + node.name + " has no IP address";
    return r;
  }

  ConnectFailure failure;
  if (!ConnectNode(cfg, node, cfg.credentials, MysqlTimeoutSeconds(cfg.query_timeout_ms), &conn,
                   &failure)) {
    // An unreadable credentials or TLS file is ours to fix and says nothing
    // of the node. A TLS failure is the node's: unverified, it is not the
    // node we can vouch for, so it is unreachable for us (2026).
    r.outcome = failure.local
                    ? PollOutcome::kMonitorError
                    : ClassifyMysqlError(failure.code, failure.elapsed_ms, cfg.connect_timeout_ms);
    r.error_code = static_cast<int>(failure.code);
    r.error = "connect: " + failure.message;
    return r;
  }

  const int64_t qt = cfg.query_timeout_ms;
  MYSQL_RES* raw = nullptr;
  if (!cfg.check_query.empty()) {
    if (!Query(m, cfg.check_query, "check query", qt, &r, &raw)) return r;
    Result check(raw);
    // A CALL returns more than one result; the next statements need them
    // all read first.
    while (mysql_more_results(m)) {
      auto t1 = std::chrono::steady_clock::now();
      bool failed = mysql_next_result(m) > 0;
      if (!failed) {
        Result more(mysql_store_result(m));
        failed = more.get() == nullptr && mysql_field_count(m) != 0;
      }
      if (failed) {
        Fail(&r, QueryFailure(m, t1, qt), "check query", m);
        return r;
      }
    }
  }

  std::string server_info = mysql_get_server_info(m) ? mysql_get_server_info(m) : "";
  bool mariadb = server_info.find("MariaDB") != std::string::npos;
  unsigned long version = mysql_get_server_version(m);

  std::string gtid_slave_pos;
  {
    std::string sql = mariadb ? "SELECT @@read_only, @@server_id, @@gtid_slave_pos"
                              : "SELECT @@read_only, @@server_id";
    if (!Query(m, sql, "read server variables", qt, &r, &raw)) return r;
    Result vars(raw);
    MYSQL_ROW row = raw != nullptr ? mysql_fetch_row(raw) : nullptr;
    if (row == nullptr) {
      r.outcome = PollOutcome::kQueryError;
      r.error = "read server variables: no row";
      return r;
    }
    uint64_t v = 0;
    r.read_only = !(row[0] != nullptr && ParseU64(row[0], &v) && v == 0);
    if (row[1] != nullptr && ParseU64(row[1], &v)) r.server_id = static_cast<int64_t>(v);
    if (mariadb && row[2] != nullptr) gtid_slave_pos = row[2];
  }

  {
    bool replica_words = !mariadb && version >= 80022;
    std::string sql = replica_words ? "SHOW REPLICA STATUS" : "SHOW SLAVE STATUS";
    if (!Query(m, sql, sql, qt, &r, &raw)) return r;
    Result status(raw);
    // One row per replication channel on MySQL; the default channel comes
    // first. No row: not a replica.
    MYSQL_ROW row = raw != nullptr ? mysql_fetch_row(raw) : nullptr;
    if (row != nullptr) ReadReplicationRow(NamedRow(raw, row), mariadb, gtid_slave_pos, &r.repl);
  }

  r.outcome = PollOutcome::kOk;
  return r;
}

bool ParseMariaGtidList(const std::string& text, std::map<std::string, uint64_t>* out) {
  bool ok = true;
  for (const std::string& gtid : SplitTrimmed(text, ',')) {
    size_t d1 = gtid.find('-');
    size_t d2 = d1 == std::string::npos ? d1 : gtid.find('-', d1 + 1);
    uint64_t domain = 0, server = 0, seq = 0;
    if (d2 == std::string::npos || !ParseU64(gtid.substr(0, d1), &domain) ||
        !ParseU64(gtid.substr(d1 + 1, d2 - d1 - 1), &server) ||
        !ParseU64(gtid.substr(d2 + 1), &seq)) {
      ok = false;
      continue;
    }
    (*out)[std::to_string(domain)] = seq;
  }
  return ok;
}

bool ParseMysqlGtidSet(const std::string& text, GtidIntervals* out) {
  bool ok = true;
  for (const std::string& element : SplitTrimmed(text, ',')) {
    std::vector<std::string> parts = SplitTrimmed(element, ':');
    if (parts.size() < 2) {
      ok = false;
      continue;
    }
    std::string uuid = parts[0];
    std::transform(uuid.begin(), uuid.end(), uuid.begin(), ::tolower);
    std::string key = uuid;
    for (size_t i = 1; i < parts.size(); ++i) {
      const std::string& p = parts[i];
      if (p[0] < '0' || p[0] > '9') {  // a tag: the intervals after it are its own
        key = uuid + ":" + p;
        continue;
      }
      size_t dash = p.find('-');
      uint64_t a = 0, b = 0;
      bool good = dash == std::string::npos
                      ? ParseU64(p, &a)
                      : ParseU64(p.substr(0, dash), &a) && ParseU64(p.substr(dash + 1), &b);
      if (dash == std::string::npos) b = a;
      if (!good || b < a) {
        ok = false;
        continue;
      }
      (*out)[key].emplace_back(a, b);
    }
  }
  return ok;
}

std::map<std::string, uint64_t> GtidSetHighest(const GtidIntervals& set) {
  std::map<std::string, uint64_t> out;
  for (const auto& [key, intervals] : set) {
    uint64_t high = 0;
    for (const auto& iv : intervals) high = std::max(high, iv.second);
    out[key] = high;
  }
  return out;
}

bool GtidSetContains(const GtidIntervals& set, const GtidIntervals& sub) {
  for (const auto& [key, wanted] : sub) {
    auto it = set.find(key);
    std::vector<std::pair<uint64_t, uint64_t>> have;
    if (it != set.end()) have = it->second;
    std::sort(have.begin(), have.end());
    for (const auto& [a, b] : wanted) {
      // Walk the sorted intervals, extending the covered range from a.
      uint64_t next = a;  // first transaction not yet known to be covered
      bool covered = false;
      for (const auto& [ha, hb] : have) {
        if (ha > next) break;
        if (hb >= b) {
          covered = true;
          break;
        }
        if (hb >= next) next = hb + 1;
      }
      if (!covered) return false;
    }
  }
  return true;
}

}  // namespace mpp
