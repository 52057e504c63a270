#include "mppstate/fencing.h"

#include <mysql.h>

#include <memory>
#include <vector>

#include "mppstate/mysql_connect.h"

namespace mpp {
namespace {

// An open connection with the fencing login, or nullptr with *err set.
std::unique_ptr<MysqlConnection> Connect(const Config& cfg, const NodeConfig& node, unsigned io_timeout_s,
                                         std::string* err) {
  const std::string& cnf = cfg.admin_credentials.empty() ? cfg.credentials : cfg.admin_credentials;
  auto conn = std::make_unique<MysqlConnection>();
  ConnectFailure failure;
  if (!ConnectNode(cfg, node, cnf, io_timeout_s, conn.get(), &failure)) {
    *err = node.name + ": " + failure.message;
    return nullptr;
  }
  return conn;
}

MYSQL* Handle(const std::unique_ptr<MysqlConnection>& conn) { return static_cast<MYSQL*>(conn->handle()); }

bool Exec(MYSQL* m, const std::string& node, const std::string& sql, std::vector<std::vector<std::string>>* rows,
          std::string* err) {
  if (mysql_real_query(m, sql.data(), sql.size()) != 0) {
    *err = node + ": " + mysql_error(m);
    return false;
  }
  MYSQL_RES* res = mysql_store_result(m);
  if (res == nullptr) return mysql_field_count(m) == 0 || (*err = node + ": " + mysql_error(m), false);
  unsigned cols = mysql_num_fields(res);
  while (MYSQL_ROW row = mysql_fetch_row(res)) {
    if (rows == nullptr) continue;
    std::vector<std::string> r;
    for (unsigned i = 0; i < cols; ++i) r.push_back(row[i] ? row[i] : "");
    rows->push_back(r);
  }
  mysql_free_result(res);
  return true;
}

bool IsMariaDb(MYSQL* m) {
  const char* info = mysql_get_server_info(m);
  return info != nullptr && std::string(info).find("MariaDB") != std::string::npos;
}

std::string Quote(MYSQL* m, const std::string& s) {
  std::string out(s.size() * 2 + 1, '\0');
  unsigned long n = mysql_real_escape_string(m, &out[0], s.data(), s.size());
  out.resize(n);
  return "'" + out + "'";
}

}  // namespace

bool SetReadOnly(const Config& cfg, const NodeConfig& node, bool on, std::string* err) {
  auto conn = Connect(cfg, node, MysqlTimeoutSeconds(cfg.query_timeout_ms), err);
  if (!conn) return false;
  return Exec(Handle(conn), node.name, on ? "SET GLOBAL read_only = ON" : "SET GLOBAL read_only = OFF", nullptr, err);
}

int KillClientSessions(const Config& cfg, const NodeConfig& node, std::string* err) {
  auto conn = Connect(cfg, node, MysqlTimeoutSeconds(cfg.query_timeout_ms), err);
  if (!conn) return -1;
  MYSQL* m = Handle(conn);
  std::vector<std::vector<std::string>> rows;
  // Replication and server threads stay: only client sessions can write.
  if (!Exec(m, node.name,
            "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() "
            "AND USER NOT IN ('system user', 'event_scheduler') "
            "AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Slave_IO', 'Slave_SQL', "
            "'Slave_worker', 'Connect')",
            &rows, err))
    return -1;
  int killed = 0;
  for (const auto& r : rows) {
    std::string ignored;
    if (Exec(m, node.name, "KILL CONNECTION " + r[0], nullptr, &ignored)) ++killed;
  }
  return killed;
}

bool WaitForCatchUp(const Config& cfg, const NodeConfig& old_writer, const NodeConfig& target,
                    int64_t timeout_ms, std::string* err) {
  auto old_conn = Connect(cfg, old_writer, MysqlTimeoutSeconds(cfg.query_timeout_ms), err);
  if (!old_conn) return false;
  bool maria = IsMariaDb(Handle(old_conn));
  std::vector<std::vector<std::string>> rows;
  if (!Exec(Handle(old_conn), old_writer.name, maria ? "SELECT @@gtid_binlog_pos" : "SELECT @@gtid_executed", &rows,
            err))
    return false;
  std::string pos = rows.empty() ? "" : rows[0][0];
  int64_t wait_s = (timeout_ms + 999) / 1000;
  auto target_conn = Connect(cfg, target, static_cast<unsigned>(wait_s + 2), err);
  if (!target_conn) return false;
  MYSQL* t = Handle(target_conn);
  rows.clear();
  std::string sql = maria ? "SELECT MASTER_GTID_WAIT(" + Quote(t, pos) + ", " + std::to_string(wait_s) + ")"
                          : "SELECT WAIT_FOR_EXECUTED_GTID_SET(" + Quote(t, pos) + ", " +
                                std::to_string(wait_s) + ")";
  if (!Exec(t, target.name, sql, &rows, err)) return false;
  if (rows.empty() || rows[0][0] != "0") {
    *err = target.name + " did not apply " + old_writer.name + "'s position " + pos + " within " +
           std::to_string(wait_s) + "s";
    return false;
  }
  return true;
}

}  // namespace mpp
