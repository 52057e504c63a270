// Every poll of mppstate, on one thread, from one epoll set: no thread per
// node, however many nodes.
//
//   Rounds: StartRound polls every node; each poll answers by the
//     round's deadline (node_poll.h), and TakeRound hands over one result
//     per node as soon as the last has answered.
//   Watches: after a successful poll, a node gets a watch connection: a
//     login on the monitoring user, then idle. An idle connection becomes
//     readable only when the server ends it, so a crash (EOF or RST) is
//     seen at once, not at the next round.
//   Confirmations: when a watch drops, the node is polled again at once,
//     out of round, with a fresh login, then every kConfirmSpacing while
//     it keeps failing, up to the number of failed polls its pool's
//     failover_at needs. TakeNews hands over the failures, which count
//     as failed polls. A drop that was not a crash (KILL, wait_timeout, a
//     server that closes idle connections) gets a successful poll: nothing
//     is reported, and a new watch opens.
//   Refreshes: the first failed confirmation also polls the other nodes
//     of its pool at once, and TakeNews holds everything back until they
//     have answered, or kRefreshHold has passed (a standby that hangs is
//     not eligible anyway). A failover between rounds then compares what
//     the standbys received after the writer died, not a round ago: the one
//     that received the most (and, with semi-sync, every acknowledged
//     commit) is chosen. Refresh also polls one node on request (a standby
//     the election waits for).
//
// At most one poll per node is in flight: a round that starts while a
// confirmation is running takes its result. A round's poll that misses the
// deadline runs on, late (a stopped server): a round that starts while it
// still runs counts the node missed at once, and one that starts after it
// ended takes its result. A stopped server is not waited for twice.
//
// A round's polls start in batches over at most 30% of the interval, not
// all at once: a thousand logins at the same instant overflow the servers'
// listen queues and keep a thousand connections in memory together.
// Watches open after the round's polls, a few at a time, for the same
// reasons.
//
// Thread-safety: one thread; the client library is initialised by the
// constructor.
#pragma once

#include <stdint.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <queue>
#include <vector>

#include "config/config.h"
#include "core/poll_result.h"

namespace mpp {

struct Login;

class EventPoller {
 public:
  using Clock = std::chrono::steady_clock;
  // Between two confirmation polls of a node that keeps failing: a few tens
  // of milliseconds, so that each failure is fresh news.
  static constexpr std::chrono::milliseconds kConfirmSpacing{30};
  // A watch that dropped sooner than this after it opened is opened again
  // by the next round's poll, not at once: a server that ends every idle
  // connection at once must not keep us reconnecting.
  static constexpr std::chrono::milliseconds kWatchMinLife{1000};
  // Watch logins in flight at most.
  static constexpr int kWatchLoginsAtOnce = 32;
  // A round starts this many polls at once, then the next batch up to 15ms
  // later, all within 30% of the interval.
  static constexpr size_t kRoundBatch = 50;
  // News waits for refreshes at most this long.
  static constexpr std::chrono::milliseconds kRefreshHold{500};

  // A poll between rounds: a failed confirmation, or a refresh.
  struct News {
    size_t node;  // in the Config of Configure
    PollResult result;
  };

  // Told, for the metrics, of every poll that finishes (whatever it was
  // for) and of every round's poll that missed the round's deadline. node:
  // in the Config of Configure.
  struct Observer {
    std::function<void(size_t node, PollOutcome outcome, Clock::duration took)> poll_finished;
    std::function<void(size_t node)> deadline_missed;
  };

  EventPoller();
  ~EventPoller();
  EventPoller(const EventPoller&) = delete;
  EventPoller& operator=(const EventPoller&) = delete;

  // Why the poller cannot work (no epoll descriptor); "" when it can.
  const std::string& error() const { return error_; }
  // Readable when Process has something to do.
  int fd() const { return epoll_fd_; }

  // Takes cfg's nodes. A node is the same node across calls if its name and
  // address are: its watch stays. A round in progress is abandoned, and so
  // are confirmation polls in flight (their node is confirmed again).
  void Configure(const Config& cfg, Clock::time_point now);
  void SetObserver(Observer observer) { observer_ = std::move(observer); }
  // Whether nodes get watch connections (default: yes).
  void SetWatching(bool on) { watching_ = on; }

  // Polls every node, each answering for the round by deadline. A poll may
  // run on, late, until poll_deadline (>= deadline).
  void StartRound(Clock::time_point now, Clock::time_point deadline, Clock::time_point poll_deadline);
  bool round_running() const { return round_running_; }

  // Handles what is ready and what is due; never blocks.
  void Process(Clock::time_point now);
  // When Process is due even if fd() says nothing; Clock::time_point::max()
  // when nothing is timed.
  Clock::time_point NextWake() const;

  // Once every poll of the round has answered (or the deadline passed): the
  // results, one per node in Config order.
  bool TakeRound(std::vector<PollResult>* polls);
  // Confirmation polls that failed and refreshes, since the last call;
  // nothing while a refresh is still running.
  std::vector<News> TakeNews();
  // Polls node (in the Config of Configure) at `at` or soon after, out of
  // round, unless a poll of it is running then; the result comes as news.
  void Refresh(size_t node, Clock::time_point at, Clock::time_point now);

  // Configure, StartRound and wait for TakeRound: one blocking round.
  std::vector<PollResult> PollAll(const Config& cfg, Clock::time_point deadline);

  int InFlight() const;  // polls and watch logins running
  int Watching() const;  // watch connections open and idle
  uint64_t watch_drops() const { return watch_drops_; }

 private:
  struct Conn;
  struct Slot;
  struct Timer {
    Clock::time_point when;
    size_t slot;
    int kind;  // kPollConn, kWatchConn, kConfirmTimer, kRoundTimer, kBatchTimer, kRefreshTimer
    uint32_t gen;
    bool operator>(const Timer& o) const { return when > o.when; }
  };

  Conn& ConnOf(Slot& s, int kind);
  void Sync(size_t slot, int kind);
  void Drop(size_t slot, int kind);
  void AfterAdvance(size_t slot, int kind, Clock::time_point now);
  void StartPoll(size_t slot, bool for_round, Clock::time_point now, Clock::time_point deadline);
  void RefreshPool(size_t slot, Clock::time_point now);
  void StartRefresh(size_t slot, Clock::time_point now);
  void FinishPoll(size_t slot, Clock::time_point now);
  void QueueWatch(size_t slot, Clock::time_point now);
  void StartWatches(Clock::time_point now);
  void WatchDropped(size_t slot, Clock::time_point now);
  void ScheduleConfirm(size_t slot, Clock::time_point at, Clock::time_point now);
  void EndRound();
  void StartBatch(Clock::time_point now);
  void PushTimer(Clock::time_point when, size_t slot, int kind, uint32_t gen);
  void HandleTimer(const Timer& t, Clock::time_point now);
  Clock::time_point PollDeadline(Clock::time_point now) const;

  std::string error_;
  int epoll_fd_ = -1;
  std::shared_ptr<const Config> cfg_;
  std::shared_ptr<const Login> login_;
  std::vector<Slot> slots_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  uint32_t next_gen_ = 1;
  bool watching_ = true;
  bool round_running_ = false;
  size_t round_pending_ = 0;
  Clock::time_point round_deadline_;
  Clock::time_point round_poll_deadline_;
  std::deque<size_t> round_queue_;  // slots whose round poll has not started yet
  Clock::duration batch_gap_{};
  Clock::time_point next_batch_at_;
  std::vector<News> news_;
  int refreshes_running_ = 0;  // news_ is held back until they answer
  Clock::time_point hold_until_;  // or until then
  std::deque<size_t> watch_queue_;  // slots waiting for a watch login
  int watch_logins_ = 0;            // watch logins in flight
  uint64_t watch_drops_ = 0;
  Observer observer_;
};

}  // namespace mpp
