#include "mppstate/node_poll.h"

#include <sys/socket.h>
#include <time.h>

#include <algorithm>

#include "common/address_text.h"
#include "mppstate/poll_rows.h"
#include "mppstate/poller.h"

namespace mpp {
namespace {

int64_t Ms(NodePoll::Clock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

}  // namespace

NodePoll::NodePoll(std::shared_ptr<const Config> cfg, size_t node, std::shared_ptr<const Login> login, Mode mode,
                   Clock::time_point now, Clock::time_point deadline)
    : cfg_(std::move(cfg)), node_(node), login_(std::move(login)), mode_(mode), deadline_(deadline), wake_(Clock::time_point::max()) {
  StartConnect(now);
}

NodePoll::~NodePoll() { Abort(); }

void NodePoll::StartConnect(Clock::time_point now) {
  const NodeConfig& node = cfg_->nodes[node_];
  step_ = Step::kConnect;
  step_started_ = now;
  step_deadline_ = std::min(deadline_, now + std::chrono::milliseconds(cfg_->connect_timeout_ms));
  if (node.address.kind != Address::kInet4 && node.address.kind != Address::kInet6) {
    Finish(PollOutcome::kRefused, "node " + node.name + " has no IP address", 0);
    return;
  }
  MYSQL* m = static_cast<MYSQL*>(conn_.handle());
  if (m != nullptr && !AsyncCall::Enable(m, kStackBytes)) {
    Finish(PollOutcome::kMonitorError, "connect: the client library cannot make non-blocking calls", 0);
    return;
  }
  ConnectFailure failure;
  if (!PrepareConnection(*cfg_, node, *login_, MysqlTimeoutSeconds(cfg_->query_timeout_ms), &conn_, &failure)) {
    // An unreadable credentials or TLS file is ours to fix and says
    // nothing of the node.
    Finish(PollOutcome::kMonitorError, "connect: " + failure.message, 0);
    return;
  }
  if (now >= deadline_) {
    Finish(PollOutcome::kTimeout, "poll missed its deadline", 0);
    return;
  }
  Run(call_.StartConnect(m, IpText(node.address), login_->options.user, login_->options.password, node.address.port),
      now);
}

// Until a call has to wait: each finished call starts the next step.
void NodePoll::Run(AsyncWait w, Clock::time_point now) {
  if (!w.done) {
    Wait(w, now);
    return;
  }
  wait_ = w;
  StepDone(now);
}

void NodePoll::Wait(AsyncWait w, Clock::time_point now) {
  wait_ = w;
  fd_ = AsyncCall::Socket(static_cast<MYSQL*>(conn_.handle()));
  wake_ = step_deadline_;
  if (w.timeout_ms >= 0) wake_ = std::min(wake_, now + std::chrono::milliseconds(w.timeout_ms));
}

void NodePoll::Advance(bool readable, bool writable, Clock::time_point now) {
  if (done()) return;
  if (readable || writable) {
    Run(call_.Continue(readable, writable, false), now);
  } else if (now < step_deadline_ && now >= wake_) {
    Run(call_.Continue(false, false, true), now);  // the library's own timeout
  }
  if (done() || now < step_deadline_) return;
  bool whole = step_deadline_ >= deadline_;
  std::string what = StepName();
  int64_t limit = step_ == Step::kConnect ? cfg_->connect_timeout_ms : cfg_->query_timeout_ms;
  Finish(PollOutcome::kTimeout,
         whole ? std::string("poll missed its deadline") : what + ": no answer within " + std::to_string(limit) + "ms",
         0);
}

const char* NodePoll::StepName() const {
  switch (step_) {
    case Step::kConnect: return "connect";
    case Step::kCheckQuery:
    case Step::kCheckStore:
    case Step::kCheckNext: return "check query";
    case Step::kVariables:
    case Step::kVariablesStore: return "read server variables";
    case Step::kStatus:
    case Step::kStatusStore:
    case Step::kDone: break;
  }
  return "replication status";
}

// read_only, server_id, and on MariaDB the GTID state (kGtidColumns) and,
// for a pool with semi_sync, the semi-sync settings (kSemiSyncColumns).
std::string NodePoll::VariablesSql() const {
  if (!mariadb_) return "SELECT @@read_only, @@server_id";
  std::string sql = std::string("SELECT @@read_only, @@server_id, ") + kGtidColumns;
  int pool = cfg_->PoolOfNode(static_cast<int>(node_));
  if (pool >= 0 && cfg_->pools[static_cast<size_t>(pool)].semi_sync) sql += std::string(", ") + kSemiSyncColumns;
  return sql;
}

void NodePoll::StartStatement(Step step, const std::string& sql, Clock::time_point now) {
  step_ = step;
  step_started_ = now;
  step_deadline_ = std::min(deadline_, now + std::chrono::milliseconds(cfg_->query_timeout_ms));
  Run(call_.StartQuery(static_cast<MYSQL*>(conn_.handle()), sql), now);
}

void NodePoll::StepDone(Clock::time_point now) {
  MYSQL* m = static_cast<MYSQL*>(conn_.handle());
  switch (step_) {
    case Step::kConnect: {
      ConnectFailure failure;
      failure.elapsed_ms = Ms(now - step_started_);
      if (!CheckConnected(*cfg_, cfg_->nodes[node_], *login_, call_.connected(), &conn_, &failure)) {
        // A TLS failure is the node's: unverified, it is not the node we
        // can vouch for, so it is unreachable for us.
        Finish(ClassifyMysqlError(failure.code, failure.elapsed_ms, cfg_->connect_timeout_ms),
               "connect: " + failure.message, failure.code);
        return;
      }
      if (mode_ == Mode::kWatch) {
        Finish(PollOutcome::kOk, "", 0);
        return;
      }
      const char* info = mysql_get_server_info(m);
      mariadb_ = info != nullptr && std::string(info).find("MariaDB") != std::string::npos;
      if (!cfg_->check_query.empty()) {
        StartStatement(Step::kCheckQuery, cfg_->check_query, now);
      } else {
        StartStatement(Step::kVariables, VariablesSql(), now);
      }
      return;
    }
    case Step::kCheckQuery:
    case Step::kVariables:
    case Step::kStatus:
      if (call_.status() != 0) {
        if (step_ == Step::kCheckQuery && CheckFailed(now)) return;
        FailStatement(StepName(), now);
        return;
      }
      step_ = static_cast<Step>(static_cast<int>(step_) + 1);  // its result
      Run(call_.StartStoreResult(m), now);
      return;
    case Step::kCheckStore: {
      MYSQL_RES* res = call_.TakeResult();
      if (res == nullptr && mysql_field_count(m) != 0) {
        if (!CheckFailed(now)) FailStatement("check query", now);
        return;
      }
      if (res != nullptr) mysql_free_result(res);
      // A CALL returns more than one result; the next statements need them
      // all read first.
      if (mysql_more_results(m)) {
        step_ = Step::kCheckNext;
        Run(call_.StartNextResult(m), now);
        return;
      }
      StartStatement(Step::kVariables, VariablesSql(), now);
      return;
    }
    case Step::kCheckNext:
      if (call_.status() > 0) {
        if (!CheckFailed(now)) FailStatement("check query", now);
      } else if (call_.status() == 0) {
        step_ = Step::kCheckStore;
        Run(call_.StartStoreResult(m), now);
      } else {
        StartStatement(Step::kVariables, VariablesSql(), now);
      }
      return;
    case Step::kVariablesStore: {
      MYSQL_RES* res = call_.TakeResult();
      if (res == nullptr && mysql_field_count(m) != 0) {
        FailStatement("read server variables", now);
        return;
      }
      bool row = ReadServerVariables(res, mariadb_, static_cast<int64_t>(time(nullptr)), &result_, &gtid_slave_pos_);
      if (res != nullptr) mysql_free_result(res);
      if (!row) {
        Finish(PollOutcome::kQueryError, "read server variables: no row", 0);
        return;
      }
      bool replica_words = !mariadb_ && mysql_get_server_version(m) >= 80022;
      StartStatement(Step::kStatus, replica_words ? "SHOW REPLICA STATUS" : "SHOW SLAVE STATUS", now);
      return;
    }
    case Step::kStatusStore: {
      MYSQL_RES* res = call_.TakeResult();
      if (res == nullptr && mysql_field_count(m) != 0) {
        FailStatement("replication status", now);
        return;
      }
      ReadReplicationStatus(res, mariadb_, gtid_slave_pos_, &result_.repl);
      if (res != nullptr) mysql_free_result(res);
      if (!check_error_.empty()) {
        result_.check_failed_only = true;
        Finish(PollOutcome::kQueryError, check_error_, check_code_);
        return;
      }
      Finish(PollOutcome::kOk, "", 0);
      return;
    }
    case Step::kDone:
      return;
  }
}

// The check query failed with an error of the server's (a table lost on
// this server alone): the poll fails with it, but reads the rest first, so
// that a failover still knows what this replica received. A lost
// connection or a timeout is not that: false, and the poll ends.
bool NodePoll::CheckFailed(Clock::time_point now) {
  MYSQL* m = static_cast<MYSQL*>(conn_.handle());
  unsigned err = mysql_errno(m);
  if (err == 0 || err >= 2000) return false;
  check_error_ = std::string("check query: ") + mysql_error(m);
  check_code_ = err;
  StartStatement(Step::kVariables, VariablesSql(), now);
  return true;
}

// A statement that failed after the login. A lost connection in the middle
// of a poll is a hung or dying server, not a bad query.
void NodePoll::FailStatement(const std::string& what, Clock::time_point now) {
  MYSQL* m = static_cast<MYSQL*>(conn_.handle());
  unsigned err = mysql_errno(m);
  PollOutcome o = PollOutcome::kQueryError;
  if (err >= 2000 && err < 3000) {
    PollOutcome c = ClassifyMysqlError(err, Ms(now - step_started_), cfg_->query_timeout_ms);
    if (c == PollOutcome::kTimeout || c == PollOutcome::kMonitorError) o = c;
  }
  Finish(o, what + ": " + mysql_error(m), err);
}

void NodePoll::Finish(PollOutcome outcome, const std::string& error, unsigned code) {
  bool keep = mode_ == Mode::kWatch && outcome == PollOutcome::kOk;
  if (!keep) Abort();
  result_.outcome = outcome;
  result_.error = error;
  result_.error_code = static_cast<int>(code);
  step_ = Step::kDone;
  wait_ = AsyncWait();
  wake_ = Clock::time_point::max();
  if (keep) {
    fd_ = AsyncCall::Socket(static_cast<MYSQL*>(conn_.handle()));
    AsyncCall::Shrink(static_cast<MYSQL*>(conn_.handle()));  // a thousand idle watches
  }
}

// Ends the connection without waiting for anything: a call in progress is
// made to fail at once (its socket shut down), then the handle is closed.
// An idle connection says goodbye (COM_QUIT): a few bytes into an empty
// socket buffer never wait, and the server does not log an aborted
// connection.
void NodePoll::Abort() {
  MYSQL* m = static_cast<MYSQL*>(conn_.handle());
  if (m == nullptr) return;
  if (!wait_.done) {
    int fd = AsyncCall::Socket(m);
    if (fd >= 0) shutdown(fd, SHUT_RDWR);
    AsyncWait w = wait_;
    for (int i = 0; i < 16 && !w.done; ++i) w = call_.Continue(true, true, true);
    MYSQL_RES* res = call_.TakeResult();
    if (res != nullptr) mysql_free_result(res);
    wait_ = AsyncWait();
  }
  conn_.Close();
  fd_ = -1;
}

}  // namespace mpp
