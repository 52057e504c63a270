#include "mppstate/node_rewind.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/address_text.h"
#include "core/binlog_tail.h"
#include "core/undo_script.h"
#include "mppstate/admin_session.h"
#include "mppstate/node_holdings.h"
#include "mppstate/state_writer.h"
#include "mppstate/tail_seal.h"

extern char** environ;

namespace mpp {
namespace {

using Clock = std::chrono::steady_clock;

// How long mariadb-binlog or the client may take: a tail that semi-sync
// held back is a few transactions.
constexpr int64_t kToolTimeoutMs = 60000;

StepOutcome Fail(std::string message) { return StepOutcome{false, std::move(message), false}; }
StepOutcome Done(std::string message) { return StepOutcome{true, std::move(message), false}; }

std::string UtcStamp() {
  time_t now = time(nullptr);
  struct tm tm;
  gmtime_r(&now, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

bool ReadWholeFile(const std::string& path, std::string* out, std::string* err) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  if (!in || !(text << in.rdbuf())) {
    *err = path + ": cannot read it";
    return false;
  }
  *out = text.str();
  return true;
}

// The first line of a file, at most 300 bytes: a tool's error.
std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  if (line.size() > 300) line.resize(300);
  return line;
}

// Runs argv[0] (found in PATH) with stdin from in_path ("" for /dev/null)
// and stdout into out_path (created 0600), no shell, at most kToolTimeoutMs.
// On failure *err holds the tool's first line of stderr.
bool RunTool(const std::vector<std::string>& argv, const std::string& in_path, const std::string& out_path,
             const std::string& err_path, std::string* err) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 0, in_path.empty() ? "/dev/null" : in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&files, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&files, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The daemon's threads block the signals it reads from a signalfd.
  sigset_t none, standard;
  sigemptyset(&none);
  sigemptyset(&standard);
  for (int sig = 1; sig < 32; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) sigaddset(&standard, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &standard);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &files, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&files);
  if (rc != 0) {
    *err = argv[0] + ": cannot run: " + strerror(rc);
    return false;
  }
  auto deadline = Clock::now() + std::chrono::milliseconds(kToolTimeoutMs);
  int status = 0;
  while (true) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0) {
      *err = argv[0] + ": " + strerror(errno);
      return false;
    }
    if (Clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      *err = argv[0] + ": no end after " + std::to_string(kToolTimeoutMs / 1000) + "s";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  std::string why = FirstLine(err_path);
  *err = argv[0] + (WIFEXITED(status) ? " exited with " + std::to_string(WEXITSTATUS(status))
                                      : std::string(" was killed by a signal")) +
         (why.empty() ? "" : ": " + why);
  return false;
}

// The options every tool gets: the login's option file first (the tools
// require it there), then the node's address.
std::vector<std::string> ToolArgs(const Config& cfg, const char* tool, const NodeConfig& node) {
  const std::string& cnf = cfg.admin_credentials.empty() ? cfg.credentials : cfg.admin_credentials;
  return {tool, "--defaults-extra-file=" + cnf, "--host=" + IpText(node.address),
          "--port=" + std::to_string(node.address.port)};
}

// Why the node's tail may have been acknowledged to a client; "" when
// semi-sync proves it was not: a seal its fence took, while its binlog has
// gained nothing since, or its counters now. acks_cut: the waits its fences
// cut off by now.
std::string WhyMaybeAcknowledged(Session* s, bool semi_sync, const WriterSemiSyncSeen& seen, const TailSeal& seal,
                                 int64_t acks_cut, std::string* err) {
  if (!semi_sync) return "semi_sync = no: its commits did not wait for a replica";
  if (!seen.known) return "its semi-sync was never seen on while it was the writer";
  if (seal.proven) {
    std::vector<Gtid> state;
    if (!ReadBinlogState(s, &state, err)) return "";
    if (SealProves(seal, seen, state)) return "";
  }
  WriterSemiSyncSeen now;
  if (!ReadSemiSyncNow(s, &now, err)) return "";
  return WhyMaybeAcknowledged(seen, now, acks_cut);
}

// The node's binlog from the newest file that starts with only GTIDs the
// writer has, through the end. *none: no such file (purged).
bool ReadTail(Session* s, const std::vector<Gtid>& writer_state, std::vector<BinlogEvent>* out, bool* none,
              std::string* err) {
  Table logs;
  if (!s->Run("SHOW BINARY LOGS", &logs, err)) return false;
  std::vector<std::string> files;
  for (size_t i = 0; i < logs.rows.size(); ++i) files.push_back(logs.Get(i, {"Log_name"}));
  *none = true;
  size_t start = files.size();
  while (start > 0) {
    --start;
    Table head;
    if (!s->Run("SHOW BINLOG EVENTS IN " + s->Quote(files[start]) + " LIMIT 4", &head, err)) return false;
    std::string list;
    for (size_t i = 0; i < head.rows.size(); ++i)
      if (head.Get(i, {"Event_type"}) == "Gtid_list") list = head.Get(i, {"Info"});
    std::vector<Gtid> at_start;
    if (list.size() < 2 || !ParseGtidList(list.substr(1, list.size() - 2), &at_start)) continue;
    if (WhyDiverged(at_start, writer_state, "").empty()) {
      *none = false;
      break;
    }
  }
  if (*none) return true;
  out->clear();
  for (size_t f = start; f < files.size(); ++f) {
    Table t;
    if (!s->Run("SHOW BINLOG EVENTS IN " + s->Quote(files[f]), &t, err)) return false;
    for (size_t i = 0; i < t.rows.size(); ++i) {
      BinlogEvent e;
      e.file = t.Get(i, {"Log_name"});
      e.pos = strtoull(t.Get(i, {"Pos"}).c_str(), nullptr, 10);
      e.type = t.Get(i, {"Event_type"});
      e.info = t.Get(i, {"Info"});
      out->push_back(std::move(e));
    }
  }
  return true;
}

// The record of a rewind under way, in data_dir, written before the undo
// and removed after the binlog restarted: "saved PATH", "state GTIDS" and
// "pos GTIDS" (what the node restarts at), "before GTIDS" (its
// replication position before), "reset N" (the number its binlog files
// restart at), and "undo_at GTIDS" (its binlog state just before the
// undo, logged as one transaction in kUndoDomain) lines. An older record
// lacks the last ones (complete(), marked()).
struct Pending {
  std::string saved, state, pos, before, undo_at;
  bool has_before = false, has_undo_at = false;
  uint64_t reset_to = 0;

  bool complete() const { return has_before && reset_to > 0; }
  bool marked() const { return complete() && has_undo_at; }
};

bool ReadPending(const std::string& path, Pending* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    size_t sp = line.find(' ');
    std::string key = line.substr(0, sp), value = sp == std::string::npos ? "" : line.substr(sp + 1);
    if (key == "saved") out->saved = value;
    else if (key == "state") out->state = value;
    else if (key == "pos") out->pos = value;
    else if (key == "before") {
      out->before = value;
      out->has_before = true;
    } else if (key == "reset") {
      out->reset_to = strtoull(value.c_str(), nullptr, 10);
    } else if (key == "undo_at") {
      out->undo_at = value;
      out->has_undo_at = true;
    }
  }
  return true;
}

// "binlog.000007" -> 7; 0 if it ends in no number.
uint64_t BinlogNumber(const std::string& file) {
  size_t dot = file.rfind('.');
  if (dot == std::string::npos || dot + 1 == file.size()) return 0;
  return strtoull(file.c_str() + dot + 1, nullptr, 10);
}

// RESET MASTER TO the recorded number, then the binlog state and the
// replication position of the fork, on a session that waits as long as
// the tools may: RESET MASTER can
// outlast the query timeout on a busy server. (gtid_slave_pos cannot go
// first: with gtid_strict_mode a binlog holding more refuses it.)
bool RestartBinlog(const Config& cfg, const NodeConfig& node, const Pending& p, std::string* err) {
  Session reset(node);
  return reset.Open(cfg, MysqlTimeoutSeconds(kToolTimeoutMs), err) &&
         reset.Exec("RESET MASTER TO " + std::to_string(p.reset_to), err) &&
         reset.Exec("SET GLOBAL gtid_binlog_state = " + reset.Quote(p.state), err) &&
         reset.Exec("SET GLOBAL gtid_slave_pos = " + reset.Quote(p.pos), err);
}

// The undo saved beside the tail: "rewind-db1-STAMP.sql" ->
// "rewind-db1-STAMP-undo.sql".
std::string UndoPath(const std::string& saved) {
  const std::string suffix = ".sql";
  if (saved.size() < suffix.size() || saved.compare(saved.size() - suffix.size(), suffix.size(), suffix) != 0)
    return saved + "-undo.sql";
  return saved.substr(0, saved.size() - suffix.size()) + "-undo.sql";
}

// The undo's statements (UndoStatements), from the file it was saved in.
bool ReadUndo(const std::string& undo, std::vector<std::string>* statements, std::string* err) {
  std::string flashback;
  return ReadWholeFile(undo, &flashback, err) && UndoStatements(flashback, kUndoDomain, statements, err);
}

// Runs the undo's statements on node, on a connection of its own: the one
// transaction ends with it, should mppstate end first. It is logged:
// semi-sync's primary side goes off first, or its commit would wait for an
// acknowledgement no replica sends, and a replica still connected to the
// node is cut off, as the undo must reach none.
bool ApplyUndo(const Config& cfg, const NodeConfig& node, const std::vector<std::string>& statements,
               std::string* err) {
  Session a(node);
  Table dumps;
  if (!a.Open(cfg, MysqlTimeoutSeconds(kToolTimeoutMs), err) ||
      !a.Exec("SET GLOBAL rpl_semi_sync_master_enabled = OFF", err) ||
      !a.Run("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'", &dumps, err))
    return false;
  for (const auto& r : dumps.rows) {
    std::string gone;
    if (!r.empty()) a.Exec("KILL CONNECTION " + r[0], &gone);
  }
  for (const std::string& statement : statements)
    if (!a.Exec(statement, err)) {
      std::string ignored;
      a.Exec("ROLLBACK", &ignored);
      return false;
    }
  return true;
}

// Whether the binlog, at before the undo, now holds the undo and nothing
// else: a commit of another session during it (semi-sync off told it OK)
// is not undone, and the binlog is not reset under it; the record stays,
// and the operator is asked.
bool UndoneAlone(Session* s, const std::vector<Gtid>& at, std::string* err) {
  std::vector<Gtid> now;
  if (!ReadBinlogState(s, &now, err)) return false;
  if (WhatUndoLeft(now, at, kUndoDomain) == UndoLeft::kAll) return true;
  *err = "the undo is not alone in its binlog (" + GtidListText(at) + " -> " + GtidListText(now) +
         "): another session committed during it";
  return false;
}

// InnoDB's name of a table or a foreign key ("db/name") as SQL shows it.
std::string Dotted(std::string innodb_name) {
  size_t slash = innodb_name.find('/');
  if (slash != std::string::npos) innodb_name[slash] = '.';
  return innodb_name;
}

// Whether InnoDB's name of a table may be `table` ("db.table"): one it
// cannot decode is taken to match.
bool SameTable(const std::string& innodb_name, const std::string& table) {
  std::string decoded;
  return !DecodeInnodbName(innodb_name, &decoded) || decoded == table;
}

// Why undoing the rows of `tables` would not undo everything their
// transactions changed, "" if it would: a foreign key that cascades from
// one of them (ON DELETE or ON UPDATE CASCADE or SET NULL) changes rows of
// another table that the binlog does not show. Read from InnoDB's own
// list, which PROCESS shows whole; information_schema's
// REFERENTIAL_CONSTRAINTS shows only what the login has a table privilege
// on, even with a global SELECT.
bool WhyCascades(Session* s, const std::vector<std::string>& tables, std::string* why, std::string* err) {
  if (tables.empty()) return true;
  Table t;
  // TYPE: 1 ON DELETE CASCADE, 2 ON DELETE SET NULL, 4 ON UPDATE CASCADE,
  // 8 ON UPDATE SET NULL.
  if (!s->Run("SELECT REF_NAME, FOR_NAME, ID, TYPE FROM information_schema.INNODB_SYS_FOREIGN WHERE TYPE & 15 <> 0",
              &t, err))
    return false;
  for (const auto& r : t.rows) {
    if (r.size() < 4) continue;
    for (const std::string& table : tables) {
      if (!SameTable(r[0], table)) continue;
      int type = atoi(r[3].c_str());
      const char* rule = type & 1 ? "ON DELETE CASCADE" : type & 2 ? "ON DELETE SET NULL"
                         : type & 4 ? "ON UPDATE CASCADE" : "ON UPDATE SET NULL";
      std::string child = Dotted(r[1]);
      *why = "foreign key " + Dotted(r[2]) + " of " + child + " " + rule + " changes rows of " + child + " when " + table +
             " changes, which the binlog does not show: undoing " + table + "'s rows would not undo them";
      return true;
    }
  }
  return true;
}

// The first of `tail` that a node holding `held` (binlog state, applied
// and received positions) has, or one after it from the same server:
// "" if it has none.
std::string FirstHeld(const std::vector<Gtid>& tail, const std::vector<Gtid>& held) {
  for (const Gtid& g : tail)
    if (WhyDiverged({g}, held, "").empty()) return GtidText(g);
  return "";
}

std::string GtidsText(const std::vector<Gtid>& list) {
  std::string out;
  for (size_t i = 0; i < list.size() && i < 5; ++i) out += (i ? ", " : "") + GtidText(list[i]);
  if (list.size() > 5) out += ", ... " + GtidText(list.back());
  return out;
}

}  // namespace

std::string RewindPendingPath(const Config& cfg, const NodeConfig& node) {
  return cfg.data_dir + "/rewind-" + node.name + ".pending";
}

StepOutcome RewindNode(const Config& cfg, const NodeConfig& node, const NodeConfig& writer,
                       const std::vector<NodeConfig>& others, bool semi_sync, const WriterSemiSyncSeen& seen,
                       const TailSeal& seal, int64_t acks_cut) {
  std::string err, why;
  Session w(writer);
  if (!w.Open(cfg, QuerySeconds(cfg), &err)) return Fail(err);
  Session s(node);
  if (!s.Open(cfg, QuerySeconds(cfg), &err)) return Fail(err);
  if (!s.maria() || !w.maria()) return Fail(node.name + ": a rewind needs MariaDB on both " + node.name + " and " +
                                            writer.name);
  Holdings h;
  if (!ReadHoldings(&s, &h, &err) || !Divergence(&w, node.name, h, &why, &err)) return Fail(err);
  std::string pending_path = RewindPendingPath(cfg, node);
  Pending pending;
  bool cut_off = ReadPending(pending_path, &pending);
  if (why.empty() && !cut_off)
    return Done(node.name + ": holds nothing " + writer.name + " lacks: nothing to rewind");
  auto refuse = [&](const std::string& reason) { return StepOutcome{false, why + " (rewind refused: " + reason + ")", true}; };
  if (!h.read_only) return Fail(node.name + ": writable, not rewound before it is fenced");
  Table t;
  if (!s.Run(s.ShowStatus(), &t, &err)) return Fail(err);
  std::string source = t.rows.empty() ? "" : t.Get(0, {"Master_Host"}) + ":" + t.Get(0, {"Master_Port"});
  if (cut_off) {
    // A rewind cut off (mppstate stopped, a lost connection) is finished
    // where it stopped after its own RESET MASTER TO N: the oldest binlog
    // file is number N and the binlog state empty, or, once the binlog
    // state is set (which restarts the binlog at file 1 on MariaDB 10.11),
    // one file, number 1, and the recorded binlog state; and the
    // replication position the one before or the recorded one. A node
    // rebuilt since (a RESET MASTER of its own, a position of its own) does
    // not match: its record is stale, and replaying from the fork would
    // apply again what it has.
    std::vector<Gtid> recorded, state, slave, pos, before;
    Table st, logs;
    bool read = pending.complete() && t.rows.empty() && s.Run("SHOW BINARY LOGS", &logs, &err) &&
                !logs.rows.empty() && s.Run("SELECT @@gtid_binlog_state, @@gtid_slave_pos", &st, &err) &&
                !st.rows.empty() && st.rows[0].size() == 2 && ParseGtidList(st.rows[0][0], &state) &&
                ParseGtidList(st.rows[0][1], &slave) && ParseGtidList(pending.state, &recorded) &&
                ParseGtidList(pending.pos, &pos) && ParseGtidList(pending.before, &before);
    uint64_t first = read ? BinlogNumber(logs.Get(0, {"Log_name"})) : 0;
    bool reset_done =
        read &&
        ((first == pending.reset_to && (state.empty() || SameGtids(state, recorded))) ||
         (first == 1 && logs.rows.size() == 1 && !recorded.empty() && SameGtids(state, recorded))) &&
        (SameGtids(slave, pos) || SameGtids(slave, before));
    // Cut off before its RESET MASTER: the undo, one logged transaction,
    // committed whole or not at all, and the binlog says which, if nothing
    // else committed since. One that never committed is applied again (a
    // tail is transactional: core/binlog_tail.h).
    bool undone_again = false;
    std::string seen_state;  // what the binlog showed, for the operator
    if (!reset_done && pending.marked() && t.rows.empty()) {
      // The undo of an mppstate that ended may still be committing, on a
      // connection the server has not closed yet: it is waited for.
      Table trx;
      err.clear();
      if (!s.Run("SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id <> CONNECTION_ID() "
                 "AND (trx_rows_modified > 0 OR trx_state = 'LOCK WAIT')",
                 &trx, &err))
        return Fail(err);
      if (trx.First() != "0")
        return Fail(node.name + ": finishing the rewind cut off after " + pending.saved + ": " + trx.First() +
                    " transactions under way on it; waiting for them to end");
      std::vector<Gtid> now, at;
      if (!ReadBinlogState(&s, &now, &err)) return Fail(err);
      UndoLeft left = ParseGtidList(pending.undo_at, &at) ? WhatUndoLeft(now, at, kUndoDomain) : UndoLeft::kUnknown;
      seen_state = " (its binlog state is " + GtidListText(now) + "; it was " + pending.undo_at + " before the undo)";
      if (left == UndoLeft::kNone) {
        std::vector<std::string> statements;
        if (!ReadUndo(UndoPath(pending.saved), &statements, &err) || !ApplyUndo(cfg, node, statements, &err) ||
            !UndoneAlone(&s, at, &err))
          return Fail(node.name + ": applying again the undo of the rewind cut off after " + pending.saved + ": " +
                      err);
        undone_again = true;
      }
      reset_done = left == UndoLeft::kAll || undone_again;
    }
    if (!reset_done)
      return Fail(node.name + ": a rewind of it was cut off after it saved " + pending.saved +
                  "; whether its undo was applied is unknown" + seen_state +
                  ": compare the rows with that file, then remove " + pending_path);
    if (!RestartBinlog(cfg, node, pending, &err))
      return Fail(node.name + ": finishing the rewind cut off after " + pending.saved + ": " + err);
    unlink(pending_path.c_str());
    return Done(node.name + ": the rewind cut off after " + pending.saved + " is finished" +
                (undone_again ? " (its undo had not committed: applied again)" : "") + "; its binlog restarts at " +
                (pending.state.empty() ? "nothing" : pending.state));
  }
  if (!source.empty())
    return refuse("it replicates from " + source + ": only a node that replicates from nobody is rewound");
  // A commit still waiting for its acknowledgement (from a login read_only
  // does not stop) is in the binlog, and the counters do not show it yet:
  // it may still be told OK. The rewind waits for it to end. One that
  // starts later changes the binlog, which is compared below.
  int64_t committing = 0;
  std::vector<Gtid> state_before;
  if (!SessionsCommitting(&s, &committing, &err) || !ReadBinlogState(&s, &state_before, &err)) return Fail(err);
  if (committing > 0)
    return Fail(node.name + ": " + std::to_string(committing) + " sessions committing on it; waiting for them to end");
  // The tail is what the writer's binlog lacks: a writer that applied
  // transactions without logging them has more than its binlog shows, and
  // undoing by its binlog could undo what it has.
  GtidHistory writer_history;
  if (!ReadHistory(&w, &writer_history, &err)) return Fail(err);
  std::vector<Gtid> unlogged = UnloggedSlavePos(writer_history);
  if (!unlogged.empty()) {
    std::string cause;
    if (!ReadUnloggedCause(&w, &cause, &err)) return Fail(err);
    return refuse(writer.name + " applied " + GtidListText(unlogged) + " as a replica without logging it" +
                  (cause.empty() ? "" : " (" + cause + ")") + ": its binlog does not show all it has");
  }
  // A replica that received the tail may have acknowledged it: the tail is
  // then a commit a client was told of, on that replica alone. One that
  // holds what the writer lacks is checked against the tail below: it may
  // have diverged on its own (an ex-writer of its own tail).
  std::vector<std::pair<std::string, Holdings>> diverged_others;
  for (const NodeConfig& other : others) {
    Session o(other);
    Holdings oh;
    std::string owhy;
    if (!o.Open(cfg, QuerySeconds(cfg), &err) || !ReadHoldings(&o, &oh, &err) ||
        !Divergence(&w, other.name, oh, &owhy, &err))
      return refuse(other.name + " cannot be checked (" + err + "): it may have acknowledged what " + node.name +
                    " has");
    if (!owhy.empty()) diverged_others.emplace_back(other.name, oh);
  }
  err.clear();
  std::string maybe = WhyMaybeAcknowledged(&s, semi_sync, seen, seal, acks_cut, &err);
  if (!err.empty()) return Fail(err);
  if (!maybe.empty()) return refuse(maybe);
  if (!s.Run("SELECT @@binlog_row_image", &t, &err)) return Fail(err);
  if (t.First() != "FULL") return refuse("binlog_row_image is " + t.First() + ": only full row images can be undone");

  std::vector<Gtid> writer_state;
  if (!ReadBinlogState(&w, &writer_state, &err)) return Fail(err);
  std::vector<BinlogEvent> events;
  bool none = false;
  if (!ReadTail(&s, writer_state, &events, &none, &err)) return Fail(err);
  if (none) return refuse("no binlog file of " + node.name + " starts before the fork: they were purged");
  RewindTail tail = FindRewindTail(events, writer_state, writer.name);
  if (!tail.refused.empty()) return refuse(tail.refused);
  if (tail.extra.empty())
    return refuse("what " + writer.name + " lacks is not in " + node.name + "'s binlog (received, not applied)");
  for (const auto& [other, oh] : diverged_others) {
    std::string held = FirstHeld(tail.extra, oh.held);
    if (!held.empty())
      return refuse(other + " holds " + held + " of it too, which " + writer.name + " lacks: it may have acknowledged it");
  }
  if (!s.Run("SELECT @@server_id", &t, &err)) return Fail(err);
  std::string foreign = WhyNotOwnTail(tail, static_cast<uint32_t>(strtoul(t.First().c_str(), nullptr, 10)),
                                      node.name);
  if (!foreign.empty()) return refuse(foreign);
  std::string cascade;
  if (!WhyCascades(&s, tail.tables, &cascade, &err)) return Fail(err);
  if (!cascade.empty()) return refuse(cascade);

  // The undone transactions are kept, replayable, before anything changes.
  std::string base = cfg.data_dir + "/rewind-" + node.name + "-" + UtcStamp();
  std::string saved = base + ".sql", undo = base + "-undo.sql", errors = base + ".err";
  std::vector<std::string> dump = ToolArgs(cfg, "mariadb-binlog", node);
  dump.insert(dump.end(), {"--read-from-remote-server", "--start-position=" + std::to_string(tail.start_pos),
                           "--to-last-log", tail.start_file});
  // A failed attempt leaves nothing behind: it is retried every round.
  auto discard = [&] {
    unlink(saved.c_str());
    unlink(undo.c_str());
    unlink(errors.c_str());
  };
  if (!RunTool(dump, "", saved, errors, &err)) {
    discard();
    return Fail(node.name + ": saving the tail: " + err);
  }
  std::vector<std::string> inverse = dump;
  inverse.insert(inverse.begin() + 4, "--flashback");
  std::string flashback, not_one;
  std::vector<std::string> statements;
  std::vector<Gtid> undo_at;
  if (!RunTool(inverse, "", undo, errors, &err) || !ReadWholeFile(undo, &flashback, &err)) {
    discard();
    return Fail(node.name + ": inverting the tail: " + err);
  }
  if (!UndoStatements(flashback, kUndoDomain, &statements, &not_one)) {
    discard();
    return refuse(not_one);
  }
  if (!ReadBinlogState(&s, &undo_at, &err)) {
    discard();
    return Fail(err);
  }
  if (GtidListText(undo_at) != GtidListText(state_before)) {
    discard();
    return Fail(node.name + ": its binlog grew during the rewind (" + GtidListText(state_before) + " -> " +
                GtidListText(undo_at) + "); tried again");
  }
  for (const Gtid& g : undo_at)
    if (g.domain == kUndoDomain) {
      discard();
      return refuse("its binlog has GTIDs of domain " + std::to_string(kUndoDomain) + ", which the undo is logged in");
    }
  // From here on, a cut-off rewind is known: the undo and the restart of
  // the binlog cannot be one transaction.
  // Its binlog files restart at the next number: a node that an operator
  // rebuilt with a RESET MASTER of their own is told from one this rewind
  // cut off (binlog.000001).
  Table logs;
  if (!s.Run("SELECT @@gtid_slave_pos", &t, &err) || !s.Run("SHOW BINARY LOGS", &logs, &err) || logs.rows.empty()) {
    discard();
    return Fail(err.empty() ? node.name + ": no binary logs" : err);
  }
  pending.saved = saved;
  pending.state = GtidListText(tail.state_at_fork);
  pending.pos = GtidListText(tail.pos_at_fork);
  pending.before = t.First();
  pending.reset_to = BinlogNumber(logs.Get(logs.rows.size() - 1, {"Log_name"})) + 1;
  pending.undo_at = GtidListText(undo_at);
  if (!WriteFileDurable(pending_path,
                        "saved " + pending.saved + "\nstate " + pending.state + "\npos " + pending.pos + "\nbefore " +
                            pending.before + "\nreset " + std::to_string(pending.reset_to) + "\nundo_at " +
                            pending.undo_at + "\n",
                        0600, &err))
    return Fail(node.name + ": " + err);
  if (!ApplyUndo(cfg, node, statements, &err) || !UndoneAlone(&s, undo_at, &err))
    return Fail(node.name + ": applying the inverse (" + undo + "): " + err);

  // Its binlog restarts where it forked: what it had since is undone, and
  // what it shared is in the writer's, which it replicates from next.
  const std::string& state = pending.state;
  if (!RestartBinlog(cfg, node, pending, &err))
    return Fail(node.name + ": undone, but its binlog was not restarted at " + state + ": " + err);
  unlink(pending_path.c_str());
  return Done(node.name + ": rewound " + std::to_string(tail.extra.size()) + " transaction" +
              (tail.extra.size() == 1 ? "" : "s") + " " + writer.name + " lacks (" + GtidsText(tail.extra) +
              "), saved in " + saved + "; its binlog restarts at " + (state.empty() ? "nothing" : state));
}

}  // namespace mpp
