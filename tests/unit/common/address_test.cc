// ParseAddress: the address text of the config, the state file and the
// checker's arguments (common/address.h).
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <string.h>

#include <string>

#include "common/address.h"

namespace mpp {
namespace {

TEST_CASE("ParseAddress: IPv4 is accepted exactly as inet_pton accepts it") {
  const char* samples[] = {"0.0.0.0",  "1.2.3.4",   "255.255.255.255", "256.1.1.1", "01.2.3.4",
                           "1.2.3",    "1.2.3.4.5", "1..3.4",          "1.2.3.",    " 1.2.3.4",
                           "1.2.3.04", "10.0.3.231", "1.2.3.4a",       "",          "00.0.0.0"};
  for (const char* ip : samples) {
    unsigned char want[4];
    bool ok = inet_pton(AF_INET, ip, want) == 1;
    std::string text = std::string(ip) + ":80";
    Address a;
    const char* why;
    CAPTURE(ip);
    CHECK(ParseAddress(text.data(), text.size(), &a, &why) == ok);
    if (ok) CHECK(memcmp(a.ip, want, 4) == 0);
  }
}

TEST_CASE("ParseAddress: a NUL inside an IPv6 address is refused") {
  const char text[] = "[::1\0x]:80";
  Address a;
  const char* why;
  CHECK_FALSE(ParseAddress(text, sizeof text - 1, &a, &why));
}

}  // namespace
}  // namespace mpp
