#include "common/duration.h"

#include <string.h>

namespace mpp {

bool ParseDurationMs(const char* text, size_t len, int64_t* out_ms) {
  size_t digits = 0;
  while (digits < len && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return false;
  const char* unit = text + digits;
  size_t unit_len = len - digits;
  int64_t scale;
  if (unit_len == 2 && memcmp(unit, "ms", 2) == 0) {
    scale = 1;
  } else if (unit_len == 1 && unit[0] == 's') {
    scale = 1000;
  } else if (unit_len == 1 && unit[0] == 'm') {
    scale = 60 * 1000;
  } else if (unit_len == 1 && unit[0] == 'h') {
    scale = 60 * 60 * 1000;
  } else {
    return false;
  }
  // Saturates rather than overflows: the caller's upper bound then refuses
  // the value, however many digits it has.
  const int64_t limit = INT64_MAX / scale;
  int64_t value = 0;
  for (size_t i = 0; i < digits; ++i) {
    int64_t d = text[i] - '0';
    if (value > (limit - d) / 10) {
      *out_ms = INT64_MAX;
      return true;
    }
    value = value * 10 + d;
  }
  *out_ms = value * scale;
  return true;
}

}  // namespace mpp
