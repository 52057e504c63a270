#include "mppstate/topology_worker.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <system_error>

#include "mppstate/node_rewind.h"
#include "mppstate/poller.h"

namespace mpp {

struct TopologyWorker::Shared {
  struct Work {
    std::shared_ptr<const Config> cfg;
    bool is_job = false;
    TopologyJob job;
    std::vector<TopologyStep> plan;
  };

  std::mutex mu;
  std::condition_variable cv;
  std::deque<Work> jobs;
  std::unique_ptr<Work> plan;  // the plan waiting to run
  bool running = false;        // a job or a plan is being run
  bool stop = false;
  bool ended = false;          // the thread has left its loop
  uint64_t next_job = 1;
  std::map<std::string, std::string> actives;
  std::function<std::string()> guard;  // set before the thread starts
  std::vector<TopologyReport> reports;
  int event_fd = -1;
  // The worker thread's own: when each node last answered a look through
  // the admin login (an admin-evidence step); a look that got no answer
  // removes it.
  std::map<std::string, std::chrono::steady_clock::time_point> answered_at;

  ~Shared() {
    if (event_fd >= 0) close(event_fd);
  }

  std::string ActiveOf(const std::string& pool) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = actives.find(pool);
    return it == actives.end() ? "" : it->second;
  }

  bool Stopping() {
    std::lock_guard<std::mutex> lock(mu);
    return stop;
  }

  void Report(TopologyReport r) {
    {
      std::lock_guard<std::mutex> lock(mu);
      reports.push_back(std::move(r));
    }
    uint64_t one = 1;
    ssize_t n = write(event_fd, &one, sizeof one);
    (void)n;  // the counter only saturates: a wake-up is pending anyway
  }

  // "" when a change may be made now, else why not.
  std::string Refusal() { return guard ? guard() : ""; }

  void Loop();
  void RunJob(const Config& cfg, const TopologyJob& job);
  void RunPlan(const Config& cfg, const std::vector<TopologyStep>& plan);
};

namespace {

const NodeConfig* FindNode(const Config& cfg, const std::string& name) {
  int n = cfg.FindNode(name);
  return n < 0 ? nullptr : &cfg.nodes[static_cast<size_t>(n)];
}

// How long an attachment may take to show both replication threads running:
// a connect to the ACTIVE and its first answers.
int64_t AttachWaitMs(const Config& cfg) { return cfg.connect_timeout_ms + 2 * cfg.query_timeout_ms + 1000; }

bool SemiSyncOf(const Config& cfg, const std::string& pool) {
  for (const PoolConfig& p : cfg.pools)
    if (p.name == pool) return p.semi_sync;
  return false;
}

// The nodes of pool but a and b.
std::vector<NodeConfig> OthersOf(const Config& cfg, const PoolConfig& pool, int a, int b) {
  std::vector<NodeConfig> out;
  for (int n : pool.nodes)
    if (n != a && n != b) out.push_back(cfg.nodes[static_cast<size_t>(n)]);
  return out;
}

}  // namespace

void TopologyWorker::Shared::Loop() {
  MysqlThread registered;
  while (true) {
    Work work;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return stop || !jobs.empty() || plan != nullptr; });
      if (stop) break;
      if (!jobs.empty()) {
        work = std::move(jobs.front());
        jobs.pop_front();
      } else {
        work = std::move(*plan);
        plan.reset();
      }
      running = true;
    }
    if (work.is_job) RunJob(*work.cfg, work.job);
    else RunPlan(*work.cfg, work.plan);
    std::lock_guard<std::mutex> lock(mu);
    running = false;
  }
  std::lock_guard<std::mutex> lock(mu);
  ended = true;
  cv.notify_all();
}

void TopologyWorker::Shared::RunJob(const Config& cfg, const TopologyJob& job) {
  TopologyReport r;
  r.job = job.id;
  r.job_kind = job.kind;
  r.pool = job.pool;
  r.node = job.node;
  const NodeConfig* node = FindNode(cfg, job.node);
  const NodeConfig* target = FindNode(cfg, job.target);
  if (node == nullptr || target == nullptr) {
    r.outcome.message = "unknown node";
    Report(r);
    return;
  }
  if (job.kind == TopologyJob::kRewind) {
    r.step = TopologyStepKind::kRewind;
    r.why = "rewind " + job.node + " to what " + job.target + " has";
    std::string refused = Refusal();
    if (ActiveOf(job.pool) != job.target)
      r.outcome = StepOutcome{false, "the ACTIVE of pool " + job.pool + " changed: try again", false};
    else if (!refused.empty())
      r.outcome = StepOutcome{false, refused, false};
    else
      r.outcome = RewindNode(cfg, *node, *target, OthersOf(cfg, cfg.pools[static_cast<size_t>(cfg.FindPool(job.pool))],
                                                           cfg.FindNode(job.node), cfg.FindNode(job.target)),
                             job.semi_sync, job.writer_semi, job.seal, job.acks_cut);
    Report(r);
    return;
  }
  if (job.kind == TopologyJob::kRejoin) {
    // Read-only before anything else: it may have come back writable.
    r.step = TopologyStepKind::kFence;
    r.why = "fence " + job.node;
    std::string refused = Refusal();
    r.outcome = refused.empty() ? FenceNode(cfg, *node, job.writer_semi, job.acks_cut) : StepOutcome{false, refused, false};
    r.fenced = r.outcome.ok;
    if (r.outcome.ok) {
      r.step = TopologyStepKind::kAttach;
      r.why = "attach " + job.node + " to " + job.target;
      std::string refused_attach = Refusal();
      if (ActiveOf(job.pool) != job.target)
        r.outcome = StepOutcome{false, "the ACTIVE of pool " + job.pool + " changed: try again", false};
      else if (!refused_attach.empty())
        r.outcome = StepOutcome{false, refused_attach, false};
      else
        r.outcome = AttachNode(cfg, *node, *target, SemiSyncOf(cfg, job.pool), AttachWaitMs(cfg));
    }
    Report(r);
    return;
  }
  // A switchover: the old writer fenced, the target caught up; the poll loop
  // then moves the decision, and the plans promote and re-point.
  r.why = job.node + " -> " + job.target + ": fence " + job.node;
  if (job.fence) {
    r.step = TopologyStepKind::kFence;
    std::string refused = Refusal();
    r.outcome = refused.empty() ? FenceNode(cfg, *node, job.writer_semi, job.acks_cut) : StepOutcome{false, refused, false};
    if (!r.outcome.ok) {
      r.outcome.message = "cannot fence: " + r.outcome.message;
      Report(r);
      return;
    }
    r.fenced = true;
  }
  r.why = job.node + " -> " + job.target + ": " + (job.fence ? job.node + " fenced, " : std::string()) + "catch-up of " +
          job.target;
  StepOutcome caught_up = WaitForCatchUp(cfg, *node, *target, cfg.switchover_timeout_ms);
  if (caught_up.ok) {
    r.outcome = caught_up;
    Report(r);
    return;
  }
  r.outcome = caught_up;
  if (job.fence) {
    // Undone once, by the job that fenced it, and only while it is still
    // the writer: nothing else acts on the pool meanwhile.
    if (ActiveOf(job.pool) == job.node && Refusal().empty()) {
      StepOutcome undo = UnfenceNode(cfg, *node);
      if (!undo.ok) r.outcome.message += "; and read_only OFF on " + job.node + " failed: " + undo.message;
    }
  }
  Report(r);
}

void TopologyWorker::Shared::RunPlan(const Config& cfg, const std::vector<TopologyStep>& plan) {
  std::set<int> blocked;  // pools whose fence or promotion failed
  // Nodes an attachment found diverged in a pool with rewind: their
  // semi-sync stays as it is for the rewind to read (core/topology.cc).
  std::set<int> to_rewind;
  for (const TopologyStep& step : plan) {
    if (Stopping()) return;
    if (blocked.count(step.pool)) continue;
    if (step.kind == TopologyStepKind::kSemiSync && to_rewind.count(step.node)) continue;
    const PoolConfig& pool = cfg.pools[static_cast<size_t>(step.pool)];
    const NodeConfig& node = cfg.nodes[static_cast<size_t>(step.node)];
    // The decision may have moved since the plan was made. A sever may
    // also come before any ACTIVE: an election in place of a failing writer.
    std::string active = ActiveOf(pool.name);
    const std::string& source = step.source >= 0 ? cfg.nodes[static_cast<size_t>(step.source)].name : node.name;
    bool still = step.kind == TopologyStepKind::kFence     ? !active.empty() && active != node.name
                 : step.kind == TopologyStepKind::kPromote ? active == node.name
                 : step.kind == TopologyStepKind::kSever   ? active.empty() || active == source
                                                           : active == source;
    if (!still) {
      blocked.insert(step.pool);
      continue;
    }
    TopologyReport r;
    r.step = step.kind;
    r.pool = pool.name;
    r.node = node.name;
    r.why = step.why;
    std::string refused = Refusal();
    if (!refused.empty()) {
      r.outcome = StepOutcome{false, refused, false};
      blocked.insert(step.pool);
      Report(r);
      continue;
    }
    if (step.admin_evidence) {
      // Acted on only if the admin login shows it is needed, and it
      // answered the previous look too, a moment ago: a node that answers
      // a first look may have just come back from a hang, when a commit it
      // resumes does not show yet as waiting for its acknowledgement, and a
      // fence would cut it off uncounted (node_rewind.h). Its next poll, or
      // the next look, decides. Said so in the log when acted on.
      AdminView seen = SeeWithAdminLogin(cfg, node);
      auto now = std::chrono::steady_clock::now();
      auto prev = answered_at.find(node.name);
      bool steady = seen.answered && prev != answered_at.end() &&
                    now - prev->second <= std::chrono::milliseconds(std::max<int64_t>(1000, 3 * cfg.interval_ms));
      if (seen.answered) answered_at[node.name] = now;
      else answered_at.erase(node.name);
      bool needed = steady &&
                    (step.kind == TopologyStepKind::kFence
                         ? !seen.read_only
                         : seen.read_only || (step.stop_replication && seen.replicating));
      if (!needed) continue;
      r.why += "; the admin login sees it " + std::string(seen.read_only ? "read_only" : "writable") +
               (seen.replicating ? ", replicating" : "") + ": acting on that";
    }
    switch (step.kind) {
      case TopologyStepKind::kFence:
        r.outcome = FenceNode(cfg, node, step.writer_semi, step.acks_cut);
        r.fenced = r.outcome.ok;
        break;
      case TopologyStepKind::kPromote: {
        std::vector<NodeConfig> others;
        for (int n : pool.nodes)
          if (n != step.node) others.push_back(cfg.nodes[static_cast<size_t>(n)]);
        r.outcome = PromoteNode(cfg, node, step.stop_replication, step.semi_sync,
                                std::max(pool.promote_wait_ms, cfg.switchover_timeout_ms), others);
        break;
      }
      case TopologyStepKind::kAttach:
        r.outcome =
            AttachNode(cfg, node, cfg.nodes[static_cast<size_t>(step.source)], step.semi_sync, AttachWaitMs(cfg));
        break;
      case TopologyStepKind::kStartReplication:
        r.outcome = StartReplication(cfg, node, AttachWaitMs(cfg));
        break;
      case TopologyStepKind::kSever:
        r.outcome = SeverNode(cfg, node, cfg.nodes[static_cast<size_t>(step.source)], step.semi_sync,
                              AttachWaitMs(cfg));
        break;
      case TopologyStepKind::kSemiSync:
        r.outcome = SetSemiSync(cfg, node, step.node == step.source, step.semi_replica, AttachWaitMs(cfg));
        break;
      case TopologyStepKind::kRewind:
        r.outcome = RewindNode(cfg, node, cfg.nodes[static_cast<size_t>(step.source)],
                               OthersOf(cfg, pool, step.node, step.source), pool.semi_sync, step.writer_semi,
                               step.seal, step.acks_cut);
        break;
    }
    if (step.kind == TopologyStepKind::kAttach && r.outcome.diverged && pool.rewind) to_rewind.insert(step.node);
    bool gate = step.kind == TopologyStepKind::kFence || step.kind == TopologyStepKind::kPromote;
    if (gate && !r.outcome.ok) blocked.insert(step.pool);
    Report(r);
  }
}

TopologyWorker::TopologyWorker() : s_(std::make_shared<Shared>()) {}

TopologyWorker::~TopologyWorker() { Stop(0); }

bool TopologyWorker::Start(std::string* err) {
  s_->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (s_->event_fd < 0) {
    *err = std::string("eventfd: ") + std::system_category().message(errno);
    return false;
  }
  event_fd_ = s_->event_fd;
  try {
    std::shared_ptr<Shared> s = s_;
    thread_ = std::thread([s] { s->Loop(); });
  } catch (const std::system_error& e) {
    *err = std::string("cannot start the topology worker: ") + e.what();
    return false;
  }
  return true;
}

void TopologyWorker::SetGuard(std::function<std::string()> guard) { s_->guard = std::move(guard); }

void TopologyWorker::PublishActives(std::map<std::string, std::string> actives) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->actives = std::move(actives);
}

bool TopologyWorker::OfferPlan(std::shared_ptr<const Config> cfg, std::vector<TopologyStep> plan) {
  std::lock_guard<std::mutex> lock(s_->mu);
  if (s_->running || !s_->jobs.empty() || !thread_.joinable()) return false;
  s_->plan = std::make_unique<Shared::Work>();
  s_->plan->cfg = std::move(cfg);
  s_->plan->plan = std::move(plan);
  s_->cv.notify_all();
  return true;
}

uint64_t TopologyWorker::Submit(std::shared_ptr<const Config> cfg, TopologyJob job) {
  std::lock_guard<std::mutex> lock(s_->mu);
  job.id = s_->next_job++;
  Shared::Work w;
  w.cfg = std::move(cfg);
  w.is_job = true;
  w.job = job;
  s_->jobs.push_back(std::move(w));
  s_->plan.reset();  // made before the job: the next round plans afresh
  s_->cv.notify_all();
  return job.id;
}

std::vector<TopologyReport> TopologyWorker::TakeReports() {
  uint64_t count;
  ssize_t n = read(event_fd_, &count, sizeof count);  // clears the wake-up
  (void)n;
  std::lock_guard<std::mutex> lock(s_->mu);
  std::vector<TopologyReport> out;
  out.swap(s_->reports);
  return out;
}

bool TopologyWorker::Stop(int64_t deadline_ms) {
  if (!thread_.joinable()) return true;
  std::unique_lock<std::mutex> lock(s_->mu);
  s_->stop = true;
  s_->cv.notify_all();
  bool ended = s_->cv.wait_for(lock, std::chrono::milliseconds(deadline_ms), [&] { return s_->ended; });
  lock.unlock();
  if (ended) thread_.join();
  else thread_.detach();
  return ended;
}

}  // namespace mpp
