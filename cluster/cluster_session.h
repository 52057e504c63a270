// A director's part in a director pair (doc/director-pair.md), on threads
// of its own, so that the poll loop waits on etcd only to publish:
//   - the session thread holds a lease, campaigns for the leader key
//     (PREFIX leader: created only if absent, bound to the lease, valued
//     with the director's name) and renews the lease every third of its
//     TTL. The leader's epoch is the key's create_revision: a new leader
//     always has a greater one.
//   - the watch thread follows every key under PREFIX: the published
//     decision (PREFIX decision) and the leader key, whose deletion (the
//     leader's lease expired or was revoked) starts a campaign at once.
// The poll loop reads a snapshot whenever event_fd() is readable, and
// publishes its decisions with Publish(), guarded by its epoch. The
// topology worker asks Guard() before each change to a database.
//
// Thread-safety: Start, Snapshot, Publish, Guard and Stop are for the poll
// loop's thread; the callable Guard() returns is for one other thread.
#pragma once

#include <stdint.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "cluster/etcd_client.h"
#include "config/config.h"
#include "core/published_decision.h"

namespace mpp {

struct ClusterSnapshot {
  using Clock = std::chrono::steady_clock;
  // This director holds the leader key; it may decide only before
  // lease_valid_until (the last renewal's send time plus 90% of the TTL,
  // on the monotonic clock, which runs on while the process is stopped).
  bool leader = false;
  Clock::time_point lease_valid_until;
  int64_t epoch = 0;        // the leader key's create_revision; 0: no leader known
  std::string leader_name;  // "" when no leader is known
  bool contact = false;     // etcd has answered since the start
  Clock::time_point last_contact;
  bool have_decision = false;
  PublishedDecision decision;  // the latest published, by its revision
  int64_t decision_revision = 0;
  std::string error;        // why the last exchange failed; "" after a success

  // May decide now.
  bool Deciding(Clock::time_point now) const { return leader && now < lease_valid_until; }
};

class ClusterSession {
 public:
  using Clock = std::chrono::steady_clock;

  // name: this director (the config's, or the host name).
  ClusterSession(const ClusterConfig& cfg, const std::string& name, const EtcdOptions& etcd);
  ~ClusterSession();
  ClusterSession(const ClusterSession&) = delete;
  ClusterSession& operator=(const ClusterSession&) = delete;

  bool Start(std::string* err);
  // Readable (an eventfd) when the snapshot changed.
  int event_fd() const;
  ClusterSnapshot Snapshot();

  // Writes d (its epoch, seq, leader and time set by the caller) as the
  // decision, only if the leader key still has d.epoch as create_revision:
  // a deposed leader's write fails. Blocks up to the publication budget
  // (half the lease). On success the snapshot holds d.
  bool Publish(const PublishedDecision& d, std::string* err);

  // A check for the topology worker, run before each change to a
  // database: "" while this director leads under the current epoch, read
  // from etcd itself; else why not.
  std::function<std::string()> Guard();

  // Ends the threads; resign revokes the lease, so that another director
  // takes over at once rather than after the TTL.
  void Stop(bool resign);

  const std::string& name() const;

 private:
  struct Shared;
  std::shared_ptr<Shared> s_;
  std::unique_ptr<EtcdClient> publisher_;
  std::thread session_, watch_;
};

// The client options for cfg (endpoints, TLS, the login of cfg.credentials).
bool EtcdOptionsFor(const ClusterConfig& cfg, EtcdOptions* out, std::string* err);

}  // namespace mpp
