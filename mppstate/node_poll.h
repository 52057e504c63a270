// One poll of one node that never blocks: the seed's fresh login, the check
// query, @@read_only and @@server_id, and the replication status (SHOW SLAVE
// STATUS, or SHOW REPLICA STATUS on MySQL >= 8.0.22), turned into a
// PollResult. Driven by an event loop (EventPoller): it says which socket
// and events it waits for and until when, and is continued when they come.
//
// Deadlines are ours, in milliseconds: the connect has connect_timeout,
// each statement query_timeout, the whole poll the caller's deadline. A
// step that runs out is aborted at once (its socket shut down) and the poll
// is a timeout.
//
// A watch (Mode::kWatch) is only the login: once done and ok, the
// connection stays open and idle, and the caller waits for it to become
// readable, which an idle connection does only when the server ends it.
//
// The monitoring user needs no data privileges, only the right to read the
// replication status:
//   MariaDB >= 10.5: GRANT SLAVE MONITOR ON *.* TO 'mpp'@'127.0.0.1';
//   older MariaDB and MySQL: GRANT REPLICATION CLIENT ON *.* TO 'mpp'@'...';
// It must not hold SUPER (or CONNECTION ADMIN): with it the server keeps a
// spare connection for it and "too many connections" would go unseen.
//
// Thread-safety: a NodePoll is used by one thread; many may run at once on
// threads registered with the client library (MysqlThread).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "config/config.h"
#include "core/poll_result.h"
#include "mppstate/mysql_async.h"
#include "mppstate/mysql_connect.h"

namespace mpp {

class NodePoll {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Mode { kPoll, kWatch };
  // The stack of the client library's calls in progress. Its deepest use
  // measured, a TLS login with a verified certificate, is under 9 KiB; the
  // library's own default (256 KiB on Debian 12) would make a thousand
  // polls in flight cost a quarter of a gigabyte.
  static constexpr size_t kStackBytes = 32 * 1024;

  // Starts polling cfg->nodes[node]; it may be done at once (a refusal, a
  // local error).
  NodePoll(std::shared_ptr<const Config> cfg, size_t node, std::shared_ptr<const Login> login, Mode mode, Clock::time_point now,
           Clock::time_point deadline);
  ~NodePoll();  // aborts a call in progress, closes the connection
  NodePoll(const NodePoll&) = delete;
  NodePoll& operator=(const NodePoll&) = delete;

  bool done() const { return step_ == Step::kDone; }
  // While not done: the socket (-1: none yet), whether it waits to read or
  // to write, and when Advance is due even if the socket says nothing.
  int fd() const { return fd_; }
  bool wants_read() const { return wait_.read; }
  bool wants_write() const { return wait_.write; }
  Clock::time_point wake() const { return wake_; }

  // Continues with what the socket says; at or after wake() with nothing
  // ready, the time has run out (the library's or ours).
  void Advance(bool readable, bool writable, Clock::time_point now);

  // Once done. A watch that is done and ok keeps fd() open.
  const PollResult& result() const { return result_; }
  size_t node() const { return node_; }

 private:
  enum class Step { kConnect, kCheckQuery, kCheckStore, kCheckNext, kVariables, kVariablesStore, kStatus,
                    kStatusStore, kDone };
  void StartConnect(Clock::time_point now);
  void Run(AsyncWait w, Clock::time_point now);
  void StepDone(Clock::time_point now);
  std::string VariablesSql() const;
  void StartStatement(Step step, const std::string& sql, Clock::time_point now);
  void Wait(AsyncWait w, Clock::time_point now);
  void Finish(PollOutcome outcome, const std::string& error, unsigned code);
  void FailStatement(const std::string& what, Clock::time_point now);
  bool CheckFailed(Clock::time_point now);
  void Abort();
  const char* StepName() const;

  std::shared_ptr<const Config> cfg_;
  size_t node_;
  std::shared_ptr<const Login> login_;
  Mode mode_;
  Clock::time_point deadline_;       // of the whole poll
  Clock::time_point step_started_;
  Clock::time_point step_deadline_;  // of the step in progress
  Step step_ = Step::kConnect;
  MysqlConnection conn_;
  AsyncCall call_;
  AsyncWait wait_;
  int fd_ = -1;
  Clock::time_point wake_;
  PollResult result_;
  bool mariadb_ = false;
  std::string gtid_slave_pos_;
  // The check query's error, when the server answered it with one: the
  // rest is read all the same, and the poll ends kQueryError with it.
  std::string check_error_;
  unsigned check_code_ = 0;
};

}  // namespace mpp
