// The command line of mpp-check: which (virtual server, real server) pair to
// look up, where the state file is, and how to answer. Parsing never
// allocates and never prints: the caller decides what to do with the error.
// Thread-safety: pure functions.
#pragma once

#include "common/address.h"

namespace mpp {


struct CheckArgs {
  const char* state_path = nullptr;  // --state, else $MPP_STATE, else the default
  // Named form (--vs, --node) or the four-argument form (addresses).
  bool by_name = false;
  const char* vs_name = nullptr;
  const char* node_name = nullptr;
  Address vs_address;
  Address node_address;
  bool dynamic = false;  // keepalived misc_dynamic: up exits 2 + weight
  bool nagios = false;   // plugin output on stdout, exit 0/1/2/3
  bool help = false;
  bool version = false;
};

// Parses argv[1..argc). env_state is $MPP_STATE (may be null or empty). On
// error *out holds what was parsed before the error; returns false and writes a one-line cause (NUL-terminated, without
// "mpp-check: ") into err, which holds err_cap bytes.
bool ParseCheckArgs(int argc, const char* const* argv, const char* env_state, CheckArgs* out,
                    char* err, size_t err_cap);

// The --help text.
extern const char kCheckUsage[];

}  // namespace mpp
