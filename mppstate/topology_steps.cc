#include "mppstate/topology_steps.h"

#include <mysql.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <initializer_list>
#include <thread>
#include <utility>

#include "common/address_text.h"
#include "config/option_file.h"
#include "core/gtid_divergence.h"
#include "mppstate/admin_session.h"
#include "mppstate/mysql_connect.h"
#include "mppstate/node_holdings.h"
#include "mppstate/node_rewind.h"
#include "mppstate/tail_seal.h"

namespace mpp {
namespace {

using Clock = std::chrono::steady_clock;

constexpr unsigned kErLockWaitTimeout = 1205;
constexpr unsigned kErNoSuchThread = 1094;
constexpr int64_t kPollMs = 50;

StepOutcome Fail(std::string message) { return StepOutcome{false, std::move(message), false}; }
StepOutcome Done(std::string message) { return StepOutcome{true, std::move(message), false}; }

// "4s", "1.5s".
std::string SecondsText(int64_t ms) {
  std::string s = std::to_string(ms / 1000);
  int64_t frac = ms % 1000;
  if (frac != 0) {
    std::string f = std::to_string(1000 + frac).substr(1);
    while (!f.empty() && f.back() == '0') f.pop_back();
    s += "." + f;
  }
  return s + "s";
}

// text with every occurrence of secret replaced.
std::string Redact(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3))
    text.replace(at, secret.size(), "***");
  return text;
}

// Kills the sessions of clients (not replication or system threads, not
// our own): read_only does not stop a session with READ_ONLY ADMIN, nor a
// transaction already past its checks. Returns how many; *not_killed gets
// the first error other than "already gone"; *acks_cut counts those that
// were committing: waiting for a semi-sync acknowledgement, or queued
// behind one in the group commit (STATE "Commit"). Each such commit ends
// without an acknowledgement, and its client is told the connection was
// lost, never OK (a rewind may undo it, node_rewind.h). A session running
// anything else (a long SELECT) is not counted: it would make room for a
// commit a KILL QUERY ended, whose client was told OK. One that reaches
// its commit between the list and the kill is missed: the rewind is then
// refused, never wrong.
bool KillClientSessions(Session* s, int* killed, int* acks_cut, std::string* not_killed, std::string* err) {
  Table t;
  if (!s->Run("SELECT ID, STATE IN ('Commit', 'Commit implicit') OR STATE LIKE 'Waiting for semi-sync%' "
              "FROM information_schema.PROCESSLIST "
              "WHERE ID <> CONNECTION_ID() "
              "AND USER NOT IN ('system user', 'event_scheduler') "
              "AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Slave_IO', 'Slave_SQL', "
              "'Slave_worker', 'Connect')",
              &t, err))
    return false;
  for (const auto& r : t.rows) {
    std::string why;
    if (s->Exec("KILL CONNECTION " + r[0], &why)) {
      ++*killed;
      if (r.size() > 1 && r[1] == "1") ++*acks_cut;
    }
    else if (s->last_errno() != kErNoSuchThread && not_killed->empty()) *not_killed = why;
  }
  return true;
}

// What SHOW SLAVE STATUS says of the replication threads.
struct Threads {
  bool configured = false;
  std::string io, sql;  // "Yes", "No", "Connecting"
  std::string io_errno, sql_errno, io_error, sql_error;
  std::string source;  // "host:port"

  bool Running() const { return io == "Yes" && sql == "Yes"; }
};

bool ReadThreads(Session* s, Threads* out, std::string* err) {
  Table t;
  if (!s->Run(s->ShowStatus(), &t, err)) return false;
  *out = Threads();
  if (t.rows.empty()) return true;
  out->configured = true;
  out->io = t.Get(0, {"Slave_IO_Running", "Replica_IO_Running"});
  out->sql = t.Get(0, {"Slave_SQL_Running", "Replica_SQL_Running"});
  out->io_errno = t.Get(0, {"Last_IO_Errno"});
  out->sql_errno = t.Get(0, {"Last_SQL_Errno"});
  out->io_error = t.Get(0, {"Last_IO_Error"});
  out->sql_error = t.Get(0, {"Last_SQL_Error"});
  out->source = t.Get(0, {"Master_Host", "Source_Host"}) + ":" + t.Get(0, {"Master_Port", "Source_Port"});
  return true;
}

bool IsError(const std::string& errno_text) { return !errno_text.empty() && errno_text != "0"; }

// Runs a STOP SLAVE statement on a session of its own that waits up to
// wait_ms. A semi-sync replica's IO thread, as it stops, logs in to its
// source to end the dump thread there: with a source that hangs, that takes
// MariaDB up to rpl_semi_sync_slave_kill_conn_timeout (5 s by default),
// past the query timeout, and the step would fail and wait a round for
// nothing. A failover waits for this twice (the new writer's stop, then
// each re-pointed replica's), so with semi_sync the wait is cut to 1 s: the
// source is the writer being replaced.
bool StopReplicationThreads(const Config& cfg, const Session& s, const std::string& sql, bool semi_sync,
                            int64_t wait_ms, std::string* err) {
  Session stopper(s.node());
  if (!stopper.Open(cfg, MysqlTimeoutSeconds(std::max(wait_ms, cfg.query_timeout_ms)), err)) return false;
  if (semi_sync && stopper.maria() && !stopper.Exec("SET GLOBAL rpl_semi_sync_slave_kill_conn_timeout = 1", err))
    return false;
  return stopper.Exec(sql, err);
}

// Polls the replication threads until both run; else a failure message:
// a thread that stopped on an error gives the server's error, the end of
// wait_ms the threads' states. A thread still connecting may yet succeed,
// so only its stop ends the wait early.
bool WaitForThreads(Session* s, int64_t wait_ms, const std::string& source, Threads* seen,
                    std::string* err) {
  auto deadline = Clock::now() + std::chrono::milliseconds(wait_ms);
  while (true) {
    if (!ReadThreads(s, seen, err)) return false;
    if (!seen->configured) {
      *err = s->name() + ": not a replica";
      return false;
    }
    if (seen->Running()) return true;
    if (seen->io == "No" && IsError(seen->io_errno)) {
      *err = s->name() + ": replication from " + source + " failed: IO error " + seen->io_errno + ": " +
             seen->io_error;
      return false;
    }
    if (seen->sql == "No" && IsError(seen->sql_errno)) {
      *err = s->name() + ": replication from " + source + " failed: SQL error " + seen->sql_errno + ": " +
             seen->sql_error;
      return false;
    }
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
  *err = s->name() + ": replication threads not running after " + SecondsText(wait_ms) + ": IO " +
         (seen->io.empty() ? "No" : seen->io) + ", SQL " + (seen->sql.empty() ? "No" : seen->sql);
  if (IsError(seen->io_errno)) *err += "; last IO error " + seen->io_errno + ": " + seen->io_error;
  if (IsError(seen->sql_errno)) *err += "; last SQL error " + seen->sql_errno + ": " + seen->sql_error;
  return false;
}

// Waits until the SQL thread has applied all that the (stopped) IO thread
// received: by GTID, or by binlog position on a replica without GTID. Not
// applied in time is a failure: replication must not be removed with
// transactions still in the relay log.
bool ApplyRelayLog(const Config& cfg, Session* s, int64_t apply_wait_ms, std::string* err) {
  Table t;
  if (!s->Run(s->ShowStatus(), &t, err)) return false;
  // Gtid_IO_Pos outlives a change to MASTER_USE_GTID = no: only Using_Gtid
  // says whether it is current.
  std::string using_gtid = t.Get(0, {"Using_Gtid"});
  std::string gtid = !s->maria()                                   ? t.Get(0, {"Retrieved_Gtid_Set"})
                     : using_gtid.empty() || using_gtid == "No" ? ""
                                                                 : t.Get(0, {"Gtid_IO_Pos"});
  std::string file = t.Get(0, {"Master_Log_File", "Source_Log_File"});
  std::string pos = t.Get(0, {"Read_Master_Log_Pos", "Read_Source_Log_Pos"});
  auto exec_at = [](const Table& status) {
    return status.Get(0, {"Relay_Master_Log_File", "Relay_Source_Log_File"}) + ":" +
           status.Get(0, {"Exec_Master_Log_Pos", "Exec_Source_Log_Pos"});
  };
  unsigned wait_s = MysqlTimeoutSeconds(apply_wait_ms);
  std::string received = gtid.empty() ? file + ":" + pos : gtid;
  std::string sql;
  if (!gtid.empty())
    sql = std::string(s->maria() ? "SELECT MASTER_GTID_WAIT(" : "SELECT WAIT_FOR_EXECUTED_GTID_SET(") +
          s->Quote(gtid) + ", " + std::to_string(wait_s) + ")";
  else if (!file.empty() && received != exec_at(t))
    sql = "SELECT MASTER_POS_WAIT(" + s->Quote(file) + ", " + s->Quote(pos) + ", " + std::to_string(wait_s) + ")";
  else
    return true;  // nothing received, or all of it applied

  Session w(s->node());
  if (!w.Open(cfg, wait_s + 2, err) || !w.Run(sql, &t, err)) return false;
  // MASTER_GTID_WAIT answers 0 when done, MASTER_POS_WAIT how many events
  // it waited for; -1 is a timeout, NULL a stopped SQL thread.
  std::string r = t.First();
  if (gtid.empty() ? !r.empty() && r[0] != '-' : r == "0") return true;
  std::string applied;
  if (!gtid.empty() ? !s->Run("SELECT " + s->ExecutedVariable(), &t, err) : !s->Run(s->ShowStatus(), &t, err))
    return false;
  applied = gtid.empty() ? exec_at(t) : t.First();
  *err = s->name() + ": relay log not applied within " + std::to_string(wait_s) + "s (received " + received +
         ", applied " + applied + ")";
  return false;
}

// Semi-sync as the writer wants it: a commit is acknowledged only once a
// replica has it in its relay log (AFTER_SYNC), and the writer is nobody's
// semi-sync replica.
bool SemiSyncWriter(Session* s, std::string* err) {
  return s->Exec("SET GLOBAL rpl_semi_sync_master_wait_point = AFTER_SYNC", err) &&
         s->Exec("SET GLOBAL rpl_semi_sync_slave_enabled = OFF", err) &&
         s->Exec("SET GLOBAL rpl_semi_sync_master_enabled = ON", err);
}

// Semi-sync as a replica wants it; the replica side takes effect when the
// IO thread (re)starts.
bool SemiSyncReplica(Session* s, bool replica, std::string* err) {
  return s->Exec("SET GLOBAL rpl_semi_sync_master_enabled = OFF", err) &&
         (!replica || s->Exec("SET GLOBAL rpl_semi_sync_slave_enabled = ON", err));
}

bool MariaDbOnly(Session* s, std::string* err) {
  if (s->maria()) return true;
  *err = s->name() + ": semi_sync manages MariaDB's built-in semi-sync; this is not MariaDB";
  return false;
}

// Whether other, which is not to be writable alongside the new writer, is:
// a node that cannot be reached (or hangs) is not waited for, but one that
// answers and will not say is treated as writable.
bool WritableOther(const Config& cfg, const NodeConfig& other, std::string* why) {
  Session o(other);
  std::string err;
  Table t;
  if (!o.Open(cfg, QuerySeconds(cfg), &err)) {
    const ConnectFailure& f = o.connect_failure();
    if (!f.local && f.code >= 2000) return false;  // the client library's own: no answer
    *why = other.name + "'s read_only unknown: " + err;
    return true;
  }
  if (!o.Run("SELECT @@read_only", &t, &err)) {
    if (o.last_errno() >= 2000) return false;
    *why = other.name + "'s read_only unknown: " + err;
    return true;
  }
  *why = other.name + " is writable";
  return t.First() == "0";
}

// The replication login: replication_credentials' [client] user and
// password.
bool ReplicationLogin(const Config& cfg, const NodeConfig& node, ClientOptions* login, std::string* err) {
  if (cfg.replication_credentials.empty()) {
    *err = node.name + ": no replication_credentials in " + cfg.path;
    return false;
  }
  std::string why;
  if (!ReadClientOptions(cfg.replication_credentials, login, &why)) {
    *err = node.name + ": replication_credentials " + why;
    return false;
  }
  if (login->user.empty()) {
    *err = node.name + ": replication_credentials " + cfg.replication_credentials + ": no user";
    return false;
  }
  return true;
}

// Divergence as an attachment sees it: what the node received counts (a
// relay log holding a transaction the source lacks would be deleted), but
// for a delayed replica of an asynchronous pool, whose relay log holds by
// design what it has not applied, only what it keeps: a failover to a node
// that received less than it must not cost the pool its guard against a
// bad statement. With semi_sync its relay log may hold the only copy of an
// acknowledged commit, and counts like any other.
bool DivergedForAttach(Session* src, const std::string& name, Holdings h, bool semi_sync, std::string* why,
                       std::string* err) {
  if (h.delay_s > 0 && !semi_sync) h.held = h.kept;
  return Divergence(src, name, h, why, err);
}

StepOutcome Attach(const Config& cfg, const NodeConfig& node, const NodeConfig& source, bool semi_sync,
                   int64_t wait_ms, const ClientOptions& login) {
  std::string err;
  if (node.name == source.name) return Fail(node.name + ": cannot replicate from itself");
  Session src(source);
  if (!src.Open(cfg, QuerySeconds(cfg), &err)) return Fail(err);
  Session s(node);
  if (!s.Open(cfg, QuerySeconds(cfg), &err)) return Fail(err);
  if (s.maria() != src.maria())
    return Fail(node.name + (s.maria() ? " is MariaDB, " : " is MySQL, ") + source.name + " is not");

  // Its binlog may have been reset by a rewind that did not get to set its
  // position: that rewind is finished first (node_rewind.h).
  std::string pending = RewindPendingPath(cfg, node);
  if (access(pending.c_str(), F_OK) == 0)
    return StepOutcome{false, node.name + " has diverged: a rewind of it was cut off (" + pending + ")", true};
  Holdings h;
  std::string why;
  if (!ReadHoldings(&s, &h, &err) || !DivergedForAttach(&src, node.name, h, semi_sync, &why, &err)) return Fail(err);
  if (!why.empty()) return StepOutcome{false, why, true};
  // A writable node could take a write the check has not seen.
  if (!h.read_only) return Fail(node.name + ": writable, not attached before it is fenced");
  // A source that applied transactions without logging them can send only
  // what follows them: a node behind them would never get them. Nothing is
  // changed on it then. (Stopping it can only move it further.)
  if (s.maria()) {
    GtidHistory history;
    if (!ReadHistory(&src, &history, &err)) return Fail(err);
    std::string behind = WhyCannotFollow(h.last, history, node.name, source.name);
    if (!behind.empty()) {
      std::string cause;
      if (!ReadUnloggedCause(&src, &cause, &err)) return Fail(err);
      return Fail(behind + (cause.empty() ? "" : " (" + source.name + ": " + cause + ")"));
    }
  }

  if (!StopReplicationThreads(cfg, s, s.Replication("STOP"), semi_sync, wait_ms, &err)) return Fail(err);
  // Its SQL thread may have applied more before it stopped: check that too.
  Holdings now;
  if (!ReadHoldings(&s, &now, &err)) return Fail(err);
  if (now != h) {
    h = now;
    if (!DivergedForAttach(&src, node.name, h, semi_sync, &why, &err)) return Fail(err);
    if (!why.empty()) return StepOutcome{false, why, true};
  }
  // What a delayed replica's relay log held and the source lacks is
  // deleted by the re-pointing: said, since nothing else will.
  std::string dropped;
  if (h.delay_s > 0 && !semi_sync && !Divergence(&src, node.name, h, &dropped, &err)) return Fail(err);
  if (!dropped.empty()) dropped = " (delayed replica: its relay log, not applied, held what " + source.name +
                                  " lacks, now deleted: " + dropped.substr(dropped.find(": ") + 2) + ")";

  std::string change;
  if (s.maria()) {
    // Everything it has counts as applied. Its gtid_slave_pos alone can be
    // older than its binlog (an ex-writer's says what it applied as a
    // replica before it wrote): the source would send what it already has,
    // or no longer have the binlogs to start there.
    if (!s.Exec("SET GLOBAL gtid_slave_pos = " + s.Quote(h.text), &err)) return Fail(err);
    change = "CHANGE MASTER TO MASTER_HOST=" + s.Quote(IpText(source.address)) +
             ", MASTER_PORT=" + std::to_string(source.address.port) + ", MASTER_USER=" + s.Quote(login.user) +
             ", MASTER_PASSWORD=" + s.Quote(login.password) + ", MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1";
  } else {
    // Auto-positioning sends the replica's gtid_executed: nothing to set.
    const char* k = s.SourceWords() ? "SOURCE" : "MASTER";
    change = std::string(s.SourceWords() ? "CHANGE REPLICATION SOURCE TO " : "CHANGE MASTER TO ") + k +
             "_HOST=" + s.Quote(IpText(source.address)) + ", " + k + "_PORT=" +
             std::to_string(source.address.port) + ", " + k + "_USER=" + s.Quote(login.user) + ", " + k +
             "_PASSWORD=" + s.Quote(login.password) + ", " + k + "_AUTO_POSITION=1, " + k + "_CONNECT_RETRY=1";
  }
  if (!s.Exec(change, &err)) return Fail(err + " (pointing it at " + source.name + ")");
  if (semi_sync && (!MariaDbOnly(&s, &err) || !SemiSyncReplica(&s, true, &err))) return Fail(err);
  if (!s.Exec(s.Replication("START"), &err)) return Fail(err);
  Threads seen;
  if (!WaitForThreads(&s, wait_ms, source.name, &seen, &err)) return Fail(err);
  return Done(node.name + ": replicates from " + source.name + " at " + (h.text.empty() ? "the start" : h.text) +
              dropped);
}

}  // namespace

AdminView SeeWithAdminLogin(const Config& cfg, const NodeConfig& node) {
  AdminView v;
  // A brief look: a node that cannot log in within a second is taken for
  // one that does not answer, and the rest of the plan is not held up.
  Config brief = cfg;
  brief.connect_timeout_ms = std::min<int64_t>(cfg.connect_timeout_ms, 1000);
  Session s(node);
  Table t;
  Threads threads;
  if (!s.Open(brief, 1, &v.error) || !s.Run("SELECT @@read_only", &t, &v.error) ||
      !ReadThreads(&s, &threads, &v.error))
    return v;
  v.answered = true;
  v.read_only = t.First() != "0";
  v.replicating = threads.configured;
  return v;
}

StepOutcome FenceNode(const Config& cfg, const NodeConfig& node, const WriterSemiSyncSeen& writer_semi,
                      int64_t acks_cut_before) {
  std::string err;
  Session s(node);
  if (!s.Open(cfg, QuerySeconds(cfg), &err)) return Fail(err);
  // read_only waits for every LOCK TABLES ... WRITE and FLUSH TABLES WITH
  // READ LOCK to end, which a client may hold for ever: the fence would
  // then fail every round. So it does not wait (MySQL's minimum is 1 s);
  // when blocked, the clients go first, and it is tried again until the
  // query timeout.
  if (!s.Exec(std::string("SET SESSION lock_wait_timeout = ") + (s.maria() ? "0" : "1"), &err))
    return Fail(err);
  int killed = 0, acks_cut = 0;
  std::string not_killed;
  // A fence that fails still reports the waits it cut off: a rewind
  // compares them with the server's count of unacknowledged commits.
  auto fail = [&](const std::string& why) {
    StepOutcome out = Fail(why);
    out.acks_cut = acks_cut;
    return out;
  };
  if (!s.Exec("SET GLOBAL read_only = ON", &err)) {
    if (s.last_errno() != kErLockWaitTimeout) return fail(err);
    if (!KillClientSessions(&s, &killed, &acks_cut, &not_killed, &err)) return fail(err);
    auto deadline = Clock::now() + std::chrono::milliseconds(cfg.query_timeout_ms);
    while (!s.Exec("SET GLOBAL read_only = ON", &err)) {
      if (s.last_errno() != kErLockWaitTimeout || Clock::now() >= deadline) return fail(err);
      std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
    }
  }
  if (!KillClientSessions(&s, &killed, &acks_cut, &not_killed, &err)) return fail(err);
  std::string msg = node.name + ": read_only ON, " + std::to_string(killed) + " client sessions killed";
  if (!not_killed.empty()) msg += "; not all: " + not_killed;
  StepOutcome out = Done(msg);
  out.acks_cut = acks_cut;
  // The sessions killed end their waits in a moment; a second at most is
  // spent on the seal, and the fence stands without it.
  out.seal = SealTail(&s, writer_semi, acks_cut_before + acks_cut, 1000);
  if (out.seal.proven) out.message += "; sealed: none of its commits was acknowledged without a replica";
  return out;
}

StepOutcome PromoteNode(const Config& cfg, const NodeConfig& node, bool stop_replication, bool semi_sync,
                        int64_t apply_wait_ms, const std::vector<NodeConfig>& others) {
  std::string err;
  Session s(node);
  if (!s.Open(cfg, QuerySeconds(cfg), &err)) return Fail(err);
  bool removed = false;
  Threads threads;
  if (stop_replication && !ReadThreads(&s, &threads, &err)) return Fail(err);
  if (stop_replication && threads.configured) {
    // Nothing more arrives once the IO thread stops. If what has arrived
    // is not applied in time, the IO thread stays stopped: this node is
    // the chosen writer, and the next round tries again from what it has.
    // Restarting it would fetch more from the writer being replaced; if
    // the decision moves back, a StartReplication step restarts it.
    if (!StopReplicationThreads(cfg, s, s.Replication("STOP", " IO_THREAD"), semi_sync, apply_wait_ms, &err) ||
        !ApplyRelayLog(cfg, &s, apply_wait_ms, &err) ||
        !s.Exec(s.Replication("STOP"), &err) || !s.Exec(s.Replication("RESET", " ALL"), &err))
      return Fail(err);
    removed = true;
  }
  for (const NodeConfig& other : others) {
    std::string why;
    if (other.name != node.name && WritableOther(cfg, other, &why))
      return Fail(node.name + " not made writable: " + why);
  }
  if (semi_sync && (!MariaDbOnly(&s, &err) || !SemiSyncWriter(&s, &err))) return Fail(err);
  if (!s.Exec("SET GLOBAL read_only = OFF", &err)) return Fail(err);
  return Done(node.name + (removed ? ": replication removed, " : ": ") + (semi_sync ? "semi-sync primary on, " : "") +
              "read_only OFF");
}

StepOutcome AttachNode(const Config& cfg, const NodeConfig& node, const NodeConfig& source, bool semi_sync,
                       int64_t wait_ms) {
  ClientOptions login;
  std::string err;
  if (!ReplicationLogin(cfg, node, &login, &err)) return Fail(err);
  StepOutcome out = Attach(cfg, node, source, semi_sync, wait_ms, login);
  // A server's message may quote what it was sent; it never gets out with
  // the password in it.
  out.message = Redact(out.message, login.password);
  return out;
}

StepOutcome SeverNode(const Config& cfg, const NodeConfig& node, const NodeConfig& source, bool semi_sync,
                      int64_t wait_ms) {
  std::string err;
  Session s(node);
  Threads threads;
  if (!s.Open(cfg, QuerySeconds(cfg), &err) || !ReadThreads(&s, &threads, &err)) return Fail(err);
  std::string from = IpText(source.address) + ":" + std::to_string(source.address.port);
  if (!threads.configured || threads.source != from)
    return Done(node.name + ": does not replicate from " + source.name + ", nothing to stop");
  if (threads.io == "No") return Done(node.name + ": IO thread already stopped");
  if (!StopReplicationThreads(cfg, s, s.Replication("STOP", " IO_THREAD"), semi_sync, wait_ms, &err))
    return Fail(err);
  Table t;
  std::string received;
  if (s.Run(s.ShowStatus(), &t, &err))
    received = s.maria() ? t.Get(0, {"Gtid_IO_Pos"}) : t.Get(0, {"Retrieved_Gtid_Set"});
  return Done(node.name + ": IO thread stopped, receives nothing more from " + source.name +
              (received.empty() ? "" : "; received up to " + received));
}

StepOutcome SetSemiSync(const Config& cfg, const NodeConfig& node, bool writer, bool replica, int64_t wait_ms) {
  std::string err;
  Session s(node);
  Table t;
  if (!s.Open(cfg, QuerySeconds(cfg), &err) || !MariaDbOnly(&s, &err) ||
      !s.Run("SELECT @@rpl_semi_sync_slave_enabled", &t, &err))
    return Fail(err);
  bool replica_was_on = t.First() == "1";
  if (writer) {
    if (!SemiSyncWriter(&s, &err)) return Fail(err);
    return Done(node.name + ": semi-sync primary on (AFTER_SYNC), replica off");
  }
  if (!SemiSyncReplica(&s, replica, &err)) return Fail(err);
  if (!replica || replica_was_on) return Done(node.name + ": semi-sync primary off");
  Threads threads;
  if (!ReadThreads(&s, &threads, &err)) return Fail(err);
  if (threads.io == "Yes" || threads.io == "Connecting") {
    if (!StopReplicationThreads(cfg, s, s.Replication("STOP", " IO_THREAD"), true, wait_ms, &err) ||
        !s.Exec(s.Replication("START", " IO_THREAD"), &err))
      return Fail(err);
    return Done(node.name + ": semi-sync replica on (IO thread restarted), primary off");
  }
  return Done(node.name + ": semi-sync replica on, primary off");
}

StepOutcome StartReplication(const Config& cfg, const NodeConfig& node, int64_t wait_ms) {
  std::string err;
  Session s(node);
  if (!s.Open(cfg, QuerySeconds(cfg), &err)) return Fail(err);
  Threads seen;
  if (!ReadThreads(&s, &seen, &err)) return Fail(err);
  if (!seen.configured) return Fail(node.name + ": not a replica");
  if (!s.Exec(s.Replication("START"), &err)) return Fail(err);
  if (!WaitForThreads(&s, wait_ms, seen.source, &seen, &err)) return Fail(err);
  return Done(node.name + ": replication from " + seen.source + " started");
}

StepOutcome WaitForCatchUp(const Config& cfg, const NodeConfig& old_writer, const NodeConfig& target,
                           int64_t timeout_ms) {
  std::string err;
  Session old(old_writer);
  if (!old.Open(cfg, QuerySeconds(cfg), &err)) return Fail(err);
  Table t;
  if (!old.Run(old.maria() ? "SELECT @@gtid_binlog_pos" : "SELECT @@gtid_executed", &t, &err)) return Fail(err);
  std::string pos = t.First();
  int64_t wait_s = (timeout_ms + 999) / 1000;
  Session s(target);
  if (!s.Open(cfg, static_cast<unsigned>(wait_s + 2), &err)) return Fail(err);
  std::string sql = old.maria() ? "SELECT MASTER_GTID_WAIT(" : "SELECT WAIT_FOR_EXECUTED_GTID_SET(";
  if (!s.Run(sql + s.Quote(pos) + ", " + std::to_string(wait_s) + ")", &t, &err)) return Fail(err);
  if (t.First() != "0")
    return Fail(target.name + ": did not apply " + old_writer.name + "'s position " + pos + " within " +
                std::to_string(wait_s) + "s");
  return Done(target.name + ": applied " + old_writer.name + "'s position " + pos);
}

StepOutcome UnfenceNode(const Config& cfg, const NodeConfig& node) {
  std::string err;
  Session s(node);
  if (!s.Open(cfg, QuerySeconds(cfg), &err) || !s.Exec("SET GLOBAL read_only = OFF", &err)) return Fail(err);
  return Done(node.name + ": read_only OFF");
}

}  // namespace mpp
