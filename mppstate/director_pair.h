// This director's part in a director pair ([cluster], doc/director-pair.md)
// on the poll loop's side: it owns the session with etcd
// (cluster/cluster_session.h) and turns each evaluation into the pair's:
// while this director leads with a valid lease it decides, and its
// decision counts once etcd took it; otherwise it follows the published
// decision. A new leader first takes the published decision over.
// Thread-safety: the poll loop's thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cluster/cluster_session.h"
#include "config/config.h"
#include "core/evaluation.h"

namespace mpp {

class DirectorPair {
 public:
  // Starts the session for cfg.cluster; nullptr with *err when it cannot.
  static std::unique_ptr<DirectorPair> Start(const Config& cfg, std::string* err);
  ~DirectorPair();

  // Readable when the session has news (an eventfd).
  int event_fd() const;

  // Takes the session's news, logs what changed; true when an evaluation
  // should follow (the leader, the decision or etcd's reach changed).
  bool TakeNews();

  // One evaluation of cfg in the pair; results: one per command of in.
  Evaluation Evaluate(const Config& cfg, const Evaluation& before, const RoundInput& in,
                      std::vector<CommandResult>* results);

  // For the topology worker: "" while this director leads under the
  // current epoch (asked of etcd), else why not.
  std::function<std::string()> Guard() { return session_->Guard(); }

  // Where this director stands now, for the status views.
  ClusterRole Role(const Config& cfg, bool deciding) const;

  // Why a command that changes the decision is refused here.
  std::string NotDeciding() const;

  // Ends the session; resign lets another director take over at once.
  void Stop(bool resign) { session_->Stop(resign); }

 private:
  explicit DirectorPair(std::unique_ptr<ClusterSession> session) : session_(std::move(session)) {}
  std::string FollowNote(const Config& cfg, bool* frozen, bool* expired) const;

  std::unique_ptr<ClusterSession> session_;
  ClusterSnapshot snap_;
  int64_t adopted_epoch_ = 0;      // the epoch whose start took the published decision over
  bool publish_failed_ = false;    // this round: no new attempt before the next one
  PublishedDecision no_decision_;  // followed before any is published
};

}  // namespace mpp
