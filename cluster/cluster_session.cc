#include "cluster/cluster_session.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <system_error>

#include "cluster/decision_codec.h"
#include "config/option_file.h"

namespace mpp {

struct ClusterSession::Shared {
  ClusterConfig cfg;
  std::string name;
  EtcdOptions etcd;
  std::string leader_key, decision_key;

  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  bool resign = false;
  bool campaign_now = false;  // the leader key is gone
  // The watch may be stuck (a stopped member leaves a stream silent for
  // good): set when an exchange failed or the session read news the watch
  // had not brought; the watch starts over.
  bool restart_watch = false;
  int64_t lease = 0;          // ours; 0 while none
  ClusterSnapshot snap;
  int event_fd = -1;

  ~Shared() {
    if (event_fd >= 0) close(event_fd);
  }

  void Wake() {
    uint64_t one = 1;
    ssize_t n = write(event_fd, &one, sizeof one);
    (void)n;  // the counter only saturates: a wake-up is pending anyway
  }

  bool Stopping() {
    std::lock_guard<std::mutex> lock(mu);
    return stop;
  }

  // Waits until d has passed since from, or a stop, or a campaign is due.
  void Pause(Clock::time_point from, std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_until(lock, from + d, [&] { return stop || campaign_now; });
  }

  // REQUIRES: mu held. A published value, kept if it is newer than the one
  // held; one that cannot be read is reported and ignored.
  bool TakeDecision(const EtcdKv& kv) {
    if (kv.mod_revision <= snap.decision_revision) return false;
    PublishedDecision d;
    std::string err;
    if (!DecodeDecision(kv.value, &d, &err)) {
      snap.error = decision_key + ": " + err;
      snap.decision_revision = kv.mod_revision;
      return true;
    }
    snap.decision = std::move(d);
    snap.decision_revision = kv.mod_revision;
    snap.have_decision = true;
    return true;
  }

  // REQUIRES: mu held. The leader key as read (absent: kvs empty).
  void TakeLeaderKey(const std::vector<EtcdKv>& kvs) {
    if (kvs.empty()) {
      snap.leader = false;
      snap.leader_name.clear();
      snap.epoch = 0;
      campaign_now = true;
      cv.notify_all();
      return;
    }
    const EtcdKv& kv = kvs[0];
    snap.leader = kv.value == name && kv.lease == lease && lease != 0;
    snap.leader_name = kv.value;
    snap.epoch = kv.create_revision;
  }

  void Contact(const std::string& err) {
    if (err.empty()) {
      snap.contact = true;
      snap.last_contact = Clock::now();
    }
    snap.error = err;
  }

  void SessionLoop();
  void WatchLoop();
  std::string CheckEpoch(EtcdClient* etcd);
};

std::string ClusterSession::Shared::CheckEpoch(EtcdClient* etcd) {
  int64_t epoch;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!snap.Deciding(Clock::now())) return "this director is not the leader now";
    epoch = snap.epoch;
  }
  // The lease may have expired while this process was stopped: only etcd
  // can say the epoch is still the current one.
  EtcdTxnResult r;
  std::string err;
  EtcdCompare ours{EtcdCompare::kCreateRevision, leader_key, epoch, ""};
  if (!etcd->Txn({ours}, {}, {}, &r, &err)) return "cannot confirm the leadership in etcd: " + err;
  if (!r.succeeded) return "epoch " + std::to_string(epoch) + " is over: another director leads";
  return "";
}

void ClusterSession::Shared::SessionLoop() {
  EtcdClient etcd(this->etcd);
  const int64_t ttl_s = cfg.lease_ms / 1000;
  const std::chrono::milliseconds period(cfg.lease_ms / 3);
  int64_t my_lease = 0;
  while (!Stopping()) {
    Clock::time_point sent = Clock::now();
    std::string err;
    int64_t ttl = 0;
    bool ok;
    if (my_lease == 0) {
      int64_t id = 0;
      ok = etcd.LeaseGrant(ttl_s, &id, &ttl, &err);
      if (ok) my_lease = id;
    } else {
      ok = etcd.LeaseKeepAlive(my_lease, &ttl, &err);
      if (ok && ttl == 0) {
        // Expired while we could not renew it: the key went with it.
        std::lock_guard<std::mutex> lock(mu);
        my_lease = lease = 0;
        snap.leader = false;
        Wake();
        continue;
      }
    }
    Clock::time_point valid_until = sent + std::chrono::milliseconds(ttl * 900);
    EtcdTxnResult r;
    if (ok) {
      {
        std::lock_guard<std::mutex> lock(mu);
        lease = my_lease;
        campaign_now = false;
      }
      EtcdCompare absent{EtcdCompare::kCreateRevision, leader_key, 0, ""};
      EtcdOp put{EtcdOp::kPut, leader_key, name, my_lease};
      EtcdOp read_leader{EtcdOp::kRange, leader_key, "", 0};
      EtcdOp read_decision{EtcdOp::kRange, decision_key, "", 0};
      ok = etcd.Txn({absent}, {put, read_decision}, {read_leader, read_decision}, &r, &err);
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      Contact(ok ? "" : err);
      if (!ok) restart_watch = true;
      if (ok) {
        if (r.succeeded) {
          snap.leader = true;
          snap.leader_name = name;
          snap.epoch = r.revision;  // the put's revision: the key's create_revision
        } else {
          TakeLeaderKey(r.ranges.empty() ? std::vector<EtcdKv>() : r.ranges[0]);
        }
        if (snap.leader) snap.lease_valid_until = valid_until;
        if (r.ranges.size() == 2 && !r.ranges[1].empty() && TakeDecision(r.ranges[1][0])) restart_watch = true;
      }
    }
    Wake();
    // A failure is retried soon, on the next endpoint; a success waits a
    // third of the TTL, or for the leader key to go.
    Pause(sent, ok ? period : std::chrono::milliseconds(200));
  }
  bool resign_now;
  {
    std::lock_guard<std::mutex> lock(mu);
    resign_now = resign;
  }
  std::string err;
  if (resign_now && my_lease != 0) etcd.LeaseRevoke(my_lease, &err);
}

void ClusterSession::Shared::WatchLoop() {
  EtcdClient etcd(this->etcd);
  while (!Stopping()) {
    // The leader key and the decision at one revision, then every change
    // after it.
    EtcdTxnResult r;
    std::string err;
    EtcdOp read_leader{EtcdOp::kRange, leader_key, "", 0};
    EtcdOp read_decision{EtcdOp::kRange, decision_key, "", 0};
    if (!etcd.Txn({}, {read_leader, read_decision}, {}, &r, &err) || r.ranges.size() != 2) {
      Pause(Clock::now(), std::chrono::milliseconds(200));
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      restart_watch = false;
      Contact("");
      TakeLeaderKey(r.ranges[0]);
      if (!r.ranges[1].empty()) TakeDecision(r.ranges[1][0]);
    }
    Wake();
    auto on_event = [&](const EtcdEvent& e) {
      std::lock_guard<std::mutex> lock(mu);
      if (e.kv.key == leader_key) {
        TakeLeaderKey(e.deleted ? std::vector<EtcdKv>() : std::vector<EtcdKv>{e.kv});
      } else if (e.kv.key == decision_key && !e.deleted) {
        TakeDecision(e.kv);
      }
      Wake();
    };
    etcd.Watch(
        cfg.prefix, r.revision + 1, on_event,
        [&] {
          std::lock_guard<std::mutex> lock(mu);
          return stop || restart_watch;
        },
        &err);
    if (!Stopping()) Pause(Clock::now(), std::chrono::milliseconds(200));
  }
}

ClusterSession::ClusterSession(const ClusterConfig& cfg, const std::string& name, const EtcdOptions& etcd)
    : s_(std::make_shared<Shared>()) {
  s_->cfg = cfg;
  s_->name = name;
  s_->etcd = etcd;
  s_->leader_key = cfg.prefix + "leader";
  s_->decision_key = cfg.prefix + "decision";
  EtcdOptions publish = etcd;
  publish.timeout_ms = cfg.lease_ms / 2;
  publisher_ = std::make_unique<EtcdClient>(publish);
}

ClusterSession::~ClusterSession() { Stop(false); }

bool ClusterSession::Start(std::string* err) {
  s_->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (s_->event_fd < 0) {
    *err = std::string("eventfd: ") + std::system_category().message(errno);
    return false;
  }
  try {
    std::shared_ptr<Shared> s = s_;
    session_ = std::thread([s] { s->SessionLoop(); });
    watch_ = std::thread([s] { s->WatchLoop(); });
  } catch (const std::system_error& e) {
    *err = std::string("cannot start the cluster threads: ") + e.what();
    Stop(false);
    return false;
  }
  return true;
}

int ClusterSession::event_fd() const { return s_->event_fd; }

const std::string& ClusterSession::name() const { return s_->name; }

ClusterSnapshot ClusterSession::Snapshot() {
  uint64_t count;
  ssize_t n = read(s_->event_fd, &count, sizeof count);  // clears the wake-up
  (void)n;
  std::lock_guard<std::mutex> lock(s_->mu);
  return s_->snap;
}

bool ClusterSession::Publish(const PublishedDecision& d, std::string* err) {
  EtcdCompare ours{EtcdCompare::kCreateRevision, s_->leader_key, d.epoch, ""};
  EtcdOp put{EtcdOp::kPut, s_->decision_key, EncodeDecision(d), 0};
  EtcdOp read_leader{EtcdOp::kRange, s_->leader_key, "", 0};
  EtcdTxnResult r;
  if (!publisher_->Txn({ours}, {put}, {read_leader}, &r, err)) return false;
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->Contact("");
  if (!r.succeeded) {
    std::vector<EtcdKv> kvs = r.ranges.empty() ? std::vector<EtcdKv>() : r.ranges[0];
    *err = "epoch " + std::to_string(d.epoch) + " is over: " +
           (kvs.empty() ? std::string("no leader now")
                        : "the leader is " + kvs[0].value + " (epoch " + std::to_string(kvs[0].create_revision) + ")");
    s_->TakeLeaderKey(kvs);
    return false;
  }
  if (r.revision > s_->snap.decision_revision) {
    s_->snap.decision = d;
    s_->snap.decision_revision = r.revision;
    s_->snap.have_decision = true;
  }
  return true;
}

std::function<std::string()> ClusterSession::Guard() {
  // The worker's own client: a curl handle is for one thread.
  auto etcd = std::make_shared<EtcdClient>(s_->etcd);
  std::shared_ptr<Shared> s = s_;
  return [s, etcd] { return s->CheckEpoch(etcd.get()); };
}

void ClusterSession::Stop(bool resign) {
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->stop = true;
    s_->resign = resign;
    s_->cv.notify_all();
  }
  if (session_.joinable()) session_.join();
  if (watch_.joinable()) watch_.join();
}

bool EtcdOptionsFor(const ClusterConfig& cfg, EtcdOptions* out, std::string* err) {
  EtcdOptions o;
  o.endpoints = cfg.etcd;
  o.cacert = cfg.cacert;
  o.cert = cfg.cert;
  o.key = cfg.key;
  // A third of the lease: a renewal must get through well before it ends.
  o.timeout_ms = cfg.lease_ms / 3;
  if (!cfg.credentials.empty()) {
    ClientOptions login;
    if (!ReadClientOptions(cfg.credentials, &login, err)) return false;
    if (login.user.empty()) {
      *err = cfg.credentials + ": no user for etcd";
      return false;
    }
    o.user = login.user;
    o.password = login.password;
  }
  *out = o;
  return true;
}

}  // namespace mpp
