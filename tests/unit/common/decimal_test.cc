// Decimal: the one strict parser of whole numbers.
#include "common/decimal.h"

#include <doctest/doctest.h>
#include <string.h>

namespace mpp {
namespace {

bool Parse(const char* s, int64_t min, int64_t max, int64_t* out) {
  return ParseDecimal(s, strlen(s), min, max, out);
}

TEST_CASE("Decimal: digits within the bounds parse") {
  int64_t v = -1;
  CHECK(Parse("0", 0, 10, &v));
  CHECK(v == 0);
  CHECK(Parse("10", 0, 10, &v));
  CHECK(v == 10);
  CHECK(Parse("007", 0, 10, &v));
  CHECK(v == 7);
  CHECK(Parse("-42", -100, 100, &v));
  CHECK(v == -42);
  CHECK(Parse("-0", -1, 1, &v));
  CHECK(v == 0);
}

TEST_CASE("Decimal: only the whole text counts") {
  // The length given is the text: what follows is not read.
  int64_t v = -1;
  CHECK(ParseDecimal("123abc", 3, 0, 1000, &v));
  CHECK(v == 123);
  CHECK_FALSE(ParseDecimal("123abc", 4, 0, 1000, &v));
  CHECK_FALSE(ParseDecimal("12\0" "3", 4, 0, 1000, &v));
}

TEST_CASE("Decimal: empty text, signs, spaces and other characters are refused") {
  int64_t v = 99;
  const char* bad[] = {"", "-", "+", "+5", "--5", " 5", "5 ", "5\n", "\t5", "5x", "0x10", "1e3", "1.0",
                       "1,000", "1_000", "٣"};
  for (const char* s : bad) {
    CAPTURE(s);
    CHECK_FALSE(Parse(s, INT64_MIN, INT64_MAX, &v));
    CHECK(v == 99);  // untouched
  }
  CHECK_FALSE(ParseDecimal(nullptr, 0, 0, 1, &v));
}

TEST_CASE("Decimal: a '-' only where the range has negatives") {
  int64_t v = 99;
  CHECK_FALSE(Parse("-0", 0, 10, &v));
  CHECK_FALSE(Parse("-1", 0, 10, &v));
  CHECK(v == 99);
  CHECK(Parse("-1", -1, 10, &v));
  CHECK(v == -1);
}

TEST_CASE("Decimal: the int64 edges parse and one beyond them is refused") {
  int64_t v = 0;
  CHECK(Parse("9223372036854775807", INT64_MIN, INT64_MAX, &v));
  CHECK(v == INT64_MAX);
  CHECK(Parse("-9223372036854775808", INT64_MIN, INT64_MAX, &v));
  CHECK(v == INT64_MIN);
  CHECK(Parse("000000000000000000000009223372036854775807", INT64_MIN, INT64_MAX, &v));
  CHECK(v == INT64_MAX);
  v = 5;
  CHECK_FALSE(Parse("9223372036854775808", INT64_MIN, INT64_MAX, &v));
  CHECK_FALSE(Parse("-9223372036854775809", INT64_MIN, INT64_MAX, &v));
  CHECK_FALSE(Parse("18446744073709551616", INT64_MIN, INT64_MAX, &v));  // 2^64: wraps to 0
  CHECK_FALSE(Parse("99999999999999999999999999999999", INT64_MIN, INT64_MAX, &v));
  CHECK(v == 5);
}

TEST_CASE("Decimal: bounds are inclusive and enforced") {
  int64_t v = 0;
  CHECK(Parse("1", 1, 65535, &v));
  CHECK(Parse("65535", 1, 65535, &v));
  CHECK(v == 65535);
  CHECK_FALSE(Parse("0", 1, 65535, &v));
  CHECK_FALSE(Parse("65536", 1, 65535, &v));
  CHECK_FALSE(Parse("-6", -5, 5, &v));
  CHECK_FALSE(Parse("1", 2, 1, &v));  // an empty range
  CHECK(v == 65535);
}

TEST_CASE("Decimal: the unsigned form reaches UINT64_MAX") {
  uint64_t v = 0;
  CHECK(ParseDecimalU64("18446744073709551615", 20, UINT64_MAX, &v));
  CHECK(v == UINT64_MAX);
  CHECK_FALSE(ParseDecimalU64("18446744073709551616", 20, UINT64_MAX, &v));
  CHECK_FALSE(ParseDecimalU64("-1", 2, UINT64_MAX, &v));
  CHECK_FALSE(ParseDecimalU64("+1", 2, UINT64_MAX, &v));
  CHECK_FALSE(ParseDecimalU64("", 0, UINT64_MAX, &v));
  CHECK_FALSE(ParseDecimalU64("11", 2, 10, &v));
  CHECK(ParseDecimalU64("10", 2, 10, &v));
  CHECK(v == 10);
}

}  // namespace
}  // namespace mpp
