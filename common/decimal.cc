#include "common/decimal.h"

namespace mpp {
namespace {

// Accumulates the digits of [text, text+len) into *value, refusing a
// magnitude above limit. Needs at least one digit.
bool Digits(const char* text, size_t len, uint64_t limit, uint64_t* value) {
  if (len == 0) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < len; ++i) {
    char c = text[i];
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (limit - d) / 10) return false;
    v = v * 10 + d;
  }
  *value = v;
  return true;
}

}  // namespace

bool ParseDecimal(const char* text, size_t len, int64_t min, int64_t max, int64_t* out) {
  if (text == nullptr || min > max) return false;
  bool negative = len > 0 && text[0] == '-' && min < 0;
  if (negative) {
    ++text;
    --len;
  }
  // The magnitude of INT64_MIN is one more than INT64_MAX.
  uint64_t limit = static_cast<uint64_t>(INT64_MAX) + (negative ? 1 : 0);
  uint64_t magnitude;
  if (!Digits(text, len, limit, &magnitude)) return false;
  int64_t v;
  if (!negative) v = static_cast<int64_t>(magnitude);
  else if (magnitude == limit) v = INT64_MIN;
  else v = -static_cast<int64_t>(magnitude);
  if (v < min || v > max) return false;
  *out = v;
  return true;
}

bool ParseDecimalU64(const char* text, size_t len, uint64_t max, uint64_t* out) {
  uint64_t v;
  if (text == nullptr || !Digits(text, len, max, &v)) return false;
  *out = v;
  return true;
}

}  // namespace mpp
