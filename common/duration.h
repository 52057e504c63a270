// Durations in the config: a whole number with a unit, "200ms", "1s", "5m",
// "1h".
// Thread-safety: pure functions.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mpp {

// Parses the whole string [text, text+len) into milliseconds. A unit is
// required (a bare "30" is ambiguous). Return false on anything else. Any
// number of digits is accepted; a value beyond INT64_MAX milliseconds gives
// INT64_MAX, so callers bound the result rather than see it overflow.
bool ParseDurationMs(const char* text, size_t len, int64_t* out_ms);

}  // namespace mpp
