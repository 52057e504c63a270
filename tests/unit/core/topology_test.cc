// The desired topology and the plan towards it (core/topology.h), on
// evaluations made by the real core from simulated polls.
#include "core/topology.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/unit/core/eval_sim.h"

namespace mpp {
namespace {

// What the config parser sets for `manage_replication = yes` (which implies
// manage_read_only) and `rejoin = ...`.
void ManageReplication(Sim& s, RejoinMode rejoin = RejoinMode::kManual) {
  for (PoolConfig& p : s.cfg.pools) {
    p.manage_read_only = true;
    p.manage_replication = true;
    p.rejoin = rejoin;
  }
}

// The plan as one line: "fence db2; promote db1 (stop replication);
// attach db3 -> db1".
std::string PlanText(const Sim& s) {
  std::string out;
  for (const TopologyStep& st : PlanTopology(s.cfg, s.ev)) {
    out += out.empty() ? "" : "; ";
    out += std::string(TopologyStepName(st.kind)) + " " + s.cfg.nodes[static_cast<size_t>(st.node)].name;
    if (st.source >= 0) out += " -> " + s.cfg.nodes[static_cast<size_t>(st.source)].name;
    if (st.stop_replication) out += " (stop replication)";
    if (st.semi_sync) out += " (semi-sync)";
    if (st.admin_evidence) out += " (if the admin login sees it needed)";
    if (st.kind == TopologyStepKind::kSemiSync)
      out += st.node == st.source ? " (primary)" : st.semi_replica ? " (replica)" : " (primary off)";
  }
  return out;
}

const TopologyStep* FindStep(const std::vector<TopologyStep>& plan, TopologyStepKind kind, int node) {
  for (const TopologyStep& st : plan)
    if (st.kind == kind && st.node == node) return &st;
  return nullptr;
}

TEST_CASE("Topology: a node whose poll failed but may answer the admin login is fenced on what that login sees") {
  for (PollOutcome o : {PollOutcome::kQueryError, PollOutcome::kTimeout, PollOutcome::kTooManyConnections,
                        PollOutcome::kAccessDenied}) {
    Sim s(PoolConfigText(3));
    ManageReplication(s);
    s.HealthyPool();
    s.Rounds(2);
    s.W("db1") = Sim::Failed(o);
    for (const char* n : {"db2", "db3"}) s.W(n) = Sim::SourceLost(s.Replica("db1"));
    s.Rounds(4);
    if (o == PollOutcome::kTooManyConnections || o == PollOutcome::kAccessDenied) {
      // Alive: it stays the writer, and its read_only is checked the same way.
      REQUIRE(s.St("db1") == State::kActive);
      CHECK(PlanText(s) == "promote db1 (stop replication) (if the admin login sees it needed)");
      continue;
    }
    REQUIRE(s.St("db2") == State::kActive);
    s.W("db2") = s.Writer();
    s.Round();
    CHECK(PlanText(s) == "fence db1 (if the admin login sees it needed); attach db3 -> db2");
  }
}

TEST_CASE("Topology: a node nothing answers on is neither fenced nor promoted on anyone's word") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  s.HealthyPool();
  s.Rounds(2);
  s.W("db2") = Sim::Failed(PollOutcome::kRefused);
  s.Round();
  CHECK(PlanText(s) == "");
  s.W("db2") = s.Replica("db1");
  s.W("db1") = Sim::Failed(PollOutcome::kRefused);
  s.Round();
  CHECK(PlanText(s) == "");  // one failed poll: still the ACTIVE, and not reachable
}

std::string Wanted(const Sim& s, const std::string& node) { return WantedTopology(s.cfg, s.ev, s.Node(node)); }
std::string Seen(const Sim& s, const std::string& node) { return SeenTopology(s.cfg, s.ev, s.Node(node)); }

// db1 ACTIVE, the others its healthy STANDBYs.
void Elected(Sim& s) {
  s.HealthyPool();
  s.Round();
  REQUIRE(s.St("db1") == State::kActive);
}

// db1 died and db2 took over; every survivor still replicates from db1
// (what the databases look like before MPP has changed anything).
void FailedOver(Sim& s) {
  s.HealthyPool();
  s.Rounds(2);
  s.W("db1") = Sim::Failed();
  for (size_t i = 1; i < s.world.size(); ++i) s.world[i] = Sim::SourceLost(s.world[i]);
  s.Rounds(2);
  REQUIRE(s.St("db2") == State::kActive);
  REQUIRE(s.St("db1") == State::kFail);
  REQUIRE(s.N("db1").demoted);
}

// semi_sync = yes on every pool (manage_replication already set), and the
// world as MPP leaves it: the writer the primary side, the others the
// replica side.
void SemiSyncPools(Sim& s) {
  for (PoolConfig& p : s.cfg.pools) p.semi_sync = true;
}

SemiSync Semi(bool primary, bool replica, bool after_sync = true) {
  SemiSync out;
  out.known = true;
  out.primary = primary;
  out.replica = replica;
  out.after_sync = after_sync;
  return out;
}

// A managed pool with semi_sync, db1 elected, every node with the settings
// of its role.
void SemiSyncElected(Sim& s) {
  ManageReplication(s);
  SemiSyncPools(s);
  s.HealthyPool();
  for (size_t i = 0; i < s.world.size(); ++i) s.world[i].semi = Semi(i == 0, i != 0);
  s.Round();
  REQUIRE(s.St("db1") == State::kActive);
}

TEST_CASE("Topology: the step names") {
  CHECK(std::string(TopologyStepName(TopologyStepKind::kFence)) == "fence");
  CHECK(std::string(TopologyStepName(TopologyStepKind::kPromote)) == "promote");
  CHECK(std::string(TopologyStepName(TopologyStepKind::kAttach)) == "attach");
  CHECK(std::string(TopologyStepName(TopologyStepKind::kStartReplication)) == "start replication");
  CHECK(std::string(TopologyStepName(TopologyStepKind::kSemiSync)) == "semi-sync");
  CHECK(std::string(TopologyStepName(TopologyStepKind::kSever)) == "sever");
  CHECK(std::string(TopologyStepName(TopologyStepKind::kRewind)) == "rewind");
}

TEST_CASE("Topology: a pool without manage_read_only is left alone") {
  Sim s(PoolConfigText(3));
  Elected(s);
  s.W("db1").read_only = true;
  s.W("db2").read_only = false;
  s.W("db3") = s.Writer();
  s.Round();
  REQUIRE(s.St("db1") == State::kActive);
  CHECK(PlanTopology(s.cfg, s.ev).empty());
  CHECK(Wanted(s, "db1") == "");
  CHECK(Wanted(s, "db2") == "");
  // What it sees is still shown.
  CHECK(Seen(s, "db1") == "read_only, replicates from nobody");
  CHECK(Seen(s, "db2") == "writable, replica of db1 (IO yes, SQL yes)");
}

TEST_CASE("Topology: only the pools that manage read_only get steps") {
  Sim s(
      "[global]\ninterval = 1s\n"
      "[pool a]\nnodes = db1, db2\nmanage_read_only = yes\n"
      "[pool b]\nnodes = db3, db4\n"
      "[node db1]\naddress = 127.0.0.1:3301\n[node db2]\naddress = 127.0.0.1:3302\n"
      "[node db3]\naddress = 127.0.0.1:3303\n[node db4]\naddress = 127.0.0.1:3304\n"
      "[vs wa]\naddress = 192.0.2.10:3306\npool = a\nrole = rw\n"
      "[vs wb]\naddress = 192.0.2.11:3306\npool = b\nrole = rw\n");
  s.W("db1") = s.Writer();
  s.W("db2") = s.Replica("db1");
  s.W("db3") = s.Writer();
  s.W("db4") = s.Replica("db3");
  s.Round();
  REQUIRE(s.St("db1") == State::kActive);
  REQUIRE(s.St("db3") == State::kActive);
  s.W("db2").read_only = false;
  s.W("db4").read_only = false;
  s.Round();
  std::vector<TopologyStep> plan = PlanTopology(s.cfg, s.ev);
  REQUIRE(plan.size() == 1);
  CHECK(plan[0].kind == TopologyStepKind::kFence);
  CHECK(plan[0].pool == s.cfg.FindPool("a"));
  CHECK(plan[0].node == s.Node("db2"));
  CHECK(Wanted(s, "db2") == "read_only");
  CHECK(Wanted(s, "db4") == "");
}

TEST_CASE("Topology: nothing is planned before a node is ACTIVE") {
  Sim s(PoolConfigText(3, "manage_read_only = yes\n"));
  ManageReplication(s);
  s.W("db1") = s.Writer();
  s.W("db2") = s.Writer();  // writable, and nobody to defer to yet
  s.W("db3") = PollResult();  // not polled yet: the first election waits
  s.Round();
  REQUIRE(s.ActiveCount() == 0);
  CHECK(PlanTopology(s.cfg, s.ev).empty());
  CHECK(Wanted(s, "db1") == "nothing until a node is ACTIVE");
  CHECK(Wanted(s, "db2") == "nothing until a node is ACTIVE");
  CHECK(Seen(s, "db2") == "writable, replicates from nobody");
  CHECK(Seen(s, "db3") == "not polled yet");
}

TEST_CASE("Topology: nothing is planned while the monitor is isolated") {
  Sim s(PoolConfigText(3, "manage_read_only = yes\n"));
  Elected(s);
  s.W("db2").read_only = false;
  s.Round();
  CHECK(PlanText(s) == "fence db2");
  s.Isolated();
  REQUIRE(s.ev.isolated);
  CHECK(PlanTopology(s.cfg, s.ev).empty());
  s.Round();  // the checkpoints answer again
  CHECK(PlanText(s) == "fence db2");
}

TEST_CASE("Topology: a writable node that is not the ACTIVE is fenced") {
  Sim s(PoolConfigText(3, "manage_read_only = yes\n"));
  Elected(s);
  s.W("db3") = s.Writer();
  s.Round();
  std::vector<TopologyStep> plan = PlanTopology(s.cfg, s.ev);
  REQUIRE(plan.size() == 1);
  CHECK(plan[0].kind == TopologyStepKind::kFence);
  CHECK(plan[0].pool == 0);
  CHECK(plan[0].node == s.Node("db3"));
  CHECK(plan[0].source == -1);
  CHECK(plan[0].why == "db3 is writable and not the ACTIVE db1");
  CHECK(Wanted(s, "db1") == "writable");
  CHECK(Wanted(s, "db3") == "read_only");
  CHECK(Seen(s, "db3") == "writable, replicates from nobody");
}

TEST_CASE("Topology: a node whose poll did not answer is not fenced") {
  Sim s(PoolConfigText(3, "manage_read_only = yes\n"));
  Elected(s);
  s.W("db2").read_only = false;
  s.W("db3").read_only = false;
  s.Round();
  REQUIRE(PlanText(s) == "fence db2; fence db3");
  // db2's query fails halfway (what it read is not trusted); the monitor
  // cannot poll db3 at all, so its last poll, writable, is old news.
  s.W("db2") = Sim::Failed(PollOutcome::kQueryError);
  s.W("db2").read_only = false;
  s.W("db3") = Sim::MonitorError();
  s.Round();
  REQUIRE_FALSE(s.N("db3").last.read_only);
  // db2 may still answer the admin login, whose view then decides; db3's
  // old news decides nothing.
  CHECK(PlanText(s) == "fence db2 (if the admin login sees it needed)");
  CHECK(Seen(s, "db2") == "unreachable: query failed");
  CHECK(Seen(s, "db3") == "not polled (a monitor problem)");
}

TEST_CASE("Topology: a read_only ACTIVE is promoted after the fences, in order") {
  Sim s(PoolConfigText(3, "manage_read_only = yes\n"));
  Elected(s);
  s.W("db1").read_only = true;
  s.W("db2").read_only = false;
  s.W("db3").read_only = false;
  s.Round();
  REQUIRE(s.St("db1") == State::kActive);
  std::vector<TopologyStep> plan = PlanTopology(s.cfg, s.ev);
  CHECK(PlanText(s) == "fence db2; fence db3; promote db1");
  REQUIRE(plan.size() == 3);
  CHECK(plan[2].why == "db1 is the ACTIVE and read_only");
  CHECK_FALSE(plan[2].stop_replication);
  // Fenced: only the promotion is left.
  s.W("db2").read_only = true;
  s.W("db3").read_only = true;
  s.Round();
  CHECK(PlanText(s) == "promote db1");
  s.W("db1").read_only = false;
  s.Round();
  CHECK(PlanTopology(s.cfg, s.ev).empty());
}

TEST_CASE("Topology: the ACTIVE's promotion waits for an answer from it, unless it answered with an error") {
  Sim s(PoolConfigText(3, "manage_read_only = yes\n"));
  Elected(s);
  s.W("db1") = Sim::Failed(PollOutcome::kTimeout);  // one failure: still ACTIVE
  s.W("db3").read_only = false;
  s.Round();
  REQUIRE(s.St("db1") == State::kActive);
  CHECK(PlanText(s) == "fence db3");  // fences never wait
  CHECK(Seen(s, "db1") == "unreachable: timeout");
  // A server that answered, with an error, may still answer the admin
  // login; one that timed out may hang, and its failover needs the worker.
  s.W("db1") = Sim::Failed(PollOutcome::kTooManyConnections);
  s.Round();
  CHECK(PlanText(s) == "fence db3; promote db1 (if the admin login sees it needed)");
}

TEST_CASE("Topology: without manage_replication the replication is left alone") {
  Sim s(PoolConfigText(3, "manage_read_only = yes\n"));
  FailedOver(s);
  // db2 is ACTIVE, read_only, and a replica of the dead db1; db3 too.
  CHECK(PlanText(s) == "promote db2");
  CHECK(Wanted(s, "db2") == "writable");
  CHECK(Wanted(s, "db3") == "read_only");
  // Writable, it needs nothing, though it still replicates from db1.
  s.W("db2").read_only = false;
  s.Round();
  CHECK(PlanTopology(s.cfg, s.ev).empty());
}

TEST_CASE("Topology: after a failover the ACTIVE stops replicating and the others follow it") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  FailedOver(s);
  std::vector<TopologyStep> plan = PlanTopology(s.cfg, s.ev);
  CHECK(PlanText(s) == "promote db2 (stop replication); attach db3 -> db2");
  const TopologyStep* promote = FindStep(plan, TopologyStepKind::kPromote, s.Node("db2"));
  REQUIRE(promote != nullptr);
  CHECK(promote->why == "db2 is the ACTIVE and read_only, replicating from 127.0.0.1:3301");
  const TopologyStep* attach = FindStep(plan, TopologyStepKind::kAttach, s.Node("db3"));
  REQUIRE(attach != nullptr);
  CHECK(attach->source == s.Node("db2"));
  CHECK(attach->why == "db3 replicates from 127.0.0.1:3301, not from the ACTIVE db2");
  CHECK(Wanted(s, "db2") == "writable, replicates from nobody");
  CHECK(Wanted(s, "db3") == "read_only, replica of db2");
  CHECK(Seen(s, "db2") == "read_only, replica of db1 (IO no, SQL yes)");  // severed first
  CHECK(Seen(s, "db1") == "unreachable: connection refused");

  // The steps done: the databases match and nothing is left to do.
  s.W("db2") = s.Writer();
  s.W("db3") = s.Replica("db2");
  s.Round();
  CHECK(PlanTopology(s.cfg, s.ev).empty());
  CHECK(Seen(s, "db3") == "read_only, replica of db2 (IO yes, SQL yes)");
}

// Replication managed, the steps taken by hand (no simulated worker): db1
// elected, then it hangs until the failover plans to sever its replicas.
void SeverPlanned(Sim& s) {
  ManageReplication(s);
  s.worker = false;
  Elected(s);
  s.Round();
  s.W("db1") = Sim::Failed(PollOutcome::kTimeout);
  s.Rounds(2);
  REQUIRE(PlanText(s) == "sever db2 -> db1; sever db3 -> db1");
}

TEST_CASE("Topology: a failover first severs the failing writer's replicas, then chooses from frozen positions") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  s.worker = false;  // the steps are taken by hand here
  Elected(s);
  s.Round();
  // db1 hangs; db3 received more than db2 while both still listen to it.
  s.W("db1") = Sim::Failed(PollOutcome::kTimeout);
  s.W("db3").repl.received.gtid["0"] = 120;
  s.Rounds(2);
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.ev.pools[0].note == "failover: first stopping db2, db3 from receiving from db1");
  CHECK(PlanText(s) == "sever db2 -> db1; sever db3 -> db1");
  std::vector<TopologyStep> plan = PlanTopology(s.cfg, s.ev);
  const TopologyStep* sever = FindStep(plan, TopologyStepKind::kSever, s.Node("db3"));
  REQUIRE(sever != nullptr);
  CHECK(sever->why == "db1 is failing: db3 stops receiving from it before a new writer is chosen");
  // Until every reachable replica stopped, nobody is chosen.
  s.W("db2").repl.io = IoThread::kNo;
  s.Round();
  CHECK(s.St("db1") == State::kActive);
  CHECK(PlanText(s) == "sever db3 -> db1");
  // db3 stopped too, with one more transaction received meanwhile: the
  // choice is made on what they hold now.
  s.W("db3").repl.io = IoThread::kNo;
  s.W("db3").repl.received.gtid["0"] = 121;
  s.Round();
  CHECK(s.St("db3") == State::kActive);
  CHECK(s.ev.pools[0].note == "failover: db1 -> db3");
  CHECK(PlanText(s) == "fence db1 (if the admin login sees it needed); promote db3 (stop replication); "
                      "attach db2 -> db3");
}

TEST_CASE("Topology: a failover names the replicas it could not sever") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  Elected(s);
  s.Round();
  s.W("db1") = Sim::Failed(PollOutcome::kTimeout);
  s.W("db3") = Sim::Failed(PollOutcome::kTimeout);
  s.Rounds(3);
  CHECK(s.St("db2") == State::kActive);
  CHECK(s.ev.pools[0].note == "failover: db1 -> db2 (not stopped from receiving, unreachable: db3)");
}

TEST_CASE("Topology: a replica whose IO thread will not stop holds the failover up only for a bound") {
  Sim s(PoolConfigText(3));
  SeverPlanned(s);
  // db2 stopped; db3's stop keeps failing while db1 stays down.
  s.W("db2").repl.io = IoThread::kNo;
  s.Round();
  CHECK(s.St("db1") == State::kActive);
  // 2 x (1 s connect + 2 x 1 s query + 1 s) + 1 s interval = 9 s.
  s.Rounds(8);
  CHECK(s.St("db2") == State::kActive);
  CHECK(s.ev.pools[0].note == "failover: db1 -> db2 (not stopped from receiving, still receiving after 9s: db3)");
}

TEST_CASE("Topology: a writer that resumes during the sever is still replaced, and fenced") {
  // The SIGSTOP case: the failover's decision stands, and the resumed
  // writer is fenced before the new one is made writable.
  Sim s(PoolConfigText(3));
  SeverPlanned(s);
  s.W("db2").repl.io = IoThread::kNo;
  s.W("db3").repl.io = IoThread::kNo;
  s.W("db1") = s.Writer();
  s.Round();
  CHECK(s.St("db2") == State::kActive);
  CHECK(PlanText(s) == "fence db1; promote db2 (stop replication); attach db3 -> db2");
}

TEST_CASE("Topology: a writer that recovers before its replicas are severed gets them back") {
  Sim s(PoolConfigText(3));
  SeverPlanned(s);
  // db2 stopped; db3's stop keeps failing while db1 comes back for good.
  s.W("db2").repl.io = IoThread::kNo;
  s.W("db1") = s.Writer();
  s.Rounds(6);
  CHECK(s.St("db1") == State::kActive);
  CHECK(s.ev.pools[0].severing.empty());
  CHECK(PlanText(s) == "start replication db2 -> db1");
}

// mppstate restarts while db1, the writer it recorded, hangs; db2 and db3
// still listen to it, and db3 received two transactions more than db2.
Sim RestartedWhileTheWriterHangs() {
  Sim s(PoolConfigText(3), {{"db1", State::kActive}});
  ManageReplication(s);
  SemiSyncPools(s);
  s.worker = false;  // the steps are taken by hand here
  s.W("db1") = Sim::Failed(PollOutcome::kTimeout);
  s.W("db2") = s.Replica("db1", 100);
  s.W("db3") = s.Replica("db1", 102);
  return s;
}

TEST_CASE("Topology: an election in place of a hung writer severs its replicas first, as a failover does") {
  // Reproduced on MariaDB: a hung writer that resumed after the election
  // had its late commit acknowledged by a replica still listening to it.
  Sim s = RestartedWhileTheWriterHangs();
  s.Rounds(2);
  CHECK(s.ActiveCount() == 0);
  CHECK(s.ev.pools[0].note == "failover: first stopping db2, db3 from receiving from db1");
  CHECK(PlanText(s) == "sever db2 -> db1 (semi-sync); sever db3 -> db1 (semi-sync)");
  std::vector<TopologyStep> plan = PlanTopology(s.cfg, s.ev);
  const TopologyStep* sever = FindStep(plan, TopologyStepKind::kSever, s.Node("db2"));
  REQUIRE(sever != nullptr);
  CHECK(sever->why == "db1 is failing: db2 stops receiving from it before a new writer is chosen");
  s.W("db2").repl.io = IoThread::kNo;
  s.W("db3").repl.io = IoThread::kNo;
  s.Round();
  CHECK(s.St("db3") == State::kActive);
  CHECK(s.St("db1") == State::kFail);
  CHECK(s.ev.pools[0].note == "failover at election: db1 -> db3");
  CHECK(PlanText(s) == "fence db1 (if the admin login sees it needed); promote db3 (stop replication) "
                      "(semi-sync); attach db2 -> db3 (semi-sync)");
}

TEST_CASE("Topology: with semi_sync an election waits for the replica that received the most to apply it") {
  // Reproduced on MariaDB: db3 (MASTER_DELAY) acknowledged a commit db2
  // never received; mppstate restarted after db1 died elected db2.
  Sim s = RestartedWhileTheWriterHangs();
  s.W("db2").repl.io = IoThread::kNo;
  s.W("db3").repl.io = IoThread::kNo;
  s.W("db3").repl.relay_applied = false;
  s.Rounds(10);
  CHECK(s.ActiveCount() == 0);
  CHECK(s.ev.pools[0].note ==
        "waiting for db3 to apply what it received before the election (semi_sync: it alone has every "
        "acknowledged commit)");
  CHECK(s.ev.pools[0].awaited == s.Node("db3"));
  s.W("db3").repl.relay_applied = true;
  s.Round();
  CHECK(s.St("db3") == State::kActive);
  CHECK(s.St("db2") != State::kActive);
}

TEST_CASE("Topology: with semi_sync an election refuses a node that lacks what a broken replica received") {
  Sim s = RestartedWhileTheWriterHangs();
  s.W("db2").repl.io = IoThread::kNo;
  s.W("db3").repl.io = IoThread::kNo;
  s.W("db3").repl.sql_running = false;
  s.W("db3").repl.sql_errno = 1062;
  s.Rounds(10);
  CHECK(s.ActiveCount() == 0);
  CHECK(s.ev.pools[0].note ==
        "no node can be ACTIVE: db1 (ACTIVE before the restart) is failing: db3 received the most and with semi_sync "
        "no node that lacks it replaces db1, but db3: SQL thread stopped");
}

TEST_CASE("Topology: a writable ACTIVE that replicates is promoted to replicate from nobody") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  Elected(s);
  s.W("db1") = s.Replica("db2");  // master-master
  s.W("db1").read_only = false;
  s.Round();
  REQUIRE(s.St("db1") == State::kActive);
  std::vector<TopologyStep> plan = PlanTopology(s.cfg, s.ev);
  CHECK(PlanText(s) == "promote db1 (stop replication)");
  REQUIRE(plan.size() == 1);
  CHECK(plan[0].why == "db1 is the ACTIVE and writable, replicating from 127.0.0.1:3302");
}

TEST_CASE("Topology: a standby that replicates from nobody is attached to the ACTIVE") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  Elected(s);
  s.W("db3") = s.Writer();
  s.W("db3").read_only = true;
  s.Round();
  std::vector<TopologyStep> plan = PlanTopology(s.cfg, s.ev);
  CHECK(PlanText(s) == "attach db3 -> db1");
  REQUIRE(plan.size() == 1);
  CHECK(plan[0].why == "db3 replicates from nobody, not from the ACTIVE db1");
  CHECK(Seen(s, "db3") == "read_only, replicates from nobody");
}

TEST_CASE("Topology: a writable standby of another node is fenced, then attached") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  Elected(s);
  s.W("db3") = s.Replica("db2");
  s.W("db3").read_only = false;
  s.Round();
  CHECK(PlanText(s) == "fence db3; attach db3 -> db1");
}

TEST_CASE("Topology: a replica of the ACTIVE whose threads stopped without an error is started") {
  for (bool io : {true, false}) {
    INFO("stopped: " << (io ? "IO" : "SQL"));
    Sim s(PoolConfigText(3));
    ManageReplication(s);
    Elected(s);
    if (io) s.W("db2").repl.io = IoThread::kNo;
    else s.W("db2").repl.sql_running = false;
    s.Round();
    std::vector<TopologyStep> plan = PlanTopology(s.cfg, s.ev);
    CHECK(PlanText(s) == "start replication db2 -> db1");
    REQUIRE(plan.size() == 1);
    CHECK(plan[0].why == "db2 replicates from db1 but a thread is stopped");
    CHECK(Seen(s, "db2") == (io ? "read_only, replica of db1 (IO no, SQL yes)"
                                : "read_only, replica of db1 (IO yes, SQL no)"));
  }
}

TEST_CASE("Topology: a replica of the ACTIVE stopped by an error is left for an operator") {
  for (bool io : {true, false}) {
    INFO("error in: " << (io ? "IO" : "SQL"));
    Sim s(PoolConfigText(3));
    ManageReplication(s);
    Elected(s);
    if (io) {
      s.W("db2").repl.io = IoThread::kNo;
      s.W("db2").repl.io_errno = 1236;
      s.W("db2").repl.io_error = "could not find GTID state requested by slave in any binlog files";
    } else {
      s.W("db2").repl.sql_running = false;
      s.W("db2").repl.sql_errno = 1062;
      s.W("db2").repl.sql_error = "Duplicate entry '1' for key 'PRIMARY'";
    }
    s.Round();
    CHECK(PlanTopology(s.cfg, s.ev).empty());
  }
}

TEST_CASE("Topology: a replica of the ACTIVE whose IO thread stopped after a lost connection is started again") {
  // Found by the fault campaign: the ACTIVE was killed and came back before
  // the failover ended; db3, severed meanwhile, kept the IO error of its
  // reconnects (2003) and was never started again.
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  Elected(s);
  s.W("db3").repl.io = IoThread::kNo;
  s.W("db3").repl.io_errno = 2003;
  s.W("db3").repl.io_error = "error reconnecting to master 'repl@127.0.0.1:3301'";
  s.Round();
  CHECK(PlanText(s) == "start replication db3 -> db1");
}

TEST_CASE("Topology: a replica whose IO thread is connecting to the ACTIVE needs nothing") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  Elected(s);
  s.W("db2").repl.io = IoThread::kConnecting;
  s.Round();
  CHECK(PlanTopology(s.cfg, s.ev).empty());
}

TEST_CASE("Topology: a demoted ex-writer under rejoin = manual is fenced but not attached") {
  Sim s(PoolConfigText(3));
  ManageReplication(s, RejoinMode::kManual);
  FailedOver(s);
  s.W("db1") = s.Writer();  // back after its crash, writable as it was
  s.Round();
  REQUIRE(s.St("db1") == State::kFail);
  CHECK(PlanText(s) == "fence db1; promote db2 (stop replication); attach db3 -> db2");
  CHECK(Wanted(s, "db1") == "read_only; attached to db2 by `mppctl rejoin`");
  CHECK(Seen(s, "db1") == "writable, replicates from nobody");
  // Fenced, it waits for the operator.
  s.W("db1").read_only = true;
  s.W("db2") = s.Writer();
  s.W("db3") = s.Replica("db2");
  s.Round();
  CHECK(PlanTopology(s.cfg, s.ev).empty());
}

TEST_CASE("Topology: a demoted ex-writer under rejoin = auto is fenced, then attached") {
  Sim s(PoolConfigText(3));
  ManageReplication(s, RejoinMode::kAuto);
  FailedOver(s);
  s.W("db1") = s.Writer();
  s.Round();
  REQUIRE(s.N("db1").demoted);
  std::vector<TopologyStep> plan = PlanTopology(s.cfg, s.ev);
  CHECK(PlanText(s) == "fence db1; promote db2 (stop replication); attach db1 -> db2; attach db3 -> db2");
  const TopologyStep* attach = FindStep(plan, TopologyStepKind::kAttach, s.Node("db1"));
  REQUIRE(attach != nullptr);
  CHECK(attach->why == "db1 replicates from nobody, not from the ACTIVE db2");
  CHECK(Wanted(s, "db1") == "read_only, replica of db2");
}

TEST_CASE("Topology: an OFFLINE node is fenced if writable, and never attached") {
  Sim s(PoolConfigText(3));
  ManageReplication(s, RejoinMode::kAuto);
  Elected(s);
  s.Round({Command{Command::kOffline, "", "db3"}});
  REQUIRE(s.St("db3") == State::kOffline);
  s.W("db3") = s.Writer();  // an operator works on it
  s.Round();
  CHECK(PlanText(s) == "fence db3");
  CHECK(Wanted(s, "db3") == "read_only; OFFLINE: its replication is left alone");
  s.W("db3").read_only = true;
  s.Round();
  CHECK(PlanTopology(s.cfg, s.ev).empty());
  // Back online, it follows the ACTIVE again.
  s.Round({Command{Command::kOnline, "", "db3"}});
  CHECK(PlanText(s) == "attach db3 -> db1");
}

TEST_CASE("Topology: a node that does not answer is not attached") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  Elected(s);
  s.W("db3") = Sim::Failed();
  s.Round();
  CHECK(PlanTopology(s.cfg, s.ev).empty());
  s.W("db3") = Sim::MonitorError();
  s.Round();
  CHECK(PlanTopology(s.cfg, s.ev).empty());
  s.W("db3") = s.Replica("db2");  // answers again, from the wrong source
  s.Round();
  CHECK(PlanText(s) == "attach db3 -> db1");
}

TEST_CASE("Topology: nothing is planned when the databases match the decision") {
  for (bool replication : {false, true}) {
    INFO("manage_replication: " << replication);
    Sim s(PoolConfigText(4, "manage_read_only = yes\n"));
    if (replication) ManageReplication(s);
    Elected(s);
    s.Round();
    CHECK(PlanTopology(s.cfg, s.ev).empty());
    CHECK(Wanted(s, "db1") == (replication ? "writable, replicates from nobody" : "writable"));
    CHECK(Wanted(s, "db4") == (replication ? "read_only, replica of db1" : "read_only"));
    CHECK(Seen(s, "db1") == "writable, replicates from nobody");
    CHECK(Seen(s, "db4") == "read_only, replica of db1 (IO yes, SQL yes)");
  }
}

TEST_CASE("Topology: the wanted text of a diverged node") {
  Sim s(PoolConfigText(3));
  ManageReplication(s, RejoinMode::kAuto);
  Elected(s);
  s.ev.nodes[static_cast<size_t>(s.Node("db3"))].diverged = "0-3-57 is not in db1's binlog";
  CHECK(Wanted(s, "db3") == "read_only; never attached: diverged");
}

TEST_CASE("Topology: a diverged node is checked again every round, even once it follows the ACTIVE") {
  Sim s(PoolConfigText(3));
  ManageReplication(s, RejoinMode::kAuto);
  Elected(s);
  // Rebuilt and pointed at db1 by an operator: only a clean check of an
  // attachment may end the divergence, so one is planned.
  s.ev.nodes[static_cast<size_t>(s.Node("db3"))].diverged = "0-3-57 is not in db1's binlog";
  CHECK(PlanText(s) == "attach db3 -> db1");
  // Its IO thread refused by the ACTIVE (1236) is no reason to stop checking.
  s.W("db3").repl.io = IoThread::kNo;
  s.W("db3").repl.io_errno = 1236;
  s.Round();
  s.ev.nodes[static_cast<size_t>(s.Node("db3"))].diverged = "0-3-57 is not in db1's binlog";
  CHECK(PlanText(s) == "attach db3 -> db1");
}

TEST_CASE("Topology: a source outside the pool is shown as the server reports it") {
  Sim s(PoolConfigText(2, "manage_read_only = yes\n"));
  Elected(s);
  PollResult& p = s.W("db2");
  const char* why = nullptr;
  REQUIRE(ParseAddress("192.0.2.99:3306", 15, &p.repl.source, &why));
  p.repl.source_text = "192.0.2.99:3306";
  p.repl.io = IoThread::kNo;
  p.repl.sql_running = false;
  s.Round();
  CHECK(Seen(s, "db2") == "read_only, replica of 192.0.2.99:3306 (IO no, SQL no)");
}

}  // namespace
}  // namespace mpp

namespace mpp {
namespace {

TEST_CASE("Topology: with semi_sync, nothing is planned while the roles have their settings") {
  Sim s(PoolConfigText(3));
  SemiSyncElected(s);
  CHECK(PlanTopology(s.cfg, s.ev).empty());
  CHECK(Wanted(s, "db1") == "writable, replicates from nobody, semi-sync primary");
  CHECK(Wanted(s, "db2") == "read_only, replica of db1, semi-sync replica");
  CHECK(Seen(s, "db1") == "writable, replicates from nobody; semi-sync primary on, replica off");
  CHECK(Seen(s, "db2") == "read_only, replica of db1 (IO yes, SQL yes); semi-sync primary off, replica on");
}

TEST_CASE("Topology: with semi_sync, drift is planned back after the other steps") {
  Sim s(PoolConfigText(3));
  SemiSyncElected(s);
  SUBCASE("the writer lost its primary side") {
    s.W("db1").semi = Semi(false, false);
    s.Round();
    CHECK(PlanText(s) == "semi-sync db1 -> db1 (primary)");
    CHECK(PlanTopology(s.cfg, s.ev)[0].why == "db1 is the ACTIVE and its semi-sync is primary off, replica off");
  }
  SUBCASE("the writer waits AFTER_COMMIT") {
    s.W("db1").semi = Semi(true, false, false);
    s.Round();
    CHECK(PlanText(s) == "semi-sync db1 -> db1 (primary)");
  }
  SUBCASE("a standby has the primary side on: it would stall what it applies") {
    s.W("db3").semi = Semi(true, true);
    s.Round();
    CHECK(PlanText(s) == "semi-sync db3 -> db1 (replica)");
  }
  SUBCASE("a standby lost its replica side") {
    s.W("db2").semi = Semi(false, false);
    s.Round();
    CHECK(PlanText(s) == "semi-sync db2 -> db1 (replica)");
    CHECK(PlanTopology(s.cfg, s.ev)[0].why == "db2 is a standby and its semi-sync is primary off, replica off");
  }
  SUBCASE("a standby that is also re-pointed gets it after the attachment") {
    s.W("db2") = s.Replica("db3");
    s.W("db2").semi = Semi(true, false);
    s.Round();
    CHECK(PlanText(s) == "attach db2 -> db1 (semi-sync); semi-sync db2 -> db1 (replica)");
  }
  SUBCASE("settings the poll did not read are not acted on") {
    s.W("db2").semi = SemiSync();
    s.Round();
    CHECK(PlanTopology(s.cfg, s.ev).empty());
  }
}

TEST_CASE("Topology: with semi_sync, a promotion and the attachments carry it") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  SemiSyncPools(s);
  FailedOver(s);
  CHECK(PlanText(s) == "promote db2 (stop replication) (semi-sync); attach db3 -> db2 (semi-sync)");
  // The promotion sets the new writer's side itself: no separate step.
  s.W("db2").semi = Semi(false, true);
  s.Round();
  CHECK(PlanText(s) == "promote db2 (stop replication) (semi-sync); attach db3 -> db2 (semi-sync)");
}

TEST_CASE("Topology: with semi_sync, an OFFLINE node only loses the primary side") {
  Sim s(PoolConfigText(3));
  SemiSyncElected(s);
  s.Round({Command{Command::kOffline, "", "db3"}});
  REQUIRE(s.St("db3") == State::kOffline);
  s.W("db3").semi = Semi(false, false);
  s.Round();
  CHECK(PlanTopology(s.cfg, s.ev).empty());  // an operator's node: the replica side is theirs
  s.W("db3").semi = Semi(true, false);
  s.Round();
  CHECK(PlanText(s) == "semi-sync db3 -> db1 (primary off)");
}

// db3 diverged in a pool with semi_sync, its primary side still on (an
// ex-writer's, say), and what the polls saw of it as the writer.
void DivergedWithPrimary(Sim& s, bool rewind) {
  SemiSyncElected(s);
  for (PoolConfig& p : s.cfg.pools) p.rewind = rewind;
  s.W("db3").semi = Semi(true, true);
  s.Round();
  NodeEval& ne = s.ev.nodes[static_cast<size_t>(s.Node("db3"))];
  ne.diverged = "0-3-57 is not in db1's binlog";
  ne.writer_semi.known = true;
  ne.writer_semi.off_times = 4;
  ne.writer_semi.started_at_s = 1700000000;
  ne.acks_cut = 2;
  ne.seal.proven = true;
  ne.seal.against = ne.writer_semi;
  REQUIRE(ParseGtidList("0-3-57", &ne.seal.binlog_state));
}

TEST_CASE("Topology: with rewind, a diverged node gets a rewind with its semi-sync as the writer, and keeps its "
          "primary side") {
  Sim s(PoolConfigText(3));
  DivergedWithPrimary(s, true);
  // Switching the primary side off would count as a fallback to
  // asynchronous, which the rewind reads.
  CHECK(PlanText(s) == "rewind db3 -> db1");
  std::vector<TopologyStep> plan = PlanTopology(s.cfg, s.ev);
  const TopologyStep* rewind = FindStep(plan, TopologyStepKind::kRewind, s.Node("db3"));
  REQUIRE(rewind != nullptr);
  CHECK(rewind->writer_semi.known);
  CHECK(rewind->writer_semi.off_times == 4);
  CHECK(rewind->writer_semi.started_at_s == 1700000000);
  CHECK(rewind->acks_cut == 2);
  CHECK(rewind->seal.proven);
  CHECK(rewind->seal.against == rewind->writer_semi);
  CHECK(GtidListText(rewind->seal.binlog_state) == "0-3-57");
  CHECK(Wanted(s, "db3") == "read_only; rewound, then attached to db1");
  // Rewound: the attachment follows, and the semi-sync of a standby.
  s.ev.nodes[static_cast<size_t>(s.Node("db3"))].diverged.clear();
  s.W("db3").repl.configured = false;
  s.Round();
  CHECK(PlanText(s) == "attach db3 -> db1 (semi-sync); semi-sync db3 -> db1 (replica)");
}

TEST_CASE("Topology: a fence carries the node's semi-sync as the writer, for its seal") {
  Sim s(PoolConfigText(3));
  SemiSyncElected(s);
  s.W("db2").read_only = false;
  s.Round();
  NodeEval& ne = s.ev.nodes[static_cast<size_t>(s.Node("db2"))];
  ne.writer_semi.known = true;
  ne.writer_semi.unacked = 7;
  ne.writer_semi.binlog_file = "binlog.000002";
  ne.acks_cut = 3;
  std::vector<TopologyStep> plan = PlanTopology(s.cfg, s.ev);
  const TopologyStep* fence = FindStep(plan, TopologyStepKind::kFence, s.Node("db2"));
  REQUIRE(fence != nullptr);
  CHECK(fence->writer_semi == ne.writer_semi);
  CHECK(fence->acks_cut == 3);
}

TEST_CASE("Topology: without rewind, a diverged node is checked again and loses its primary side") {
  Sim s(PoolConfigText(3));
  DivergedWithPrimary(s, false);
  CHECK(PlanText(s) == "attach db3 -> db1 (semi-sync); semi-sync db3 -> db1 (primary off)");
  CHECK(Wanted(s, "db3") == "read_only; never attached: diverged");
}

TEST_CASE("Topology: without semi_sync the settings are left alone") {
  Sim s(PoolConfigText(3));
  ManageReplication(s);
  s.HealthyPool();
  s.W("db2").semi = Semi(true, false);
  s.Round();
  CHECK(PlanTopology(s.cfg, s.ev).empty());
  CHECK(Wanted(s, "db2") == "read_only, replica of db1");
}

}  // namespace
}  // namespace mpp
