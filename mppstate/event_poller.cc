#include "mppstate/event_poller.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <string>

#include "common/address_text.h"
#include "mppstate/mysql_connect.h"
#include "mppstate/node_poll.h"

namespace mpp {
namespace {

constexpr int kPollConn = 0;
constexpr int kWatchConn = 1;
constexpr int kConfirmTimer = 2;
constexpr int kRoundTimer = 3;
constexpr int kBatchTimer = 4;
constexpr int kRefreshTimer = 5;
constexpr int kHoldTimer = 6;  // wakes the loop when held news is due

// A node is the same node across reloads only if its name and address are.
std::string NodeKey(const NodeConfig& node) {
  char buf[kAddressTextMax];
  return node.name + "@" + FormatAddress(node.address, buf);
}

// epoll's word for a connection: its slot, which of the slot's two, and a
// number that no other connection had, so a late event of a closed one is
// recognised.
uint64_t EventData(size_t slot, int kind, uint32_t gen) {
  return (static_cast<uint64_t>(slot) << 32) | (static_cast<uint64_t>(kind) << 31) | (gen & 0x7fffffffu);
}

PollResult Outcome(PollOutcome o, const std::string& why) {
  PollResult r;
  r.outcome = o;
  r.error = why;
  return r;
}

}  // namespace

// One connection of a slot and what epoll knows of it.
struct EventPoller::Conn {
  std::unique_ptr<NodePoll> poll;
  uint32_t gen = 0;
  int registered_fd = -1;
  uint32_t registered_events = 0;
  Clock::time_point timer_at = Clock::time_point::max();  // the wake last put on the timer heap
};

// One node.
struct EventPoller::Slot {
  std::string key;
  size_t node = 0;
  int confirms_per_drop = 1;
  Conn poll;               // the poll in flight, if any
  bool poll_for_round = false;  // its result answers for the round
  bool poll_confirms = false;   // it confirms a dropped watch
  bool poll_late = false;       // it missed its round's deadline and runs on
  bool poll_refreshes = false;  // its result is news too (refreshes_running_ counts it)
  Clock::time_point poll_started;
  // What a late poll found, for the next round.
  bool late_done = false;
  PollResult late_result;
  Conn watch;              // connecting, or idle once its poll is done
  Clock::time_point watch_opened_at;
  Clock::time_point watch_dropped_at;
  bool watch_queued = false;
  int confirms_left = 0;   // failed polls still wanted after a drop
  Clock::time_point confirm_at = Clock::time_point::max();
  Clock::time_point refresh_at = Clock::time_point::max();
  bool round_done = true;
  PollResult round_result;
};

EventPoller::EventPoller() {
  InitMysqlLibrary();
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) error_ = std::string("epoll_create1: ") + strerror(errno);
  cfg_ = std::make_shared<const Config>();
  login_ = std::make_shared<const Login>();
}

EventPoller::~EventPoller() {
  for (size_t i = 0; i < slots_.size(); ++i) {
    Drop(i, kPollConn);
    Drop(i, kWatchConn);
  }
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

EventPoller::Conn& EventPoller::ConnOf(Slot& s, int kind) { return kind == kWatchConn ? s.watch : s.poll; }

// Tells epoll what the connection waits for now. The client library may
// have closed the socket we registered (epoll forgot it then) or opened
// another.
void EventPoller::Sync(size_t slot, int kind) {
  Conn& c = ConnOf(slots_[slot], kind);
  int fd = -1;
  uint32_t events = 0;
  if (c.poll && !c.poll->done()) {
    fd = c.poll->fd();
    events = (c.poll->wants_read() ? EPOLLIN : 0u) | (c.poll->wants_write() ? EPOLLOUT : 0u);
  } else if (c.poll && kind == kWatchConn && c.poll->result().outcome == PollOutcome::kOk) {
    fd = c.poll->fd();
    events = EPOLLIN | EPOLLRDHUP;
  }
  if (events == 0) fd = -1;
  if (fd == c.registered_fd && events == c.registered_events) return;
  if (c.registered_fd >= 0 && c.registered_fd != fd) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.registered_fd, nullptr);  // EBADF if already closed
    c.registered_fd = -1;
  }
  c.registered_events = 0;
  if (fd < 0 || epoll_fd_ < 0) return;
  struct epoll_event e = {};
  e.events = events;
  e.data.u64 = EventData(slot, kind, c.gen);
  int op = c.registered_fd == fd ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl(epoll_fd_, op, fd, &e) != 0) {
    if (op == EPOLL_CTL_MOD && errno == ENOENT) op = EPOLL_CTL_ADD;
    else if (op == EPOLL_CTL_ADD && errno == EEXIST) op = EPOLL_CTL_MOD;
    else op = -1;
    if (op < 0 || epoll_ctl(epoll_fd_, op, fd, &e) != 0) {
      // Not watched by epoll: only its deadline ends it.
      c.registered_fd = -1;
      return;
    }
  }
  c.registered_fd = fd;
  c.registered_events = events;
}

// Forgets a connection: out of epoll first, while its socket is still open.
void EventPoller::Drop(size_t slot, int kind) {
  Conn& c = ConnOf(slots_[slot], kind);
  if (kind == kWatchConn && c.poll && !c.poll->done()) --watch_logins_;
  if (c.registered_fd >= 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.registered_fd, nullptr);
  c.registered_fd = -1;
  c.registered_events = 0;
  c.poll.reset();
  c.timer_at = Clock::time_point::max();
}

void EventPoller::PushTimer(Clock::time_point when, size_t slot, int kind, uint32_t gen) {
  if (when == Clock::time_point::max()) return;
  timers_.push(Timer{when, slot, kind, gen});
}

EventPoller::Clock::time_point EventPoller::PollDeadline(Clock::time_point now) const {
  int64_t budget = std::min(cfg_->interval_ms * 9 / 10, cfg_->connect_timeout_ms + 2 * cfg_->query_timeout_ms);
  return now + std::chrono::milliseconds(budget);
}

void EventPoller::Configure(const Config& cfg, Clock::time_point now) {
  std::map<std::string, Slot> old;
  for (size_t i = 0; i < slots_.size(); ++i) {
    Drop(i, kPollConn);  // abandoned; a node with confirmations left is confirmed again
    // The slot moves: its watch's registration names the old index.
    Conn& w = slots_[i].watch;
    if (w.registered_fd >= 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, w.registered_fd, nullptr);
    w.registered_fd = -1;
    w.registered_events = 0;
    w.timer_at = Clock::time_point::max();
    old.emplace(slots_[i].key, std::move(slots_[i]));
  }
  slots_.clear();
  timers_ = decltype(timers_)();
  watch_queue_.clear();
  round_queue_.clear();
  round_running_ = false;
  round_pending_ = 0;
  news_.clear();
  refreshes_running_ = 0;

  cfg_ = std::make_shared<const Config>(cfg);
  login_ = std::make_shared<const Login>(ReadLogin(*cfg_, cfg_->credentials));
  slots_.resize(cfg.nodes.size());
  for (size_t n = 0; n < cfg.nodes.size(); ++n) {
    std::string key = NodeKey(cfg.nodes[n]);
    auto it = old.find(key);
    if (it != old.end()) {
      slots_[n] = std::move(it->second);
      old.erase(it);
    }
    Slot& s = slots_[n];
    s.key = key;
    s.node = n;
    s.round_done = true;
    s.watch_queued = false;
    int pool = cfg.PoolOfNode(static_cast<int>(n));
    s.confirms_per_drop = pool < 0 ? 1 : std::max(1, static_cast<int>(cfg.pools[static_cast<size_t>(pool)].failover_at));
    s.poll_for_round = s.poll_confirms = s.poll_late = s.late_done = s.poll_refreshes = false;
    s.refresh_at = Clock::time_point::max();
    if (s.watch.poll) {
      // A connecting watch polls with the old Config: start it again.
      if (!s.watch.poll->done() || !watching_) Drop(n, kWatchConn);
      else Sync(n, kWatchConn);
    }
    if (s.confirms_left > 0) ScheduleConfirm(n, now, now);
  }
  for (auto& [key, s] : old) {
    (void)key;
    s.watch.poll.reset();  // out of epoll already
  }
}

void EventPoller::StartRound(Clock::time_point now, Clock::time_point deadline, Clock::time_point poll_deadline) {
  // A new round reads the login again: a changed password is used at once.
  login_ = std::make_shared<const Login>(ReadLogin(*cfg_, cfg_->credentials));
  round_running_ = true;
  round_deadline_ = deadline;
  round_pending_ = slots_.size();
  for (Slot& s : slots_) s.round_done = false;
  PushTimer(deadline, 0, kRoundTimer, 0);
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (s.late_done) {
      // The last round's late poll ended since: the freshest news there is.
      s.late_done = false;
      s.round_done = true;
      s.round_result = std::move(s.late_result);
      --round_pending_;
    } else if (s.poll.poll && s.poll_late) {
      // Still no answer since the last round: this one is missed too.
      s.round_done = true;
      s.round_result = Outcome(PollOutcome::kTimeout, "poll missed its deadline (the previous one is still running)");
      --round_pending_;
    } else if (s.poll.poll) {
      s.poll_for_round = true;  // the confirmation in flight answers for the round
    } else {
      round_queue_.push_back(i);
    }
  }
  round_poll_deadline_ = std::max(deadline, poll_deadline);
  size_t batches = (round_queue_.size() + kRoundBatch - 1) / kRoundBatch;
  Clock::duration window = std::chrono::milliseconds(cfg_->interval_ms * 3 / 10);
  batch_gap_ = batches > 1 ? std::min<Clock::duration>(std::chrono::milliseconds(15), window / batches)
                           : Clock::duration::zero();
  next_batch_at_ = now;
  StartBatch(now);
  if (round_pending_ == 0) EndRound();
}

void EventPoller::StartBatch(Clock::time_point now) {
  for (size_t k = 0; k < kRoundBatch && !round_queue_.empty(); ++k) {
    size_t slot = round_queue_.front();
    round_queue_.pop_front();
    StartPoll(slot, true, now, round_poll_deadline_);
  }
  if (round_queue_.empty()) return;
  next_batch_at_ += batch_gap_;
  PushTimer(next_batch_at_, 0, kBatchTimer, 0);
}

void EventPoller::StartPoll(size_t slot, bool for_round, Clock::time_point now, Clock::time_point deadline) {
  Slot& s = slots_[slot];
  s.poll_for_round = for_round;
  s.poll_confirms = !for_round && s.confirms_left > 0;
  s.poll.gen = next_gen_++;
  if (epoll_fd_ < 0) {
    // No event loop to wait in: our fault, never the node's.
    s.poll.poll.reset();
    s.round_result = Outcome(PollOutcome::kMonitorError, error_);
    if (for_round && !s.round_done) {
      s.round_done = true;
      --round_pending_;
    }
    if (s.poll_refreshes) {
      s.poll_refreshes = false;
      --refreshes_running_;
    }
    return;
  }
  s.poll_started = now;
  s.poll.poll = std::make_unique<NodePoll>(cfg_, s.node, login_, NodePoll::Mode::kPoll, now, deadline);
  AfterAdvance(slot, kPollConn, now);
}

void EventPoller::QueueWatch(size_t slot, Clock::time_point now) {
  Slot& s = slots_[slot];
  if (s.watch_queued) return;
  s.watch_queued = true;
  watch_queue_.push_back(slot);
  StartWatches(now);
}

// Between rounds, a few at a time.
void EventPoller::StartWatches(Clock::time_point now) {
  while (!round_running_ && watch_logins_ < kWatchLoginsAtOnce && !watch_queue_.empty()) {
    size_t slot = watch_queue_.front();
    watch_queue_.pop_front();
    Slot& s = slots_[slot];
    s.watch_queued = false;
    if (s.watch.poll || !watching_) continue;
    s.watch_opened_at = now;
    s.watch.gen = next_gen_++;
    s.watch.poll = std::make_unique<NodePoll>(cfg_, s.node, login_, NodePoll::Mode::kWatch, now,
                                              now + std::chrono::milliseconds(cfg_->connect_timeout_ms));
    ++watch_logins_;
    AfterAdvance(slot, kWatchConn, now);
  }
}

// After a connection moved: epoll and the timers follow, and a finished one
// is taken care of.
void EventPoller::AfterAdvance(size_t slot, int kind, Clock::time_point now) {
  Sync(slot, kind);
  Conn& c = ConnOf(slots_[slot], kind);
  if (!c.poll) return;
  if (!c.poll->done()) {
    if (c.poll->wake() != c.timer_at) {
      c.timer_at = c.poll->wake();
      PushTimer(c.timer_at, slot, kind, c.gen);
    }
    return;
  }
  c.timer_at = Clock::time_point::max();
  if (kind == kPollConn) {
    FinishPoll(slot, now);
    return;
  }
  --watch_logins_;
  if (c.poll->result().outcome != PollOutcome::kOk) Drop(slot, kWatchConn);  // again after the next good poll
  StartWatches(now);
}

void EventPoller::FinishPoll(size_t slot, Clock::time_point now) {
  Slot& s = slots_[slot];
  PollResult r = s.poll.poll->result();
  bool for_round = s.poll_for_round;
  bool confirms = s.poll_confirms;
  bool late = s.poll_late;
  bool refreshes = s.poll_refreshes;
  Drop(slot, kPollConn);
  s.poll_for_round = s.poll_confirms = s.poll_late = s.poll_refreshes = false;
  if (observer_.poll_finished) observer_.poll_finished(s.node, r.outcome, now - s.poll_started);
  bool reported = false;  // as a failed poll, in the round or as a confirmation
  bool first_failure = false;  // of a dropped watch: the crash is confirmed
  if (for_round && round_running_ && !s.round_done) {
    s.round_done = true;
    s.round_result = r;
    reported = true;
    if (--round_pending_ == 0) EndRound();
  } else if ((confirms || refreshes) && PollFailed(r.outcome)) {
    news_.push_back(News{s.node, r});
    reported = true;
    first_failure = s.confirms_left > 0 && s.confirms_left == s.confirms_per_drop;
  } else if (late) {
    s.late_done = true;  // reported by the next round
    s.late_result = r;
  }
  if (refreshes) {
    --refreshes_running_;
    // A failure reaches the evaluation once, above; good news may come
    // twice (by the round too).
    if (r.outcome == PollOutcome::kOk) news_.push_back(News{s.node, r});
  }
  if (first_failure) RefreshPool(slot, now);
  if (r.outcome == PollOutcome::kOk) {
    s.confirms_left = 0;
    // A watch that the server ends as soon as it opens would be opened
    // again and again: one that lived less than kWatchMinLife waits for
    // the next round.
    bool short_lived = s.watch_dropped_at - s.watch_opened_at < kWatchMinLife;
    if (watching_ && !s.watch.poll && (for_round || !short_lived)) QueueWatch(slot, now);
  } else if (PollFailed(r.outcome) && s.confirms_left > 0) {
    if (reported) --s.confirms_left;
    if (s.confirms_left > 0) ScheduleConfirm(slot, now + kConfirmSpacing, now);
  } else {
    // Alive but refusing our login, or our own fault: the rounds tell.
    s.confirms_left = 0;
  }
}

// The other nodes of slot's pool, polled now: what each standby received
// from a writer that just died.
void EventPoller::RefreshPool(size_t slot, Clock::time_point now) {
  int pool = cfg_->PoolOfNode(static_cast<int>(slots_[slot].node));
  if (pool < 0) return;
  for (int n : cfg_->pools[static_cast<size_t>(pool)].nodes) {
    size_t other = static_cast<size_t>(n);
    if (other != slot && other < slots_.size()) StartRefresh(other, now);
  }
}

void EventPoller::Refresh(size_t node, Clock::time_point at, Clock::time_point now) {
  if (node >= slots_.size()) return;
  Slot& s = slots_[node];
  if (at <= now) {
    StartRefresh(node, now);
  } else if (at < s.refresh_at) {
    s.refresh_at = at;
    PushTimer(at, node, kRefreshTimer, 0);
  }
}

// A poll in flight answers for the refresh too; else one starts.
void EventPoller::StartRefresh(size_t slot, Clock::time_point now) {
  Slot& s = slots_[slot];
  s.refresh_at = Clock::time_point::max();
  if (s.poll_refreshes) return;
  s.poll_refreshes = true;
  if (refreshes_running_++ == 0) {
    hold_until_ = now + kRefreshHold;
    PushTimer(hold_until_, 0, kHoldTimer, 0);
  }
  if (!s.poll.poll) StartPoll(slot, false, now, PollDeadline(now));
}

void EventPoller::WatchDropped(size_t slot, Clock::time_point now) {
  Drop(slot, kWatchConn);
  ++watch_drops_;
  Slot& s = slots_[slot];
  s.watch_dropped_at = now;
  s.confirms_left = s.confirms_per_drop;
  ScheduleConfirm(slot, now, now);
}

void EventPoller::ScheduleConfirm(size_t slot, Clock::time_point at, Clock::time_point now) {
  Slot& s = slots_[slot];
  s.confirm_at = at;
  if (s.poll.poll) return;  // the poll in flight answers first; FinishPoll goes on
  if (at <= now) {
    StartPoll(slot, false, now, PollDeadline(now));
    return;
  }
  PushTimer(at, slot, kConfirmTimer, 0);
}

void EventPoller::EndRound() {
  round_queue_.clear();  // never started: missed the deadline like the others
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    if (s.round_done) continue;
    // Past the deadline: whatever still runs for the round has missed it,
    // and runs on, late, until its own deadline: if a stopped server does
    // not answer it, the next round counts that at once.
    s.poll_for_round = s.poll_confirms = false;
    s.poll_late = s.poll.poll != nullptr;
    if (s.confirms_left > 0) --s.confirms_left;
    s.round_result = Outcome(PollOutcome::kTimeout, "poll missed its deadline");
    s.round_done = true;
    if (observer_.deadline_missed) observer_.deadline_missed(s.node);
  }
  round_pending_ = 0;
}

void EventPoller::HandleTimer(const Timer& t, Clock::time_point now) {
  if (t.kind == kRoundTimer) {
    if (round_running_ && round_pending_ > 0 && now >= round_deadline_) EndRound();
    return;
  }
  if (t.kind == kBatchTimer) {
    if (round_running_ && !round_queue_.empty() && now >= next_batch_at_) StartBatch(now);
    return;
  }
  if (t.slot >= slots_.size()) return;
  Slot& s = slots_[t.slot];
  if (t.kind == kConfirmTimer) {
    if (s.confirms_left > 0 && !s.poll.poll && s.confirm_at <= now) StartPoll(t.slot, false, now, PollDeadline(now));
    return;
  }
  if (t.kind == kHoldTimer) return;  // the loop takes the news
  if (t.kind == kRefreshTimer) {
    if (s.refresh_at <= now) StartRefresh(t.slot, now);
    return;
  }
  Conn& c = ConnOf(s, t.kind);
  if (!c.poll || c.gen != t.gen || c.poll->done() || c.poll->wake() > now) return;
  c.timer_at = Clock::time_point::max();
  c.poll->Advance(false, false, now);
  AfterAdvance(t.slot, t.kind, now);
}

void EventPoller::Process(Clock::time_point now) {
  if (epoll_fd_ >= 0) {
    struct epoll_event events[256];
    int n;
    do {
      n = epoll_wait(epoll_fd_, events, 256, 0);
      for (int i = 0; i < n; ++i) {
        size_t slot = static_cast<size_t>(events[i].data.u64 >> 32);
        int kind = static_cast<int>((events[i].data.u64 >> 31) & 1);
        uint32_t gen = static_cast<uint32_t>(events[i].data.u64 & 0x7fffffffu);
        if (slot >= slots_.size()) continue;
        Conn& c = ConnOf(slots_[slot], kind);
        if (!c.poll || (c.gen & 0x7fffffffu) != gen) continue;  // closed since
        if (kind == kWatchConn && c.poll->done()) {
          WatchDropped(slot, now);  // an idle connection speaks only to end
          continue;
        }
        uint32_t e = events[i].events;
        bool trouble = (e & (EPOLLERR | EPOLLHUP)) != 0;
        c.poll->Advance((e & (EPOLLIN | EPOLLRDHUP)) || trouble, (e & EPOLLOUT) || trouble, now);
        AfterAdvance(slot, kind, now);
      }
    } while (n == 256);
  }
  while (!timers_.empty() && timers_.top().when <= now) {
    Timer t = timers_.top();
    timers_.pop();
    HandleTimer(t, now);
  }
}

EventPoller::Clock::time_point EventPoller::NextWake() const {
  return timers_.empty() ? Clock::time_point::max() : timers_.top().when;
}

bool EventPoller::TakeRound(std::vector<PollResult>* polls) {
  if (!round_running_ || round_pending_ > 0) return false;
  polls->clear();
  polls->reserve(slots_.size());
  for (Slot& s : slots_) polls->push_back(std::move(s.round_result));
  round_running_ = false;
  StartWatches(Clock::now());
  return true;
}

std::vector<EventPoller::News> EventPoller::TakeNews() {
  std::vector<News> out;
  if (refreshes_running_ == 0 || Clock::now() >= hold_until_) out.swap(news_);
  return out;
}

std::vector<PollResult> EventPoller::PollAll(const Config& cfg, Clock::time_point deadline) {
  Configure(cfg, Clock::now());
  StartRound(Clock::now(), deadline, deadline);
  std::vector<PollResult> polls;
  while (true) {
    Process(Clock::now());
    if (TakeRound(&polls)) return polls;
    Clock::time_point wake = NextWake();
    int64_t left = std::chrono::duration_cast<std::chrono::milliseconds>(wake - Clock::now() +
                                                                        std::chrono::microseconds(999))
                       .count();
    struct pollfd p = {epoll_fd_, POLLIN, 0};
    ::poll(&p, epoll_fd_ >= 0 ? 1 : 0, static_cast<int>(std::min<int64_t>(std::max<int64_t>(0, left), 1000)));
  }
}

int EventPoller::InFlight() const {
  int n = 0;
  for (const Slot& s : slots_) n += (s.poll.poll ? 1 : 0) + (s.watch.poll && !s.watch.poll->done() ? 1 : 0);
  return n;
}

int EventPoller::Watching() const {
  int n = 0;
  for (const Slot& s : slots_) n += s.watch.poll && s.watch.poll->done() ? 1 : 0;
  return n;
}

}  // namespace mpp
