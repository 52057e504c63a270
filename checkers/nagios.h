// Nagios plugin semantics for mpp-check --nagios: which plugin state a
// decision of mppstate deserves, and the plugin line with its perfdata.
//
// The question a Nagios service on "vs/node" asks is "is this real server
// healthy in its role?", not "is it taking traffic?": a standby that is down
// for the writer's virtual server is down by design and is OK.
//   - STATUS OK/INFO: OK; WARN: WARNING; CRITICAL/FAIL: CRITICAL.
//   - STATE ACTIVE/STANDBY: OK; OFFLINE (an operator took it out): WARNING;
//     FAIL: CRITICAL; UNKNOWN (not evaluated yet): UNKNOWN.
//   - Down although its role says it should serve (ACTIVE in an rw virtual
//     server, STANDBY in an ro one): at least WARNING, CRITICAL for the writer.
//   The worst of these wins (OK < UNKNOWN < WARNING < CRITICAL).
// A missing, unreadable, corrupt or stale state file is CRITICAL: the
// balancer is then taking every real server out. A bad command line or an
// unknown virtual server or node is UNKNOWN: the check itself is wrong.
// Thread-safety: pure functions.
#pragma once

#include <stdint.h>

#include "checkers/message.h"
#include "common/state_reader.h"

namespace mpp {

enum NagiosCode { kNagiosOk = 0, kNagiosWarning = 1, kNagiosCritical = 2, kNagiosUnknown = 3 };

const char* NagiosCodeName(int code);

NagiosCode NagiosSeverity(const DestRecord& dest, const NodeRecord& node);

// "MPP OK - writer/db1 up, weight 1: ACTIVE/OK, lag - | up=1 ..." without
// the newline.
void FormatNagiosLine(NagiosCode code, const DestRecord& dest, const NodeRecord& node,
                      int64_t age_ms, int64_t stale_after_ms, Message* m);

}  // namespace mpp
