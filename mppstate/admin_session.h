// One connection to a node with the login that changes it
// (admin_credentials, or credentials), for the steps that make the
// databases follow the decision, and the rows it reads.
// Thread-safety: one thread per Session, registered with the client library
// (MysqlThread in poller.h).
#pragma once

#include <mysql.h>

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "mppstate/mysql_connect.h"

namespace mpp {

// A result set, NULL read as "".
struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;

  // The first of names the result has, in row i; "" when none.
  std::string Get(size_t i, std::initializer_list<const char*> names) const {
    if (i >= rows.size()) return "";
    for (const char* name : names) {
      for (size_t c = 0; c < columns.size(); ++c)
        if (columns[c] == name) return rows[i][c];
    }
    return "";
  }
  std::string First() const { return rows.empty() || rows[0].empty() ? "" : rows[0][0]; }
};

// One connection to a node with the fencing login, and the dialect of its
// server. Every failure message starts with the node's name.
class Session {
 public:
  explicit Session(const NodeConfig& node) : node_(node) {}

  bool Open(const Config& cfg, unsigned io_timeout_s, std::string* err) {
    const std::string& cnf = cfg.admin_credentials.empty() ? cfg.credentials : cfg.admin_credentials;
    if (!ConnectNode(cfg, node_, cnf, io_timeout_s, &conn_, &failure_)) {
      *err = node_.name + ": " + failure_.message;
      return false;
    }
    MYSQL* m = Handle();
    const char* info = mysql_get_server_info(m);
    maria_ = info != nullptr && std::string(info).find("MariaDB") != std::string::npos;
    version_ = mysql_get_server_version(m);
    return true;
  }

  MYSQL* Handle() const { return static_cast<MYSQL*>(conn_.handle()); }
  const NodeConfig& node() const { return node_; }
  const std::string& name() const { return node_.name; }
  const ConnectFailure& connect_failure() const { return failure_; }
  unsigned last_errno() const { return last_errno_; }

  // Runs sql; its rows (if any) go to *out. On failure *err is "db1: " and
  // the server's message; the SQL itself is never echoed.
  bool Run(const std::string& sql, Table* out, std::string* err) {
    MYSQL* m = Handle();
    last_errno_ = 0;
    if (mysql_real_query(m, sql.data(), sql.size()) != 0) return Failed(err);
    MYSQL_RES* res = mysql_store_result(m);
    if (res == nullptr) return mysql_field_count(m) == 0 || Failed(err);
    unsigned cols = mysql_num_fields(res);
    if (out != nullptr) {
      MYSQL_FIELD* fields = mysql_fetch_fields(res);
      out->columns.clear();
      out->rows.clear();
      for (unsigned i = 0; i < cols; ++i) out->columns.push_back(fields[i].name);
    }
    while (MYSQL_ROW row = mysql_fetch_row(res)) {
      if (out == nullptr) continue;
      std::vector<std::string> r;
      for (unsigned i = 0; i < cols; ++i) r.push_back(row[i] ? row[i] : "");
      out->rows.push_back(std::move(r));
    }
    mysql_free_result(res);
    return true;
  }
  bool Exec(const std::string& sql, std::string* err) { return Run(sql, nullptr, err); }

  std::string Quote(const std::string& s) const {
    std::string out(s.size() * 2 + 1, '\0');
    unsigned long n = mysql_real_escape_string(Handle(), &out[0], s.data(), s.size());
    out.resize(n);
    return "'" + out + "'";
  }

  // The statements differ by server. MySQL's are reviewed, not run: Debian
  // ships no MySQL server. MySQL 8.0.22 renamed SLAVE to REPLICA, 8.0.23
  // CHANGE MASTER to CHANGE REPLICATION SOURCE.
  bool maria() const { return maria_; }
  bool ReplicaWords() const { return !maria_ && version_ >= 80022; }
  bool SourceWords() const { return !maria_ && version_ >= 80023; }
  std::string ShowStatus() const { return ReplicaWords() ? "SHOW REPLICA STATUS" : "SHOW SLAVE STATUS"; }
  std::string Replication(const char* verb, const char* what = "") const {
    return std::string(verb) + (ReplicaWords() ? " REPLICA" : " SLAVE") + what;
  }
  // The server's own record of what it has executed.
  std::string ExecutedVariable() const { return maria_ ? "@@gtid_slave_pos" : "@@gtid_executed"; }

 private:
  bool Failed(std::string* err) {
    last_errno_ = mysql_errno(Handle());
    *err = node_.name + ": " + mysql_error(Handle());
    return false;
  }

  const NodeConfig& node_;
  MysqlConnection conn_;
  ConnectFailure failure_;
  bool maria_ = false;
  unsigned long version_ = 0;
  unsigned last_errno_ = 0;
};

// The read timeout of a step's statements: the config's query timeout.
inline unsigned QuerySeconds(const Config& cfg) { return MysqlTimeoutSeconds(cfg.query_timeout_ms); }

}  // namespace mpp
