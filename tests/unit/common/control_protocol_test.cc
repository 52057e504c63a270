// ControlProtocol: what mppctl writes, mppstate reads, and back.
#include "common/control_protocol.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/unit/test_util.h"

namespace mpp {
namespace {

TEST_CASE("ControlProtocol: a request line splits back into its words") {
  std::string line = FormatRequest({kRequestSwitchover, "main", "db2"});
  CHECK(line == "switchover main db2\n");
  CHECK(RequestWords(line.substr(0, line.size() - 1)) == std::vector<std::string>{"switchover", "main", "db2"});
  CHECK(RequestWords("  recover\tdb1 \r") == std::vector<std::string>{"recover", "db1"});
  CHECK(RequestWords("").empty());
}

TEST_CASE("ControlProtocol: every request has a word of its own") {
  const std::vector<std::string> words = {kRequestStatus,  kRequestStatusJson, kRequestRecover, kRequestOffline,
                                          kRequestOnline,  kRequestSwitchover, kRequestRejoin, kRequestRewind};
  for (size_t i = 0; i < words.size(); ++i)
    for (size_t j = 0; j < i; ++j) CHECK(words[i] != words[j]);
  CHECK(FormatRequest({kRequestRejoin, "db1"}) == "rejoin db1\n");
  CHECK(RequestWords("rejoin db1") == std::vector<std::string>{kRequestRejoin, "db1"});
}

TEST_CASE("ControlProtocol: a reply is ok or error, then its body") {
  bool ok = false;
  std::string body;
  REQUIRE(ParseReply(FormatReply(true, "table\n"), &ok, &body));
  CHECK(ok);
  CHECK(body == "table\n");
  REQUIRE(ParseReply(FormatReply(false, "no\n"), &ok, &body));
  CHECK_FALSE(ok);
  CHECK(body == "no\n");
  CHECK_FALSE(ParseReply("", &ok, &body));
  CHECK_FALSE(ParseReply("ok", &ok, &body));  // cut before the first newline
  CHECK_FALSE(ParseReply("okay\n", &ok, &body));
}

}  // namespace
}  // namespace mpp
