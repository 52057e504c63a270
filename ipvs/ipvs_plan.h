// The reconcile plan of mpp-ipvs: what the state file wants for each managed
// destination, compared with what the kernel has, gives the few operations
// that bring the kernel in line. Pure (no netlink, no clock), so every rule
// is unit tested; the daemon only executes the plan.
//
// Rules: up -> present with the decided weight; down -> weight 0 (quiesce)
// or absent (remove); a destination missing from the kernel is added back
// from the config (forward method, thresholds). Only nodes of the virtual
// server's pool are touched; other destinations of the service are foreign.
// Thread-safety: pure functions over values.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include "common/state_reader.h"
#include "config/config.h"
#include "ipvs/ipvs_types.h"

namespace mpp {

// The state file's decision for one (vs, node).
struct DestDecision {
  bool known = false;  // false: the state file says nothing usable, leave it alone
  bool up = false;
  uint32_t weight = 0;
};

// [vs index][position of the node in the vs's pool], like Config.
using Decisions = std::vector<std::vector<DestDecision>>;

// Reads the decisions of a parsed state file for the virtual servers of cfg,
// matched by name. A virtual server or node whose address in the file is not
// the config's (mppstate has not reloaded yet) stays unknown and gets a note.
// Returns false if a record is malformed (*why says which).
bool ReadDecisions(const Config& cfg, const StateFile& file, Decisions* out,
                   std::vector<std::string>* notes, const char** why);

// The kernel key of virtual server vs. A fwmark service takes the family of
// its pool's first node.
IpvsServiceKey ServiceKeyOf(const Config& cfg, int vs);

// The destination the config describes for a node of vs, with weight w.
IpvsDest ConfiguredDest(const Config& cfg, int vs, int node, uint32_t weight);

enum class IpvsActionKind { kSetWeight, kAdd, kDelete };

struct IpvsAction {
  IpvsActionKind kind = IpvsActionKind::kSetWeight;
  int vs = -1;
  int node = -1;          // index into Config::nodes
  int pos = -1;           // position of the node in the vs's pool
  IpvsDest dest;          // what to send: the kernel's dest with the new weight, or the config's
  uint32_t old_weight = 0;  // kSetWeight, kDelete: the weight before
  bool up = false;        // the decision behind the action, for the log
};

// The actions for one managed service whose current destinations are
// `kernel`.
std::vector<IpvsAction> PlanService(const Config& cfg, int vs, const std::vector<DestDecision>& want,
                                    const std::vector<IpvsDest>& kernel);

// True for a step that takes traffic away: a down (weight 0, deleted, or
// re-added at 0) or a lower weight. A reconcile applies these before the
// others, so a writer never comes up while the old one is still up.
bool IsDownStep(const IpvsAction& a);

// One line for the log, e.g.
// "writer db1 192.0.2.11:3306: weight 0 -> 5 (up)".
std::string DescribeAction(const Config& cfg, const IpvsAction& a);

// The --status table for one service: each node of the pool with the
// decision and the kernel's destination side by side, then the foreign
// destinations. kernel_error: empty, or why the kernel view is unavailable.
std::string FormatServiceStatus(const Config& cfg, int vs, const std::vector<DestDecision>& want,
                                const std::vector<IpvsDest>& kernel, const std::string& kernel_error);

}  // namespace mpp
