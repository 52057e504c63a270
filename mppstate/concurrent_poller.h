// Polls every node of a Config at once and answers by a hard deadline.
//
// The client library's timeouts are whole seconds, and a stopped server
// (SIGSTOP, a black-holed host) can hold a read for several of them. So each
// node's poll runs on its own thread, and PollAll returns at the caller's
// deadline whatever has finished: a poll still running then counts as
// kTimeout ("poll missed its deadline"), and its result, when it comes, is
// thrown away. A hung node never delays the others or the caller.
//
// At most one poll per node is in flight: while an earlier poll of a node is
// still stuck, the next round reports kTimeout for it at once instead of
// piling up threads. A poll that cannot start (no thread: EAGAIN) is
// kMonitorError, the monitor's fault and not the node's. The threads own what they touch (shared state, copies
// of the config), so the caller may move on, reload or destroy the poller
// while they finish.
//
// Thread-safety: a ConcurrentPoller is used by one thread at a time.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/poll_result.h"

namespace mpp {

class ConcurrentPoller {
 public:
  using Clock = std::chrono::steady_clock;
  // Runs the function on a new detached thread, or throws std::system_error
  // (what std::thread does). A seam for tests: the real failure (EAGAIN
  // when short of threads) is hard to produce on demand.
  using ThreadStarter = std::function<void(std::function<void()>)>;

  // start: how poll threads are started; empty: std::thread.
  explicit ConcurrentPoller(ThreadStarter start = nullptr);
  ~ConcurrentPoller();
  ConcurrentPoller(const ConcurrentPoller&) = delete;
  ConcurrentPoller& operator=(const ConcurrentPoller&) = delete;

  // Polls every node of cfg; returns by deadline (a few milliseconds after
  // it at worst) one result per node, in cfg.nodes order.
  std::vector<PollResult> PollAll(const Config& cfg, Clock::time_point deadline);

  // The number of polls still running (late ones included).
  int InFlight() const;

  // Waits until no poll is running or deadline passes; true if none is. Call
  // it before mysql_library_end or exit, so no thread is inside the client
  // library then.
  bool WaitIdle(Clock::time_point deadline);

 private:
  struct Shared;
  struct Round;
  std::shared_ptr<Shared> shared_;
  ThreadStarter start_;
};

}  // namespace mpp
