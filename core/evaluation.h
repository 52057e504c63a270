// The evaluation core: config + previous evaluation + one round of polls ->
// next evaluation. Pure: no I/O, time is an input, so every rule of the pool
// logic (doc/pool-logic.md) is tested with tables and random sequences.
// Durations are measured on a monotonic clock (RoundInput::mono_ms); the
// wall clock (now_ms) only stamps what is written as time.
// Thread-safety: pure functions over values.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include "common/names.h"
#include "config/config.h"
#include "core/poll_result.h"
#include "core/pool_memory.h"
#include "core/published_decision.h"
#include "core/unacknowledged_tail.h"

namespace mpp {

struct NodeEval {
  State state = State::kUnknown;
  Status status = Status::kOk;
  std::string reason;
  int64_t since_ms = 0;  // last change of STATE or STATUS
  std::string state_reason;  // why the STATE last changed, shown when all is well

  // Carried from round to round.
  PollResult last;            // the latest poll
  bool polled = false;        // a poll has finished at least once
  int failed_polls = 0;       // failures not yet cancelled by recover_after clean polls
  int clean_polls = 0;        // consecutive clean polls
  int healthy_rounds = 0;     // consecutive rounds clean and without a condition
  bool demoted = false;       // an ex-ACTIVE, FAIL until recovered
  bool offline = false;       // taken out by an operator
  int64_t lag_before_trouble = -1;  // lag at the last round the ACTIVE was healthy
  // Since when its clean polls, taken while the ACTIVE answered, showed it
  // not receiving from the ACTIVE (IO thread stopped or failing); -1 when
  // the last one showed it receiving, or none did. Polls that failed do
  // not count: a standby the monitor could not see is not cut off.
  int64_t not_receiving_since_mono_ms = -1;
  // This round only: why the monitor could not poll the node (its own
  // fault); empty when it could. The node then keeps what it had.
  std::string monitor_error;
  // From the topology worker (TopologyFacts): why the node has diverged
  // from the ACTIVE ("" when it is not known to), and its last failed step.
  std::string diverged;
  std::string topology_error;
  // From the polls: a transaction in its binlog that the ACTIVE it follows
  // lacks ("0-3-9 is not in db1's binlog"), seen in two rounds running
  // (errant_seen) so that polls taken a moment apart never make one.
  std::string errant;
  int errant_seen = 0;
  // Attached to the ACTIVE by the worker, after the divergence check, since
  // it became FAIL: its condition was the re-pointing itself, so its first
  // healthy round makes it STANDBY without the recover_after wait.
  bool attached = false;
  WriterSemiSyncSeen writer_semi;
  int64_t acks_cut = 0;  // from TopologyFacts
  TailSeal seal;         // from TopologyFacts
};

// kLeader: a director pair's follower took the STATE from the leader's
// published decision.
enum class TransitionCause { kElection, kFailover, kFailback, kSwitchover, kHealth, kOperator, kLeader };

struct Transition {
  int node;
  State from, to;
  TransitionCause cause;
};

struct PoolEval {
  bool elected = false;      // the first election has happened
  int64_t first_round_mono_ms = -1;  // monotonic clock, like every duration
  // The writer before a restart (pool memory or state file), until the
  // first election has judged it; and whether a switchover had put it there.
  int recorded_active = -1;
  bool recorded_by_switchover = false;
  int64_t trouble_since_mono_ms = -1;  // when the ACTIVE's current trouble began
  bool active_by_switchover = false;  // failback leaves an operator's choice alone
  FailoverRecord last_failover;
  std::string note;          // pool-wide message (isolation, no eligible standby)
  // The standby a failover waits for (promote_wait), -1 if none: worth a
  // poll before the next round.
  int awaited = -1;
  // A failover's first phase, this round: the replicas of the failing
  // writer still receiving from it (severing_from: the ACTIVE, or at an
  // election the failing writer it replaces), whose IO threads are stopped
  // before the new writer is chosen from their frozen positions.
  std::vector<int> severing;
  int severing_from = -1;
  int64_t severing_since_mono_ms = -1;  // when this failover's first phase began
};

struct Decision {
  bool up = false;
  int weight = 0;
};

// Where a director stands in a director pair, for the status views.
struct ClusterRole {
  bool enabled = false;
  std::string self;    // this director's name
  std::string leader;  // "" when not known
  bool deciding = false;  // this director is the leader and may decide now
  bool frozen = false;    // no decision can change: etcd is out of reach
  int64_t epoch = 0;      // the leader's (the published decision's)
  int64_t seq = 0;        // the published decision's number
};

struct Evaluation {
  int64_t seq = 0;
  int64_t time_ms = 0;
  bool isolated = false;
  std::vector<NodeEval> nodes;                  // like Config::nodes
  std::vector<PoolEval> pools;                  // like Config::pools
  std::vector<std::vector<Decision>> decisions;  // [vs][position in the vs's pool]
  std::vector<Transition> transitions;          // what this round changed
  ClusterRole cluster;                          // set by the daemon

  int ActiveOf(const Config& cfg, int pool) const;
};

// Operator commands, applied at the start of a round.
struct Command {
  enum Kind { kRecover, kOffline, kOnline, kSwitchover };
  Kind kind;
  std::string pool;  // switchover
  std::string node;  // every kind; switchover: the target (resolved beforehand)
  // Switchover: the worker has just seen, on live connections, the target
  // apply all the fenced writer wrote; what the last poll said of its relay
  // log and lag is older news.
  bool caught_up = false;
};

struct CommandResult {
  bool ok = false;
  std::string message;
};

// What the worker that makes the databases follow the decision
// (mppstate/topology_worker.h) found out about a node: facts the polls
// cannot see.
struct TopologyFacts {
  std::string diverged;   // why it has diverged from the ACTIVE; "" when not known to
  std::string error;      // its last failed step; "" since a success
  bool rejoined = false;  // attached to the ACTIVE after a clean divergence check, since the last round
  // Commits waiting for an acknowledgement whose sessions its fences killed
  // (each ends the wait without one), since mppstate started.
  int64_t acks_cut = 0;
  TailSeal seal;  // the latest proven one of its fences
};

struct RoundInput {
  int64_t now_ms = 0;   // wall clock: time_ms and since_ms only
  int64_t mono_ms = 0;  // monotonic clock (never steps): every duration
  std::vector<PollResult> polls;  // like Config::nodes
  bool isolated = false;          // no checkpoint answered
  std::vector<Command> commands;
  std::vector<TopologyFacts> topology;  // like Config::nodes, or empty: nothing known
  // An evaluation between two rounds (a confirmation poll after a watch
  // connection dropped, a command, a report of the worker): only the nodes
  // with a result other than kNotPolled in polls were polled, the others
  // keep everything they had, and healthy_rounds counts rounds only.
  bool between_rounds = false;
  // A director pair (doc/director-pair.md), when this director may not
  // decide (a follower, or a leader that lost etcd): every STATE, demotion,
  // OFFLINE and up/down is the published decision's, the polls give STATUS
  // and reasons only, commands are refused with follow_note, which is also
  // every pool's note. follow_expired: the decision is older than
  // stale_after, every virtual server's nodes are down.
  const PublishedDecision* follow = nullptr;
  std::string follow_note;
  bool follow_expired = false;
};

// The evaluation before the first round. memory: the pool memory of the
// previous run (data_dir), which holds all that is carried over; without
// one, recorded_states (node name -> STATE from the previous state file)
// gives the writer and the OFFLINE nodes.
Evaluation InitialEvaluation(const Config& cfg,
                             const std::vector<std::pair<std::string, State>>& recorded_states,
                             const PoolMemory* memory = nullptr);

// What a restart must not forget (see pool_memory.h). A writer not yet
// judged by the first election is remembered as it was recorded.
PoolMemory RememberPools(const Config& cfg, const Evaluation& ev);

// One round. results (optional) gets one entry per command.
Evaluation Evaluate(const Config& cfg, const Evaluation& prev, const RoundInput& in,
                    std::vector<CommandResult>* results);

// Why node may never become the writer, whatever the moment: the operator
// said so (promote = no), or its last poll shows a delayed replica
// (SQL_Delay: a guard against a bad statement, behind on purpose). "" when
// it may. Failovers, elections, failback and switchovers all ask it.
std::string NeverPromoted(const Config& cfg, const NodeEval& n, int node);

// Why node may not be promoted to replace the ACTIVE node `active` now;
// empty if it may. Exposed for mppctl switchover and the tests.
// caught_up: the target's catch-up was just seen on live connections (a
// switchover's commit): its relay log and lag need no older poll's word.
std::string WhyNotEligible(const Config& cfg, const Evaluation& ev, int pool, int active, int node,
                           bool caught_up = false);

// The (vs, node) decisions that follow from the nodes' STATE and STATUS.
void ComputeDecisions(const Config& cfg, Evaluation* ev);

// Chooses the target of a planned switchover: target empty means the best
// eligible standby. Returns the node index or -1 with *why set.
int ChooseSwitchoverTarget(const Config& cfg, const Evaluation& ev, const std::string& pool,
                           const std::string& target, std::string* why);

// Why a reload to new_cfg must be refused, or "" if it may go ahead: it
// would remove a pool's ACTIVE, move it to another pool or change its
// address (the operator switches over first).
std::string WhyReloadRefused(const Config& old_cfg, const Evaluation& old_ev, const Config& new_cfg);

// Carries an evaluation across a config reload: nodes, pools and their
// states are matched by name; new nodes start UNKNOWN; a node removed is
// forgotten, its demotion too.
Evaluation RemapEvaluation(const Config& old_cfg, const Evaluation& old_ev, const Config& new_cfg);

}  // namespace mpp
