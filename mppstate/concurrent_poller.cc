#include "mppstate/concurrent_poller.h"

#include <condition_variable>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

#include "mppstate/poller.h"

namespace mpp {

// What the poll threads share with the poller; it outlives the poller if a
// thread is still running.
struct ConcurrentPoller::Shared {
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  std::map<std::string, bool> busy;  // node key -> a poll is running
};

// One PollAll call. Late threads still hold it after the caller has left.
struct ConcurrentPoller::Round {
  std::vector<PollResult> results;  // guarded by Shared::mu
  std::vector<bool> done;
  size_t pending = 0;
  bool closed = false;  // the caller has taken the results: drop late ones
};

namespace {

// A node is the same node across reloads only if its name and address are.
std::string NodeKey(const NodeConfig& node) {
  char buf[kAddressTextMax];
  return node.name + "@" + FormatAddress(node.address, buf);
}

PollResult Outcome(PollOutcome o, const std::string& why) {
  PollResult r;
  r.outcome = o;
  r.error = why;
  return r;
}

void StartDetached(std::function<void()> fn) { std::thread(std::move(fn)).detach(); }

}  // namespace

ConcurrentPoller::ConcurrentPoller(ThreadStarter start)
    : shared_(std::make_shared<Shared>()), start_(start ? std::move(start) : ThreadStarter(StartDetached)) {
  // Before any thread exists: mysql_library_init is not thread-safe.
  InitMysqlLibrary();
}

ConcurrentPoller::~ConcurrentPoller() = default;

std::vector<PollResult> ConcurrentPoller::PollAll(const Config& cfg, Clock::time_point deadline) {
  const size_t n = cfg.nodes.size();
  auto round = std::make_shared<Round>();
  round->results.resize(n);
  round->done.assign(n, false);
  auto config = std::make_shared<const Config>(cfg);
  std::shared_ptr<Shared> shared = shared_;

  for (size_t i = 0; i < n; ++i) {
    std::string key = NodeKey(cfg.nodes[i]);
    {
      std::lock_guard<std::mutex> lock(shared->mu);
      if (shared->busy[key]) {
        round->results[i] = Outcome(PollOutcome::kTimeout,
                                    "poll missed its deadline (the previous one is still running)");
        round->done[i] = true;
        continue;
      }
      shared->busy[key] = true;
      shared->in_flight++;
      round->pending++;
    }
    try {
      start_([shared, round, config, i, key] {
        {
          MysqlThread registration;
          PollResult r = PollNode(*config, config->nodes[i]);
          std::lock_guard<std::mutex> lock(shared->mu);
          if (!round->closed) round->results[i] = std::move(r);
          round->done[i] = true;
          round->pending--;
          shared->cv.notify_all();
        }
        // Only now is this thread out of the client library.
        std::lock_guard<std::mutex> lock(shared->mu);
        shared->busy[key] = false;
        shared->in_flight--;
        shared->cv.notify_all();
      });
    } catch (const std::exception& e) {  // std::system_error, std::bad_alloc
      std::lock_guard<std::mutex> lock(shared->mu);
      shared->busy[key] = false;
      shared->in_flight--;
      round->pending--;
      // Short of threads: our fault, never a failed poll of the node.
      round->results[i] =
          Outcome(PollOutcome::kMonitorError, std::string("cannot start a poll thread: ") + e.what());
      round->done[i] = true;
    }
  }

  std::unique_lock<std::mutex> lock(shared->mu);
  shared->cv.wait_until(lock, deadline, [&] { return round->pending == 0; });
  for (size_t i = 0; i < n; ++i) {
    if (!round->done[i]) round->results[i] = Outcome(PollOutcome::kTimeout, "poll missed its deadline");
  }
  round->closed = true;
  return std::move(round->results);
}

int ConcurrentPoller::InFlight() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->in_flight;
}

bool ConcurrentPoller::WaitIdle(Clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(shared_->mu);
  return shared_->cv.wait_until(lock, deadline, [&] { return shared_->in_flight == 0; });
}

}  // namespace mpp
