// The work of mpp-ipvs, without the event loop: read the state file, check
// that it is fresh, and bring every managed IPVS service in line with its
// decisions (ipvs_plan.h). Logs changes only: an action taken, or a problem
// that starts or ends (stale state file, missing service, failed action),
// once per episode.
// Thread-safety: not thread-safe; one owner (the main loop).
#pragma once

#include <stdint.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/paths.h"
#include "config/config.h"
#include "ipvs/ipvs_plan.h"
#include "ipvs/ipvs_table.h"

namespace mpp {

class IpvsDaemon {
 public:
  using LogFn = std::function<void(const std::string&)>;

  // REQUIRES: nl is usable (an open IpvsNetlink) and outlives the daemon.
  IpvsDaemon(IpvsTable* nl, LogFn log);

  // Takes a new config (at start and on reload). Managed services are the
  // config's virtual servers; anything else in the kernel is left alone.
  void SetConfig(const Config& cfg);
  const Config& config() const { return cfg_; }
  std::string StatePath() const { return StateFilePath(cfg_.state_dir); }

  // Reads the state file and, if it is usable (present, well-formed,
  // fresh at now_ms, wall clock), applies its decisions. full: check every
  // managed service (drift); otherwise only those whose decisions changed
  // since the last call (a state file change). Every down step of every
  // service goes before any up (IsDownStep); when a down fails, that
  // service's ups wait for a reconcile where it succeeds, so no failure
  // between two steps leaves two writers up. Returns the number of kernel
  // changes made.
  int Reconcile(int64_t now_ms, bool full = true);

  // Desired vs kernel, side by side, for --status.
  std::string Status(int64_t now_ms);

  // What the reconciles did, for the metrics (doc/metrics.md).
  struct Counters {
    uint64_t reconciles = 0;
    uint64_t kernel_changes = 0;
    uint64_t drift_repairs = 0;   // of kernel_changes: someone else's change undone
    uint64_t netlink_errors = 0;  // requests refused or failed, a missing service included
    bool state_usable = false;    // at the last reconcile
  };
  const Counters& counters() const { return counters_; }

 private:
  // Fills *d from the state file; on failure returns false and sets *problem.
  bool LoadDecisions(int64_t now_ms, Decisions* d, std::string* problem,
                     std::vector<std::string>* notes);
  // Logs msg under key when it differs from the last message for key; an
  // empty msg ends the episode (logging `ended` if one was open).
  void Episode(const std::string& key, const std::string& msg, const std::string& ended);

  IpvsTable* nl_;
  LogFn log_;
  Config cfg_;
  std::vector<char> buf_;
  Decisions applied_;  // the decisions of the last usable state file
  std::map<std::string, std::string> episodes_;
  std::set<std::string> notes_;
  Counters counters_;
};

}  // namespace mpp
