// Duration: config durations in milliseconds, never an overflow.
#include "common/duration.h"

#include <doctest/doctest.h>
#include <string.h>

namespace mpp {
namespace {

bool Parse(const char* s, int64_t* ms) { return ParseDurationMs(s, strlen(s), ms); }

TEST_CASE("Duration: a whole number with ms, s, m or h") {
  int64_t ms = -1;
  CHECK(Parse("200ms", &ms));
  CHECK(ms == 200);
  CHECK(Parse("1s", &ms));
  CHECK(ms == 1000);
  CHECK(Parse("5m", &ms));
  CHECK(ms == 300000);
  CHECK(Parse("2h", &ms));
  CHECK(ms == 7200000);
  CHECK(Parse("0s", &ms));
  CHECK(ms == 0);
  CHECK(Parse("0000000000000000000000001s", &ms));
  CHECK(ms == 1000);
}

TEST_CASE("Duration: anything else is refused") {
  int64_t ms = 7;
  const char* bad[] = {"", "30", "s", "ms", "1 s", " 1s", "1s ", "-1s", "+1s", "1.5s", "1sec", "1S",
                       "1d", "1M", "1mss", "1ms1"};
  for (const char* s : bad) {
    CAPTURE(s);
    CHECK_FALSE(Parse(s, &ms));
  }
  CHECK(ms == 7);
}

TEST_CASE("Duration: too many digits saturate instead of overflowing") {
  int64_t ms = 0;
  CHECK(Parse("40000m", &ms));  // parses; the config's bound refuses it
  CHECK(ms == 2400000000);
  CHECK(Parse("99999999999999999999s", &ms));
  CHECK(ms == INT64_MAX);
  CHECK(Parse("99999999999999999999999999999999999999999999ms", &ms));
  CHECK(ms == INT64_MAX);
  // The largest exact value of each unit, and one more.
  CHECK(Parse("9223372036854775807ms", &ms));
  CHECK(ms == INT64_MAX);
  CHECK(Parse("9223372036854775s", &ms));
  CHECK(ms == 9223372036854775000);
  CHECK(Parse("9223372036854776s", &ms));
  CHECK(ms == INT64_MAX);
  CHECK(Parse("2562047788015h", &ms));
  CHECK(ms == 2562047788015 * 3600000);
  CHECK(Parse("2562047788016h", &ms));
  CHECK(ms == INT64_MAX);
}

}  // namespace
}  // namespace mpp
