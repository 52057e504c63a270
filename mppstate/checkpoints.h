// Isolation check: can the monitor still reach the network? A checkpoint
// "answers" when a TCP connection to it is accepted or actively refused:
// either way a packet came back. Silence from every checkpoint means the
// monitor, not the pool, is cut off.
// Thread-safety: pure function plus sockets.
#pragma once

#include <stdint.h>

#include <vector>

#include "common/address.h"

namespace mpp {

// Probes all checkpoints at once; returns how many answered before
// timeout_ms.
int ProbeCheckpoints(const std::vector<Address>& checkpoints, int64_t timeout_ms);

}  // namespace mpp
