// The names of STATUS, STATE, node TYPE and vs ROLE (common/names.h): one
// table for the config, the state file, the checker and mppctl.
#include <doctest/doctest.h>
#include <string.h>

#include <string>

#include "common/names.h"

namespace mpp {
namespace {

TEST_CASE("Names: every name parses back to its value, NUL-terminated or by length") {
  for (int i = 0; i <= static_cast<int>(Status::kFail); ++i) {
    Status in = static_cast<Status>(i), out = Status::kOk, by_len = Status::kOk;
    const char* name = StatusName(in);
    CAPTURE(name);
    CHECK(ParseStatus(name, &out));
    CHECK(out == in);
    CHECK(ParseStatus(name, strlen(name), &by_len));
    CHECK(by_len == in);
  }
  for (int i = 0; i <= static_cast<int>(State::kOffline); ++i) {
    State in = static_cast<State>(i), out = State::kUnknown, by_len = State::kUnknown;
    const char* name = StateName(in);
    CAPTURE(name);
    CHECK(ParseState(name, &out));
    CHECK(out == in);
    CHECK(ParseState(name, strlen(name), &by_len));
    CHECK(by_len == in);
  }
  for (NodeType in : {NodeType::kPrimary, NodeType::kSecondary}) {
    NodeType out = in == NodeType::kPrimary ? NodeType::kSecondary : NodeType::kPrimary;
    const char* name = NodeTypeName(in);
    CHECK(ParseNodeType(name, strlen(name), &out));
    CHECK(out == in);
  }
  for (VsRole in : {VsRole::kReadWrite, VsRole::kReadOnly}) {
    VsRole out = in == VsRole::kReadWrite ? VsRole::kReadOnly : VsRole::kReadWrite;
    const char* name = VsRoleName(in);
    CHECK(ParseVsRole(name, &out));
    CHECK(out == in);
    out = in == VsRole::kReadWrite ? VsRole::kReadOnly : VsRole::kReadWrite;
    CHECK(ParseVsRole(name, strlen(name), &out));
    CHECK(out == in);
  }
  CHECK(std::string(StatusName(Status::kCritical)) == "CRITICAL");
  CHECK(std::string(StateName(State::kStandby)) == "STANDBY");
  CHECK(std::string(NodeTypeName(NodeType::kSecondary)) == "SECONDARY");
  CHECK(std::string(VsRoleName(VsRole::kReadOnly)) == "ro");
}

TEST_CASE("Names: a prefix, a longer word, another case or an empty text is no name") {
  Status status = Status::kWarn;
  State state = State::kStandby;
  NodeType type = NodeType::kSecondary;
  VsRole role = VsRole::kReadOnly;
  CHECK_FALSE(ParseStatus("ok", &status));
  CHECK_FALSE(ParseStatus("OKAY", &status));
  CHECK_FALSE(ParseStatus("", &status));
  // By length: the text goes on after the name (a field of a line).
  const char line[] = "ACTIVE OK rest";
  CHECK_FALSE(ParseState(line, 5, &state));   // "ACTIV"
  CHECK_FALSE(ParseState(line, 7, &state));   // "ACTIVE "
  CHECK_FALSE(ParseStatus(line + 7, 1, &status));  // "O"
  CHECK_FALSE(ParseStatus(line + 7, 0, &status));
  CHECK_FALSE(ParseStatus(nullptr, 0, &status));
  CHECK_FALSE(ParseNodeType("PRIMARYX", 8, &type));
  CHECK_FALSE(ParseVsRole("RW", 2, &role));
  CHECK_FALSE(ParseVsRole("r", &role));
  // Nothing was written on failure.
  CHECK(status == Status::kWarn);
  CHECK(state == State::kStandby);
  CHECK(type == NodeType::kSecondary);
  CHECK(role == VsRole::kReadOnly);
  // And a name followed by more text parses by its length.
  CHECK(ParseState(line, 6, &state));
  CHECK(state == State::kActive);
  CHECK(ParseStatus(line + 7, 2, &status));
  CHECK(status == Status::kOk);
}

}  // namespace
}  // namespace mpp
