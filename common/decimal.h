// Strict decimal integers: every number in MPP's files and command lines
// (the config, the state file, ports, firewall marks, pids). The whole text
// must be the number: no spaces, no '+', no locale, no errno. Allocates
// nothing and throws nothing, so mpp-check can use it.
// Thread-safety: pure functions.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mpp {

// Parses [text, text+len) as digits, with a leading '-' only when min < 0,
// into a value from min to max. Returns false, leaving *out untouched, on
// anything else: empty text, another character, a value out of range
// (overflow of int64 included).
bool ParseDecimal(const char* text, size_t len, int64_t min, int64_t max, int64_t* out);

// The same for unsigned values up to max (no sign at all): for the full
// uint64 range, e.g. GTID sequence numbers.
bool ParseDecimalU64(const char* text, size_t len, uint64_t max, uint64_t* out);

}  // namespace mpp
