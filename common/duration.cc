#include "common/duration.h"

#include <string.h>

namespace mpp {

bool ParseDurationMs(const char* text, size_t len, int64_t* out_ms) {
  size_t digits = 0;
  int64_t value = 0;
  while (digits < len && text[digits] >= '0' && text[digits] <= '9') {
    if (digits >= 9) return false;  // keeps the product far from overflow
    value = value * 10 + (text[digits] - '0');
    ++digits;
  }
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
  } else {
    return false;
  }
  *out_ms = value * scale;
  return true;
}

}  // namespace mpp
