#include "mppstate/director_pair.h"

#include <unistd.h>

#include "mppstate/logger.h"

namespace mpp {

using Clock = std::chrono::steady_clock;

std::unique_ptr<DirectorPair> DirectorPair::Start(const Config& cfg, std::string* err) {
  std::string name = cfg.cluster.name;
  if (name.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
      *err = "[cluster]: no name and no host name: set name =";
      return nullptr;
    }
    name = host;
  }
  EtcdOptions etcd;
  if (!EtcdOptionsFor(cfg.cluster, &etcd, err)) {
    *err = "[cluster]: " + *err;
    return nullptr;
  }
  auto session = std::make_unique<ClusterSession>(cfg.cluster, name, etcd);
  if (!session->Start(err)) return nullptr;
  Log(LogLevel::kNotice, "director pair: %s joins through %zu etcd members, lease %llds, prefix %s", name.c_str(),
      cfg.cluster.etcd.size(), static_cast<long long>(cfg.cluster.lease_ms / 1000), cfg.cluster.prefix.c_str());
  return std::unique_ptr<DirectorPair>(new DirectorPair(std::move(session)));
}

DirectorPair::~DirectorPair() { session_->Stop(false); }

int DirectorPair::event_fd() const { return session_->event_fd(); }

bool DirectorPair::TakeNews() {
  ClusterSnapshot now = session_->Snapshot();
  const ClusterSnapshot& was = snap_;
  Clock::time_point t = Clock::now();
  bool relevant = now.Deciding(t) != was.Deciding(t) || now.leader != was.leader || now.epoch != was.epoch ||
                  now.leader_name != was.leader_name || now.decision_revision != was.decision_revision ||
                  now.contact != was.contact || now.error.empty() != was.error.empty();
  if (now.leader_name != was.leader_name || now.epoch != was.epoch) {
    if (now.leader_name.empty())
      Log(LogLevel::kNotice, "director pair: no leader");
    else
      Log(LogLevel::kNotice, "director pair: the leader is %s (epoch %lld)%s", now.leader_name.c_str(),
          static_cast<long long>(now.epoch), now.leader ? ": this director" : "");
  }
  if (now.error.empty() != was.error.empty()) {
    if (!now.error.empty()) Log(LogLevel::kWarning, "director pair: etcd: %s", now.error.c_str());
    else if (was.contact) Log(LogLevel::kNotice, "director pair: etcd answers again");
  }
  snap_ = std::move(now);
  return relevant;
}

// Why this director does not decide now, for the pools' note; *frozen:
// etcd is out of reach; *expired: for longer than stale_after, so the
// decision it last saw is no longer served.
std::string DirectorPair::FollowNote(const Config& cfg, bool* frozen, bool* expired) const {
  const ClusterSnapshot& c = snap_;
  auto since_contact = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - c.last_contact).count();
  bool starting = !c.contact && c.error.empty();
  *frozen = !starting && (!c.error.empty() || since_contact > cfg.cluster.lease_ms);
  *expired = c.have_decision && (!c.contact || since_contact > cfg.stale_after_ms);
  std::string decision = c.have_decision ? "decision " + std::to_string(c.decision.seq) + " of " + c.decision.leader +
                                               " (epoch " + std::to_string(c.decision.epoch) + ")"
                                         : std::string("no decision published yet");
  if (starting) return "joining the director pair: waiting for etcd";
  if (*expired)
    return "decisions frozen: etcd out of reach for longer than stale_after; every server down (" + decision + ")";
  if (*frozen) return "decisions frozen: etcd out of reach; serving " + decision;
  if (c.leader_name.empty()) return "no leader: serving " + decision;
  if (c.leader) return "leader without a valid lease: serving " + decision;
  return "following " + c.leader_name + ": " + decision;
}

std::string DirectorPair::NotDeciding() const {
  const std::string& leader = snap_.leader_name;
  if (leader.empty() || snap_.leader) return "this director does not decide now: no leader with a valid lease";
  return "this director does not decide: the leader is " + leader + "; run the command there";
}

ClusterRole DirectorPair::Role(const Config& cfg, bool deciding) const {
  ClusterRole r;
  r.enabled = true;
  r.self = session_->name();
  r.leader = snap_.leader_name;
  r.deciding = deciding;
  bool frozen = false, expired = false;
  if (!deciding) FollowNote(cfg, &frozen, &expired);
  r.frozen = frozen;
  r.epoch = snap_.have_decision ? snap_.decision.epoch : 0;
  r.seq = snap_.have_decision ? snap_.decision.seq : 0;
  return r;
}

Evaluation DirectorPair::Evaluate(const Config& cfg, const Evaluation& before, const RoundInput& in,
                                  std::vector<CommandResult>* results) {
  if (snap_.Deciding(Clock::now()) && !(publish_failed_ && in.between_rounds)) {
    const PublishedDecision& published = snap_.have_decision ? snap_.decision : no_decision_;
    Evaluation base = before;
    if (adopted_epoch_ != snap_.epoch) {
      // Never from its own view: the writer, the demotions and the OFFLINE
      // nodes of the pair carry over.
      if (snap_.have_decision) {
        RoundInput adopt;
        adopt.now_ms = in.now_ms;
        adopt.mono_ms = in.mono_ms;
        adopt.between_rounds = true;
        adopt.polls.resize(cfg.nodes.size());
        adopt.follow = &published;
        base = mpp::Evaluate(cfg, before, adopt, nullptr);
      }
      adopted_epoch_ = snap_.epoch;
      Log(LogLevel::kNotice, "director pair: this director leads (epoch %lld), from %s",
          static_cast<long long>(snap_.epoch),
          snap_.have_decision ? ("decision " + std::to_string(published.seq)).c_str() : "its own view");
    }
    std::vector<CommandResult> decided;
    Evaluation candidate = mpp::Evaluate(cfg, base, in, &decided);
    PublishedDecision d = DecisionOf(cfg, candidate);
    bool same = snap_.have_decision && published.epoch == snap_.epoch && SameDecision(d, published);
    std::string err;
    if (!same) {
      d.epoch = snap_.epoch;
      d.seq = published.seq + 1;
      d.leader = session_->name();
      d.time_ms = in.now_ms;
    }
    if (same || session_->Publish(d, &err)) {
      if (!same) {
        publish_failed_ = false;
        TakeNews();  // the decision just published
      }
      *results = std::move(decided);
      candidate.cluster = Role(cfg, true);
      return candidate;
    }
    Log(LogLevel::kError, "director pair: decision %lld not published: %s; following the published decision",
        static_cast<long long>(d.seq), err.c_str());
    publish_failed_ = true;
    TakeNews();
  }
  RoundInput follow = in;
  bool frozen = false, expired = false;
  follow.follow_note = FollowNote(cfg, &frozen, &expired);
  follow.follow_expired = expired;
  follow.follow = snap_.have_decision ? &snap_.decision : &no_decision_;
  Evaluation ev = mpp::Evaluate(cfg, before, follow, results);
  for (CommandResult& r : *results) r.message = NotDeciding();
  ev.cluster = Role(cfg, false);
  return ev;
}

}  // namespace mpp
