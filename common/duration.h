// Durations in the config: a whole number with a unit, "200ms", "1s", "5m".
// Thread-safety: pure functions.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace mpp {

// Parses the whole string [text, text+len) into milliseconds. A unit is
// required (a bare "30" is ambiguous). Return false on anything else.
bool ParseDurationMs(const char* text, size_t len, int64_t* out_ms);

}  // namespace mpp
