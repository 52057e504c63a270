// One rule set decides who replaces a writer that is gone: the running
// daemon's failover and the election of a daemon started after the crash
// are fed the same facts and must make the same choice, or refuse alike.
#include <doctest/doctest.h>

#include <random>
#include <string>

#include "tests/unit/core/eval_sim.h"

namespace mpp {
namespace {

// What one standby shows from the crash on, and its last poll before it.
struct StandbyFacts {
  PollOutcome before = PollOutcome::kOk;  // its last poll before the crash
  bool connecting_before = false;         // ... answered, IO thread reconnecting
  int64_t lag_before = 0;
  PollResult after;
};

struct Facts {
  bool semi_sync = false;
  int never = -1;    // a standby with promote = no (1..3: db2..db4), or -1
  int delayed = -1;  // a standby with MASTER_DELAY, or -1
  std::vector<StandbyFacts> standbys;  // db2, db3, db4
};

Facts Draw(std::mt19937_64& rng, const Sim& s) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  Facts f;
  f.semi_sync = pick(3) == 0;
  if (pick(4) == 0) f.never = 1 + pick(3);
  if (pick(5) == 0) f.delayed = 1 + pick(3);
  for (int i = 0; i < 3; ++i) {
    StandbyFacts sf;
    const PollOutcome unclean[] = {PollOutcome::kOk, PollOutcome::kTimeout, PollOutcome::kTooManyConnections,
                                   PollOutcome::kQueryError};
    sf.before = pick(2) == 0 ? PollOutcome::kOk : unclean[pick(4)];
    sf.connecting_before = sf.before == PollOutcome::kOk && pick(3) == 0;
    sf.lag_before = pick(3) == 0 ? 40 + pick(100) : pick(20);  // max_promote_lag is 30s
    PollResult p = s.Replica("db1", 95 + static_cast<uint64_t>(pick(6)));
    p.repl.io = f.semi_sync || pick(2) == 0 ? IoThread::kNo : IoThread::kConnecting;
    p.repl.lag_s = -1;
    if (pick(5) == 0) p.repl.sql_running = false;
    if (pick(6) == 0) p.repl.sql_errno = 1062;
    if (pick(4) == 0) p.repl.relay_applied = false;
    if (static_cast<int>(i) + 1 == f.delayed) p.repl.delay_s = 3600;
    if (pick(8) == 0) p = Sim::Failed(pick(2) == 0 ? PollOutcome::kRefused : PollOutcome::kTimeout);
    sf.after = p;
    f.standbys.push_back(sf);
  }
  return f;
}

void Configure(Sim& s, const Facts& f) {
  for (PoolConfig& p : s.cfg.pools) {
    p.manage_read_only = true;
    p.manage_replication = true;
    p.semi_sync = f.semi_sync;
  }
  if (f.never >= 0) s.cfg.nodes[static_cast<size_t>(f.never)].promote = false;
}

void Crash(Sim& s, const Facts& f) {
  s.W("db1") = Sim::Failed();
  for (size_t i = 0; i < f.standbys.size(); ++i) s.world[i + 1] = f.standbys[i].after;
}

// The running daemon: a healthy pool with the standbys' lags, one last
// poll before the crash (clean or not), then the crash.
Sim Running(const Facts& f) {
  Sim s(PoolConfigText(4));
  Configure(s, f);
  s.HealthyPool();
  s.Rounds(3);
  REQUIRE(s.St("db1") == State::kActive);
  for (size_t i = 0; i < f.standbys.size(); ++i) s.world[i + 1] = s.Replica("db1", 95, f.standbys[i].lag_before);
  s.Rounds(2);
  for (size_t i = 0; i < f.standbys.size(); ++i) {
    const StandbyFacts& sf = f.standbys[i];
    if (sf.before != PollOutcome::kOk) s.world[i + 1] = Sim::Failed(sf.before);
    else if (sf.connecting_before) s.world[i + 1] = Sim::SourceLost(s.Replica("db1", 95));
  }
  s.Round();
  Crash(s, f);
  s.Rounds(8);
  return s;
}

// A daemon started after the crash, which recorded db1 as the ACTIVE.
Sim Restarted(const Facts& f) {
  Sim s(PoolConfigText(4), {{"db1", State::kActive}});
  Configure(s, f);
  Crash(s, f);
  s.Rounds(8);
  return s;
}

int Active(const Sim& s) { return s.ev.ActiveOf(s.cfg, 0); }

TEST_CASE("Eligibility property: a failover and a start-up election choose alike from the same facts") {
  std::mt19937_64 rng(20261207);
  int chosen = 0, refused = 0;
  for (int i = 0; i < 3000; ++i) {
    Sim shape(PoolConfigText(4));
    Facts f = Draw(rng, shape);
    Sim running = Running(f);
    Sim restarted = Restarted(f);
    int a = Active(running) == running.Node("db1") ? -1 : Active(running);
    int b = Active(restarted);
    std::string facts;
    for (const StandbyFacts& sf : f.standbys)
      facts += std::string(" [") + PollOutcomeName(sf.before) + (sf.connecting_before ? " connecting" : "") +
               " lag " + std::to_string(sf.lag_before) + " -> " + PollOutcomeName(sf.after.outcome) +
               " sql " + std::to_string(sf.after.repl.sql_running) + "/" + std::to_string(sf.after.repl.sql_errno) +
               " applied " + std::to_string(sf.after.repl.relay_applied) + " got " +
               std::to_string(sf.after.repl.received.gtid.count("0") ? sf.after.repl.received.gtid.at("0") : 0) + "]";
    INFO("case " << i << std::string(f.semi_sync ? " semi_sync" : "") << " never " << f.never << " delayed "
                  << f.delayed << facts);
    INFO("running: " << running.ev.pools[0].note << "; restarted: " << restarted.ev.pools[0].note);
    CHECK(a == b);
    // Never a node that may not be the writer.
    CHECK((a < 0 || (a != f.never && a != f.delayed)));
    if (a >= 0) {
      ++chosen;
      continue;
    }
    ++refused;
    // Nobody chosen: each note says why, for each standby that answers
    // (with semi_sync, why the one that received the most cannot be).
    bool semi_blocked = running.ev.pools[0].note.find("semi_sync") != std::string::npos;
    CHECK(semi_blocked == (restarted.ev.pools[0].note.find("semi_sync") != std::string::npos));
    for (const char* name : {"db2", "db3", "db4"}) {
      if (semi_blocked) break;
      if (running.W(name).outcome != PollOutcome::kOk) continue;
      CHECK(running.ev.pools[0].note.find(name) != std::string::npos);
      CHECK(restarted.ev.pools[0].note.find(name) != std::string::npos);
    }
  }
  MESSAGE("cases with a writer chosen: " << chosen << ", refused by both: " << refused);
  CHECK(chosen > 100);
  CHECK(refused > 100);
}

TEST_CASE("Eligibility: a standby whose last poll before the crash was not clean is promoted once it has applied") {
  for (PollOutcome o : {PollOutcome::kTimeout, PollOutcome::kTooManyConnections}) {
    Sim s(PoolConfigText(2));
    s.HealthyPool();
    s.Rounds(3);
    s.W("db2") = Sim::Failed(o);
    s.Round();
    s.W("db1") = Sim::Failed();
    s.W("db2") = Sim::SourceLost(s.Replica("db1"));
    s.Rounds(3);
    CHECK(s.St("db2") == State::kActive);
    CHECK(s.St("db1") == State::kFail);
  }
}

TEST_CASE("Eligibility: every standby lagging is named with its lag, and the first to catch up is promoted") {
  Sim s(PoolConfigText(3, "max_promote_lag = 5s\n"));
  s.HealthyPool();
  s.Rounds(3);
  s.W("db2") = s.Replica("db1", 100, 40);
  s.W("db3") = s.Replica("db1", 100, 70);
  s.W("db2").repl.relay_applied = false;
  s.W("db3").repl.relay_applied = false;
  s.Round();  // the lags before the trouble; max_lag keeps them STANDBY
  s.W("db1") = Sim::Failed();
  s.W("db2") = Sim::SourceLost(s.W("db2"));
  s.W("db3") = Sim::SourceLost(s.W("db3"));
  s.Rounds(4);
  CHECK(s.St("db1") == State::kActive);
  const std::string& note = s.ev.pools[0].note;
  CHECK(note.find("db2: relay log not applied yet (lag 40s before the trouble > max_promote_lag 5s)") !=
        std::string::npos);
  CHECK(note.find("db3: relay log not applied yet (lag 70s before the trouble > max_promote_lag 5s)") !=
        std::string::npos);
  s.W("db3").repl.relay_applied = true;  // db3 caught up first
  s.Round();
  CHECK(s.St("db3") == State::kActive);
  CHECK(s.St("db1") == State::kFail);
}

TEST_CASE("Eligibility: a standby still receiving from a failing writer is refused while its lag is too high") {
  Sim s(PoolConfigText(2, "max_promote_lag = 5s\nmax_lag = 1h\n"));
  s.HealthyPool();
  s.Rounds(3);
  s.W("db1") = Sim::Failed(PollOutcome::kQueryError);  // the check fails, replication goes on
  s.W("db2") = s.Replica("db1", 100, 40);
  s.Rounds(4);
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.ev.pools[0].note.find("db2: lag 40s > max_promote_lag 5s") != std::string::npos);
  s.W("db2") = s.Replica("db1", 100, 2);
  s.Round();
  CHECK(s.St("db2") == State::kActive);
}

TEST_CASE("Eligibility: a standby cut off before the crash waits for one that received more") {
  for (bool by_error : {true, false}) {
    Sim s(PoolConfigText(3));
    s.HealthyPool();
    s.Rounds(3);
    // db2 stops receiving: its replication login is refused (an error of
    // the server), or its connection keeps failing for 40 s.
    PollResult cut = s.Replica("db1", 90);
    cut.repl.io = IoThread::kConnecting;
    cut.repl.io_errno = by_error ? 1045 : 2003;
    cut.repl.lag_s = -1;
    s.W("db2") = cut;
    s.Rounds(by_error ? 2 : 40);
    s.W("db1") = Sim::Failed();
    s.W("db2").repl.io_errno = by_error ? 1045 : 2003;
    s.W("db3") = Sim::SourceLost(s.Replica("db1", 110));
    s.W("db3").repl.relay_applied = false;  // still applying what it received
    s.Rounds(3);
    INFO(s.ev.pools[0].note);
    CHECK(s.St("db1") == State::kActive);
    CHECK(s.ev.pools[0].note.find(by_error ? "db2: IO thread error 1045, and db3 received more"
                                           : "db2: not receiving from db1 for ") != std::string::npos);
    s.W("db3").repl.relay_applied = true;
    s.Round();
    CHECK(s.St("db3") == State::kActive);
  }
}

TEST_CASE("Eligibility: a standby cut off before the crash is chosen when nobody received more") {
  Sim s(PoolConfigText(2));
  s.HealthyPool();
  s.Rounds(3);
  PollResult cut = s.Replica("db1", 90);
  cut.repl.io = IoThread::kConnecting;
  cut.repl.io_errno = 1045;
  s.W("db2") = cut;
  s.Rounds(2);
  s.W("db1") = Sim::Failed();
  s.Rounds(3);
  CHECK(s.St("db2") == State::kActive);  // the best there is
}

}  // namespace
}  // namespace mpp
