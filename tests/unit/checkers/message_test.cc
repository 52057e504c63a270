// Message: the checker's fixed-size line (checkers/message.h).
#include <doctest/doctest.h>

#include <string>

#include "checkers/message.h"

namespace mpp {
namespace {

TEST_CASE("Message: numbers, seconds and untrusted text") {
  char buf[64];
  Message m(buf, sizeof buf);
  m.Add(int64_t{-12}).Add(" ").AddSeconds(1005).Add(" ").AddUntrusted("a\tb\x7f" "cdef", 6, 4);
  CHECK(std::string(m.data()) == "-12 1.005 a?b?...");
  Message small(buf, 4);
  small.Add("abcdef");
  CHECK(std::string(small.data()) == "abc");
}

}  // namespace
}  // namespace mpp
