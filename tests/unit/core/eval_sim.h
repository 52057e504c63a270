// A small simulator for the evaluation core: a "world" of poll results that
// tests change, and rounds that feed it to Evaluate().
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "config/config.h"
#include "core/evaluation.h"

namespace mpp {

inline Config ParseOrDie(const std::string& text) {
  Config cfg;
  std::vector<std::string> errors;
  bool ok = ParseConfig(text, "test.ini", &cfg, &errors);
  for (const std::string& e : errors) FAIL(e);
  REQUIRE(ok);
  return cfg;
}

// A pool of n nodes db1..dbn on 127.0.0.1:3301.., with an rw and an ro vs.
inline std::string PoolConfigText(int n, const std::string& pool_extra = "") {
  std::string text = "[global]\ninterval = 1s\n[pool main]\nnodes = ";
  for (int i = 1; i <= n; ++i) text += (i > 1 ? ", db" : "db") + std::to_string(i);
  text += "\n" + pool_extra;
  for (int i = 1; i <= n; ++i)
    text += "[node db" + std::to_string(i) + "]\naddress = 127.0.0.1:" + std::to_string(3300 + i) + "\n";
  text += "[vs writer]\naddress = 192.0.2.10:3306\npool = main\nrole = rw\n";
  text += "[vs reader]\naddress = 192.0.2.10:3307\npool = main\nrole = ro\n";
  return text;
}

struct Sim {
  Config cfg;
  Evaluation ev;
  std::vector<PollResult> world;  // what the next round's polls return
  // Two clocks, as in the daemon: the wall clock (tests may step it, like
  // NTP or an operator) and the monotonic one, which only moves forward.
  int64_t now_ms = 1700000000000;
  int64_t mono_ms = 3600000;
  std::vector<CommandResult> results;

  explicit Sim(const std::string& text, const std::vector<std::pair<std::string, State>>& recorded = {})
      : cfg(ParseOrDie(text)), ev(InitialEvaluation(cfg, recorded)), world(cfg.nodes.size()) {}

  int Node(const std::string& name) const { return cfg.FindNode(name); }
  PollResult& W(const std::string& name) { return world[static_cast<size_t>(Node(name))]; }
  const NodeEval& N(const std::string& name) const { return ev.nodes[static_cast<size_t>(Node(name))]; }
  State St(const std::string& name) const { return N(name).state; }
  Status Stat(const std::string& name) const { return N(name).status; }

  // A writable server that replicates from nobody.
  PollResult Writer() const {
    PollResult p;
    p.outcome = PollOutcome::kOk;
    p.read_only = false;
    return p;
  }
  // A healthy read-only replica of `source` that received up to seq.
  PollResult Replica(const std::string& source, uint64_t seq = 100, int64_t lag = 0) const {
    PollResult p;
    p.outcome = PollOutcome::kOk;
    p.read_only = true;
    p.repl.configured = true;
    p.repl.source = cfg.nodes[static_cast<size_t>(Node(source))].address;
    p.repl.source_text = "127.0.0.1:" + std::to_string(p.repl.source.port);
    p.repl.io = IoThread::kYes;
    p.repl.sql_running = true;
    p.repl.lag_s = lag;
    p.repl.relay_applied = true;
    p.repl.received.gtid["0"] = seq;
    return p;
  }
  // The monitor could not poll the node (no thread, no descriptor).
  static PollResult MonitorError() {
    PollResult p;
    p.outcome = PollOutcome::kMonitorError;
    p.error = "cannot start a poll thread: Resource temporarily unavailable";
    return p;
  }
  static PollResult Failed(PollOutcome o = PollOutcome::kRefused) {
    PollResult p;
    p.outcome = o;
    p.error = "Can't connect";
    p.error_code = o == PollOutcome::kRefused ? 2003 : 2013;
    return p;
  }
  // The replica's view once its source died.
  static PollResult SourceLost(PollResult p) {
    p.repl.io = IoThread::kConnecting;
    p.repl.io_errno = 2003;
    p.repl.io_error = "error reconnecting to master";
    p.repl.lag_s = -1;
    return p;
  }

  // db1 writer, the others its replicas; every node healthy.
  void HealthyPool() {
    W("db1") = Writer();
    for (size_t i = 1; i < cfg.nodes.size(); ++i) world[i] = Replica("db1");
  }

  void Round(std::vector<Command> commands = {}) {
    RoundInput in;
    in.now_ms = now_ms;
    in.mono_ms = mono_ms;
    in.polls = world;
    in.commands = std::move(commands);
    results.clear();
    ev = Evaluate(cfg, ev, in, &results);
    now_ms += cfg.interval_ms;
    mono_ms += cfg.interval_ms;
    if (worker) Sever();
  }
  // What the worker and the daemon do with a failover's first phase
  // (core/topology.h, kSever): the replicas stop receiving from the failing
  // writer, and each one's poll is taken again at once.
  bool worker = true;
  void Sever() {
    std::vector<std::pair<std::string, PollResult>> severed;
    for (const PoolEval& pe : ev.pools)
      for (int n : pe.severing) {
        PollResult& p = world[static_cast<size_t>(n)];
        p.repl.io = IoThread::kNo;
        p.repl.io_errno = 0;
        p.repl.io_error.clear();
        severed.emplace_back(cfg.nodes[static_cast<size_t>(n)].name, p);
      }
    if (!severed.empty()) Between(severed);
  }
  void Rounds(int n) {
    for (int i = 0; i < n; ++i) Round();
  }
  // An evaluation between rounds, 30 ms later: the confirmation polls of
  // some nodes (the others bring no news) and commands.
  void Between(const std::vector<std::pair<std::string, PollResult>>& polls, std::vector<Command> commands = {}) {
    RoundInput in;
    in.between_rounds = true;
    in.now_ms = now_ms;
    in.mono_ms = mono_ms;
    in.polls.resize(cfg.nodes.size());
    for (const auto& [name, p] : polls) in.polls[static_cast<size_t>(Node(name))] = p;
    in.commands = std::move(commands);
    results.clear();
    ev = Evaluate(cfg, ev, in, &results);
    now_ms += 30;
    mono_ms += 30;
    if (worker) Sever();
  }
  // An evaluation of a director pair's follower: this round's polls, the
  // STATEs of the published decision d.
  void Follow(const PublishedDecision& d, const std::string& note = "following", bool expired = false,
              std::vector<Command> commands = {}) {
    RoundInput in;
    in.now_ms = now_ms;
    in.mono_ms = mono_ms;
    in.polls = world;
    in.follow = &d;
    in.follow_note = note;
    in.follow_expired = expired;
    in.commands = std::move(commands);
    results.clear();
    ev = Evaluate(cfg, ev, in, &results);
    now_ms += cfg.interval_ms;
    mono_ms += cfg.interval_ms;
  }
  void Isolated() {
    RoundInput in;
    in.now_ms = now_ms;
    in.mono_ms = mono_ms;
    in.polls = world;
    in.isolated = true;
    ev = Evaluate(cfg, ev, in, nullptr);
    now_ms += cfg.interval_ms;
    mono_ms += cfg.interval_ms;
  }

  bool Up(const std::string& vs, const std::string& node) const {
    int v = cfg.FindVs(vs);
    const PoolConfig& pool = cfg.pools[static_cast<size_t>(cfg.vss[static_cast<size_t>(v)].pool)];
    for (size_t i = 0; i < pool.nodes.size(); ++i)
      if (pool.nodes[i] == Node(node)) return ev.decisions[static_cast<size_t>(v)][i].up;
    FAIL("node not in vs");
    return false;
  }

  int ActiveCount() const {
    int n = 0;
    for (const NodeEval& ne : ev.nodes) n += ne.state == State::kActive;
    return n;
  }
};

}  // namespace mpp

namespace doctest {
template <>
struct StringMaker<mpp::State> {
  static String convert(mpp::State s) { return mpp::StateName(s); }
};
template <>
struct StringMaker<mpp::Status> {
  static String convert(mpp::Status s) { return mpp::StatusName(s); }
};
}  // namespace doctest
